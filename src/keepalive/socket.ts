// Finds the TCP socket under whatever the user holds (a net.Socket, a TLSSocket over its own handle or over
// a socket it was given) and its file descriptor. Relies on Node internals, named here and nowhere else.
import * as net from 'node:net';
import { LifelineError } from '../errors.js';

/**
 * The parts of Node's handles lifeline reads. `fd` is a getter of TCPWrap (and of TLSWrap, which proxies it
 * to the TCP handle underneath) that is -1 until libuv has opened the socket (src/stream_base.cc GetFD).
 * `_parentWrap` is set by lib/_tls_wrap.js (_wrapHandle) to the JS socket a TLSSocket was layered on:
 * a net.Socket, or a JSStreamSocket (lib/internal/js_stream_socket.js) whose `stream` is the socket that
 * had no handle yet.
 */
interface HandleInternals {
  readonly fd?: number;
  readonly _parentWrap?: { readonly stream?: unknown } | null;
}

function handleOf(socket: net.Socket): HandleInternals | null | undefined {
  return (socket as unknown as { _handle?: HandleInternals | null })._handle;
}

/** Throws a TypeError unless `socket` is a net.Socket (a tls.TLSSocket is one). */
export function assertSocket(socket: unknown, fn: string): asserts socket is net.Socket {
  if (!(socket instanceof net.Socket)) {
    throw new TypeError(
      `${fn}() needs a net.Socket or tls.TLSSocket, got ${socket === null ? 'null' : typeof socket}`,
    );
  }
}

/**
 * The net.Socket that owns the TCP handle: the socket itself, or for a TLSSocket layered on a socket it was
 * given, that socket. It is the one whose 'connect' event says the file descriptor exists.
 */
export function tcpOwner(socket: net.Socket): net.Socket {
  const parent = handleOf(socket)?._parentWrap;
  if (parent instanceof net.Socket) return tcpOwner(parent);
  if (parent?.stream instanceof net.Socket) return tcpOwner(parent.stream);
  return socket;
}

/** The file descriptor of the owner's TCP socket, or -1 when it has none (still connecting, or closed). */
export function socketFd(owner: net.Socket): number {
  const fd = handleOf(owner)?.fd;
  return typeof fd === 'number' ? fd : -1;
}

/** The error for a socket that has no file descriptor: closed, or not connected yet. */
export function noFdError(socket: net.Socket, owner: net.Socket, fn: string): LifelineError {
  if (socket.destroyed || owner.destroyed) {
    return new LifelineError(
      'LIFELINE_SOCKET_CLOSED',
      `${fn}(): the socket is closed and has no file descriptor any more; there is nothing to read or set`,
    );
  }
  return new LifelineError(
    'LIFELINE_SOCKET_NOT_CONNECTED',
    `${fn}(): the socket is still connecting and has no file descriptor yet; call it after the 'connect' event`,
  );
}
