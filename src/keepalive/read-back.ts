// Reads a socket's keepalive options from the kernel with getsockopt: the one source of every
// KeepAliveSettings lifeline returns for a socket. Never answers from memory.
import { type Ffi, getInt } from './ffi.js';
import type { KeepAliveSettings } from './options.js';

const MS_PER_S = 1000;

/** Reads every option back from the kernel. */
export function readBack(fd: number, f: Ffi): KeepAliveSettings {
  const o = f.options;
  return {
    enabled: getInt(fd, o.SOL_SOCKET, o.SO_KEEPALIVE, 'SO_KEEPALIVE') !== 0,
    idle: getInt(fd, o.IPPROTO_TCP, o.TCP_KEEPIDLE, o.idleName) * MS_PER_S,
    interval: getInt(fd, o.IPPROTO_TCP, o.TCP_KEEPINTVL, 'TCP_KEEPINTVL') * MS_PER_S,
    count: getInt(fd, o.IPPROTO_TCP, o.TCP_KEEPCNT, 'TCP_KEEPCNT'),
    userTimeout:
      o.TCP_USER_TIMEOUT === undefined
        ? 0
        : getInt(fd, o.IPPROTO_TCP, o.TCP_USER_TIMEOUT, 'TCP_USER_TIMEOUT'),
  };
}
