// Which path sets the keepalive options: Node's own socket.setKeepAlive where it takes interval and count
// (Node 26's lib/net.js: setKeepAlive(enable, initialDelay, interval, count)), koffi otherwise. Detected by
// the function's declared parameters, never by version number.
import * as net from 'node:net';
import { ffi, ffiUnavailableReason } from './ffi.js';

/** True when this Node's socket.setKeepAlive takes (enable, initialDelay, interval, count). */
export const nativeKeepAlive: boolean = net.Socket.prototype.setKeepAlive.length >= 4;

let fallbacks = 0;

/** Counts a native call whose read-back disagreed, after which the options were set through the FFI. */
export function noteFallback(): void {
  fallbacks++;
}

/** What keepAliveBackend() reports. */
export interface KeepAliveBackend {
  /** Node's setKeepAlive sets SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT. */
  native: boolean;
  /** koffi loaded: TCP_USER_TIMEOUT, every read-back, tcpInfo, and older Node. */
  ffi: boolean;
  /** Times a native call was not reflected in the kernel and the FFI set the options instead. */
  fallbacks: number;
  /** One line for people (the `doctor` command prints it). */
  detail: string;
}

/** Which paths lifeline uses here to set and read kernel keepalive, and why. */
export function keepAliveBackend(): KeepAliveBackend {
  const f = ffi();
  const why = ffiUnavailableReason();
  let detail: string;
  if (f === undefined) {
    detail = `unavailable: ${why}; setKeepAlive, getKeepAlive and systemKeepAlive throw, tcpInfo returns undefined`;
  } else if (nativeKeepAlive) {
    detail =
      "Node's socket.setKeepAlive(enable, initialDelay, interval, count) sets SO_KEEPALIVE, TCP_KEEPIDLE, " +
      `TCP_KEEPINTVL and TCP_KEEPCNT; koffi (${f.library}) sets TCP_USER_TIMEOUT and reads everything back`;
  } else {
    detail =
      `koffi (${f.library}) sets and reads back every option ` +
      "(this Node's socket.setKeepAlive takes no interval or count)";
  }
  return { native: nativeKeepAlive, ffi: f !== undefined, fallbacks, detail };
}
