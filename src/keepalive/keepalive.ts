// setKeepAlive/getKeepAlive: apply the options to the kernel and report what the kernel holds, never what
// was asked. Uses Node's own socket.setKeepAlive where it takes interval and count, koffi for the rest.
// Must never be a silent no-op: what cannot be set or read is an error naming the option.
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import { UnsupportedError } from '../errors.js';
import { type Ffi, getInt, requireFfi, setInt } from './ffi.js';
import { nativeKeepAlive, noteFallback } from './native.js';
import {
  type KeepAliveOptions,
  type KeepAliveSettings,
  type KernelKeepAlive,
  validateKeepAliveOptions,
} from './options.js';
import { readBack } from './read-back.js';
import { assertSocket, noFdError, socketFd, tcpOwner } from './socket.js';
import { systemKeepAlive } from './system.js';

const MS_PER_S = 1000;

/** Options waiting for a socket that had no file descriptor yet, applied by applyPending on 'connect'. */
const pending = new WeakMap<net.Socket, KernelKeepAlive | false>();

/**
 * Sets SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT and TCP_USER_TIMEOUT on the TCP socket under
 * `socket` (a net.Socket, or a tls.TLSSocket: the TCP socket it runs over), then returns what the kernel
 * holds, read back with getsockopt. Options that are omitted are left as the socket holds them.
 *
 * `false` turns SO_KEEPALIVE off and resets TCP_USER_TIMEOUT to 0 (the kernel's default), undoing what
 * setKeepAlive set; idle, interval and count are left alone since they do nothing while SO_KEEPALIVE is off.
 *
 * A socket that is still connecting and has no file descriptor yet gets the options when it connects
 * (before any other 'connect' listener runs); the value returned is then the settings that will be applied,
 * with the machine's defaults standing for omitted options. Should applying them fail then, the socket is
 * destroyed with the error.
 *
 * Throws TypeError/RangeError for bad options, UnsupportedError when the FFI is unavailable or the platform
 * lacks an option asked for, SocketOptionError (with errno) when the kernel refuses, and a LifelineError
 * LIFELINE_SOCKET_CLOSED when the socket is closed. A refusal part-way leaves earlier options applied.
 */
export function setKeepAlive(
  socket: net.Socket | tls.TLSSocket,
  options: KeepAliveOptions | false,
): KeepAliveSettings {
  assertSocket(socket, 'setKeepAlive');
  const kernel = options === false ? false : validateKeepAliveOptions(options);
  const f = requireFfi('set and read back TCP keepalive (setsockopt/getsockopt)');
  if (kernel !== false && kernel.userTimeoutMs !== undefined && f.options.TCP_USER_TIMEOUT === undefined) {
    throw new UnsupportedError(
      `lifeline cannot set TCP_USER_TIMEOUT on ${process.platform}: the platform has no such option ` +
        '(macOS TCP_RXT_CONNDROPTIME differs); leave userTimeout out',
    );
  }
  const owner = tcpOwner(socket);
  const fd = socketFd(owner);
  if (fd < 0) {
    if (socket.destroyed || owner.destroyed) throw noFdError(socket, owner, 'setKeepAlive');
    return defer(owner, kernel);
  }
  pending.delete(owner);
  return applyAndRead(owner, fd, kernel, f);
}

/**
 * What the kernel holds for the TCP socket under `socket`, read with getsockopt. Throws a LifelineError
 * LIFELINE_SOCKET_NOT_CONNECTED while it has no file descriptor yet (call it after 'connect'),
 * LIFELINE_SOCKET_CLOSED once closed, and UnsupportedError when the FFI is unavailable.
 */
export function getKeepAlive(socket: net.Socket | tls.TLSSocket): KeepAliveSettings {
  assertSocket(socket, 'getKeepAlive');
  const f = requireFfi(
    'read back TCP keepalive (getsockopt SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT)',
  );
  const owner = tcpOwner(socket);
  const fd = socketFd(owner);
  if (fd < 0) throw noFdError(socket, owner, 'getKeepAlive');
  return readBack(fd, f);
}

function applyAndRead(
  owner: net.Socket,
  fd: number,
  kernel: KernelKeepAlive | false,
  f: Ffi,
): KeepAliveSettings {
  if (nativeKeepAlive) {
    applyNative(owner, fd, kernel, f);
    const settings = readBack(fd, f);
    if (holds(settings, kernel)) return settings;
    // Node ignores failures of its own setKeepAlive and skips calls that match what it cached; the
    // read-back disagreed, so set everything directly, where a refusal carries its errno.
    noteFallback();
  }
  applyFfi(fd, kernel, f);
  return readBack(fd, f);
}

