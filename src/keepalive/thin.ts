// Thin-stream linear retransmission timeouts (Linux TCP_THIN_LINEAR_TIMEOUTS). A heartbeat is a thin
// stream: a few tiny segments in flight. Under packet loss, TCP's exponential backoff holds a lost PING back
// 0.2 + 0.4 + 0.8 + 1.6 s after four losses in a row — long enough to look like a dead peer. With linear
// timeouts Linux retransmits a thin stream every RTO (at least 200 ms) for up to 6 tries before backing off
// (Documentation/networking/ip-sysctl.rst, tcp_thin_linear_timeouts), so loss costs ~0.2 s per try instead.
import type * as net from 'node:net';
import { type Ffi, ffi, getInt, requireFfi, setInt } from './ffi.js';
import { assertSocket, noFdError, socketFd, tcpOwner } from './socket.js';

/**
 * Turns linear retransmission timeouts for thin streams on or off for `socket` (a net.Socket or the TCP
 * socket under a tls.TLSSocket). Returns what the kernel now holds, or undefined where the platform has no
 * such option (everywhere but Linux). Throws like setKeepAlive() (FFI unavailable, no file descriptor).
 */
export function setLinearTimeouts(socket: net.Socket, on: boolean): boolean | undefined {
  assertSocket(socket, 'setLinearTimeouts');
  const f = requireFfi('set TCP_THIN_LINEAR_TIMEOUTS');
  const held = setTcpInt(socket, 'setLinearTimeouts', f, 'TCP_THIN_LINEAR_TIMEOUTS', on ? 1 : 0);
  return held === undefined ? undefined : held !== 0;
}

/**
 * Sets TCP_NOTSENT_LOWAT on `socket` (a net.Socket or the TCP socket under a tls.TLSSocket): the kernel then
 * queues at most `bytes` not yet sent, and the rest waits in Node, where a control frame can still go first.
 * Returns what the kernel now holds, or undefined where the platform has no such option (FreeBSD) or no FFI.
 * Throws like setKeepAlive() for a socket without a file descriptor. Linux: tcp(7); RFC 9113 section 5.3 on
 * why a deep send buffer defeats priorities.
 */
export function setNotSentLowat(socket: net.Socket, bytes: number): number | undefined {
  assertSocket(socket, 'setNotSentLowat');
  const f = ffi();
  return f === undefined ? undefined : setTcpInt(socket, 'setNotSentLowat', f, 'TCP_NOTSENT_LOWAT', bytes);
}

/**
 * Sets an IPPROTO_TCP int option on the TCP socket under `socket` (checked by the caller) and reads it back;
 * undefined where this platform has no such option. Throws for a socket without a file descriptor, or when
 * the kernel refuses.
 */
function setTcpInt(
  socket: net.Socket,
  caller: string,
  f: Ffi,
  name: 'TCP_THIN_LINEAR_TIMEOUTS' | 'TCP_NOTSENT_LOWAT',
  value: number,
): number | undefined {
  const option = f.options[name];
  if (option === undefined) return undefined;
  const owner = tcpOwner(socket);
  const fd = socketFd(owner);
  if (fd < 0) throw noFdError(socket, owner, caller);
  setInt(fd, f.options.IPPROTO_TCP, option, value, name);
  return getInt(fd, f.options.IPPROTO_TCP, option, name);
}
