// The machine's keepalive defaults, and the worst-case detection time of a set of options.
// Reads only; never changes a sysctl.
import { readFileSync } from 'node:fs';
import { requireFfi, withFreshSocket } from './ffi.js';
import {
  boundMs,
  type KeepAliveOptions,
  type KeepAliveSettings,
  validateKeepAliveOptions,
} from './options.js';
import { readBack } from './read-back.js';

const PROC = '/proc/sys/net/ipv4/';

/**
 * The defaults every new TCP socket gets: on Linux net.ipv4.tcp_keepalive_time, _intvl and _probes from
 * /proc/sys (man 7 tcp; per network namespace), elsewhere read from a fresh socket through the FFI.
 * `enabled` is false and `userTimeout` 0: SO_KEEPALIVE and TCP_USER_TIMEOUT are off unless a program sets them.
 */
export function systemKeepAlive(): KeepAliveSettings {
  if (process.platform === 'linux') {
    try {
      return {
        enabled: false,
        idle: procSeconds('tcp_keepalive_time') * 1000,
        interval: procSeconds('tcp_keepalive_intvl') * 1000,
        count: procSeconds('tcp_keepalive_probes'),
        userTimeout: 0,
      };
    } catch {
      // No /proc/sys (a restricted container): a fresh socket holds the same defaults.
    }
  }
  return freshSocketKeepAlive();
}

/** The keepalive settings of a new, unconnected TCP socket, read through the FFI. */
export function freshSocketKeepAlive(): KeepAliveSettings {
  const f = requireFfi('read the system keepalive defaults (getsockopt on a fresh socket)');
  return withFreshSocket((fd) => readBack(fd, f));
}

function procSeconds(name: string): number {
  const value = Number.parseInt(readFileSync(PROC + name, 'utf8'), 10);
  if (!Number.isFinite(value)) throw new Error(`${PROC}${name} holds no number`);
  return value;
}

/**
 * Worst-case milliseconds until the kernel gives up on a silent, idle connection with these options:
 * idle + interval x count after rounding idle and interval up to whole seconds as the kernel will; with
 * userTimeout > 0, Linux ignores count and gives up at the first probe tick at which the user timeout has
 * elapsed (see boundMs in options.ts for the exact rule). Omitted interval and count are the machine's
 * defaults (as setKeepAlive leaves them), an omitted userTimeout is 0, and `enabled` is ignored, so that
 * keepAliveBound(systemKeepAlive()) is the machine's own bound: 7 875 000 ms with Linux's defaults.
 */
export function keepAliveBound(options: KeepAliveOptions): number {
  const k = validateKeepAliveOptions(options);
  let intervalSeconds = k.intervalSeconds;
  let count = k.count;
  if (intervalSeconds === undefined || count === undefined) {
    const system = systemKeepAlive();
    intervalSeconds ??= system.interval / 1000;
    count ??= system.count;
  }
  return boundMs(k.idleSeconds, intervalSeconds, count, k.userTimeoutMs ?? 0);
}