function applyNative(owner: net.Socket, fd: number, kernel: KernelKeepAlive | false, f: Ffi): void {
  const o = f.options;
  if (kernel === false) {
    owner.setKeepAlive(false);
  } else {
    // Node passes ms / 1000 rounded down; whole seconds in ms survive that. Omitted interval and count would
    // become Node's 1 s and 10, so pass what the socket holds.
    const intervalSeconds =
      kernel.intervalSeconds ?? getInt(fd, o.IPPROTO_TCP, o.TCP_KEEPINTVL, 'TCP_KEEPINTVL');
    const count = kernel.count ?? getInt(fd, o.IPPROTO_TCP, o.TCP_KEEPCNT, 'TCP_KEEPCNT');
    (owner.setKeepAlive as NativeSetKeepAlive)(
      true,
      kernel.idleSeconds * MS_PER_S,
      intervalSeconds * MS_PER_S,
      count,
    );
  }
  applyUserTimeout(fd, kernel, f);
}

/** Node >= 26's signature (lib/net.js); @types/node for Node 20 declares only the first two parameters. */
type NativeSetKeepAlive = (
  enable: boolean,
  initialDelay: number,
  interval: number,
  count: number,
) => net.Socket;

function applyFfi(fd: number, kernel: KernelKeepAlive | false, f: Ffi): void {
  const o = f.options;
  if (kernel === false) {
    setInt(fd, o.SOL_SOCKET, o.SO_KEEPALIVE, 0, 'SO_KEEPALIVE');
  } else {
    setInt(fd, o.IPPROTO_TCP, o.TCP_KEEPIDLE, kernel.idleSeconds, o.idleName);
    if (kernel.intervalSeconds !== undefined) {
      setInt(fd, o.IPPROTO_TCP, o.TCP_KEEPINTVL, kernel.intervalSeconds, 'TCP_KEEPINTVL');
    }
    if (kernel.count !== undefined) setInt(fd, o.IPPROTO_TCP, o.TCP_KEEPCNT, kernel.count, 'TCP_KEEPCNT');
    setInt(fd, o.SOL_SOCKET, o.SO_KEEPALIVE, 1, 'SO_KEEPALIVE');
  }
  applyUserTimeout(fd, kernel, f);
}

function applyUserTimeout(fd: number, kernel: KernelKeepAlive | false, f: Ffi): void {
  const option = f.options.TCP_USER_TIMEOUT;
  if (option === undefined) return;
  const value = kernel === false ? 0 : kernel.userTimeoutMs;
  if (value !== undefined) setInt(fd, f.options.IPPROTO_TCP, option, value, 'TCP_USER_TIMEOUT');
}

/** Whether what was read back is what was asked (omitted options are not compared). */
function holds(s: KeepAliveSettings, kernel: KernelKeepAlive | false): boolean {
  if (kernel === false) return !s.enabled;
  return (
    s.enabled &&
    s.idle === kernel.idleSeconds * MS_PER_S &&
    (kernel.intervalSeconds === undefined || s.interval === kernel.intervalSeconds * MS_PER_S) &&
    (kernel.count === undefined || s.count === kernel.count)
  );
}

function defer(owner: net.Socket, kernel: KernelKeepAlive | false): KeepAliveSettings {
  // Prepended so that a 'connect' callback given to net.connect() already sees the settings applied.
  if (!pending.has(owner)) owner.prependOnceListener('connect', applyPending);
  pending.set(owner, kernel);
  return planned(kernel);
}

function applyPending(this: net.Socket): void {
  const kernel = pending.get(this);
  if (kernel === undefined) return;
  pending.delete(this);
  try {
    applyAndRead(this, socketFd(this), kernel, requireFfi('set TCP keepalive'));
  } catch (err) {
    this.destroy(err as Error);
  }
}

/** The settings a connecting socket will get: the machine's defaults stand for what was omitted. */
function planned(kernel: KernelKeepAlive | false): KeepAliveSettings {
  const system = systemKeepAlive();
  if (kernel === false) return { ...system, enabled: false, userTimeout: 0 };
  return {
    enabled: true,
    idle: kernel.idleSeconds * MS_PER_S,
    interval: kernel.intervalSeconds === undefined ? system.interval : kernel.intervalSeconds * MS_PER_S,
    count: kernel.count ?? system.count,
    userTimeout: kernel.userTimeoutMs ?? 0,
  };
}
