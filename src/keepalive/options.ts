// The keepalive options: their declaration, their one validation function, and the arithmetic of the
// worst-case detection time. Pure: no sockets, no FFI, no clock.
import { assertFiniteNumber, checkOption } from '../errors.js';
import { MAX_COUNT, MAX_IDLE_SECONDS, MAX_INTERVAL_SECONDS, MAX_USER_TIMEOUT_MS } from './constants.js';

/**
 * What to ask of the kernel. Every duration is in milliseconds. The kernel holds `idle` and `interval` in
 * whole seconds, so lifeline rounds them UP (1 ms becomes 1 s, 1001 ms becomes 2 s): a detection time is
 * never shorter than asked, only ever up to 999 ms longer.
 */
export interface KeepAliveOptions {
  /**
   * Silence (no segment received) before the first probe: TCP_KEEPIDLE. Required, more than 0 and at most
   * 32 767 000 ms (1 s to 32 767 s once rounded). Linux's default is 7 200 000 ms (2 h).
   */
  idle: number;
  /**
   * Time between unanswered probes: TCP_KEEPINTVL. Same range as `idle`. When omitted, the socket keeps the
   * value it holds (for a fresh socket, the machine's default: 75 s on Linux; see systemKeepAlive()).
   */
  interval?: number;
  /**
   * Unanswered probes before the kernel gives up: TCP_KEEPCNT, 1 to 127. When omitted, the socket keeps
   * the value it holds (for a fresh socket, the machine's default: 9 on Linux).
   */
  count?: number;
  /**
   * TCP_USER_TIMEOUT (Linux only, man 7 tcp): the longest time sent data may stay unacknowledged before the
   * kernel drops the connection, 0 to 2^31-1 ms; 0 is the kernel's default (retransmit for ~15 minutes, as
   * net.ipv4.tcp_retries2 allows). When set, it also replaces `count` as the end of keepalive probing
   * (see keepAliveBound). When omitted, the socket keeps the value it holds.
   */
  userTimeout?: number;
}

/** What the kernel holds for a socket, read back with getsockopt. Durations in milliseconds. */
export interface KeepAliveSettings {
  /** SO_KEEPALIVE: whether the kernel probes an idle connection at all. */
  enabled: boolean;
  /** TCP_KEEPIDLE, in ms (always a whole number of seconds). */
  idle: number;
  /** TCP_KEEPINTVL, in ms (always a whole number of seconds). */
  interval: number;
  /** TCP_KEEPCNT. */
  count: number;
  /** TCP_USER_TIMEOUT in ms; 0 when unset, and always 0 on platforms without the option. */
  userTimeout: number;
}

/** Validated options, in the kernel's own units. `undefined` means "leave what the socket holds". */
export interface KernelKeepAlive {
  idleSeconds: number;
  intervalSeconds: number | undefined;
  count: number | undefined;
  userTimeoutMs: number | undefined;
}

const MS_PER_S = 1000;

/**
 * The one validation of a KeepAliveOptions object: TypeError when it is not an object or a value is not a
 * finite number, RangeError naming the option and its allowed range otherwise. Returns kernel units.
 */
export function validateKeepAliveOptions(options: unknown): KernelKeepAlive {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(
      `keepalive options must be an object like { idle: 60000 } or false, got ${options === null ? 'null' : typeof options}`,
    );
  }
  const o = options as Record<string, unknown>;
  return {
    idleSeconds: secondsOption('idle', o.idle, MAX_IDLE_SECONDS),
    intervalSeconds:
      o.interval === undefined ? undefined : secondsOption('interval', o.interval, MAX_INTERVAL_SECONDS),
    count: o.count === undefined ? undefined : checkOption('count', o.count, 1, MAX_COUNT),
    userTimeoutMs: o.userTimeout === undefined ? undefined : userTimeoutOption(o.userTimeout),
  };
}

/** A duration in ms that the kernel holds in whole seconds: rounded up, 1 s to maxSeconds. */
function secondsOption(name: string, value: unknown, maxSeconds: number): number {
  assertFiniteNumber(name, value);
  const seconds = Math.ceil(value / MS_PER_S);
  if (value <= 0 || seconds > maxSeconds) {
    throw new RangeError(
      `${name} must be more than 0 ms and at most ${maxSeconds * MS_PER_S} ms (the kernel holds 1 s to ` +
        `${maxSeconds} s and lifeline rounds up to whole seconds), got ${value} ms`,
    );
  }
  return seconds;
}

function userTimeoutOption(value: unknown): number {
  assertFiniteNumber('userTimeout', value);
  if (value < 0 || value > MAX_USER_TIMEOUT_MS) {
    throw new RangeError(
      `userTimeout must be between 0 ms (the kernel's default) and ${MAX_USER_TIMEOUT_MS} ms, got ${value} ms`,
    );
  }
  return Math.ceil(value);
}

/**
 * Worst-case milliseconds from the last segment received on an idle connection until Linux gives up,
 * computed as net/ipv4/tcp_timer.c (tcp_keepalive_timer) does: probes go out at idle, idle + interval,
 * idle + 2 x interval, ...; each tick first checks whether to give up.
 * - userTimeout 0: it gives up once `count` probes are unanswered, at idle + interval x count.
 * - userTimeout > 0: `count` is ignored; it gives up at the first tick, after at least one probe, at which
 *   the user timeout has elapsed: idle + interval x max(1, ceil((userTimeout - idle) / interval)).
 *   This can be later than idle + interval x count when userTimeout is large.
 * Data left unacknowledged is another clock: keepalive stays silent while anything is in flight and the
 * retransmission timer decides (after userTimeout, or ~15 min of tcp_retries2 when it is 0).
 */
export function boundMs(
  idleSeconds: number,
  intervalSeconds: number,
  count: number,
  userTimeoutMs: number,
): number {
  const idle = idleSeconds * MS_PER_S;
  const interval = intervalSeconds * MS_PER_S;
  if (userTimeoutMs === 0) return idle + interval * count;
  return idle + interval * Math.max(1, Math.ceil((userTimeoutMs - idle) / interval));
}

/** The heartbeat settings the kernel layer is derived from (see deriveKeepAlive). */
export interface HeartbeatTiming {
  /** ms between PINGs on a silent connection. */
  interval: number;
  /** ms of silence after which the heartbeat declares the peer dead. */
  timeout: number;
}

/**
 * The kernel keepalive every lifeline socket gets, derived from its heartbeat settings:
 * idle = timeout, interval = ceil(timeout / 3), count = 3 (idle and interval rounded up to whole seconds,
 * at least 1 s, at most 32 767 s), userTimeout = 2 x timeout.
 *
 * Why: the heartbeat must fire first, at `timeout`, because only it can say why (a hung program or a dead
 * network, from tcpInfo). The kernel is the backstop for when the heartbeat cannot run at all (the event
 * loop is blocked, the application paused it): an idle connection is dropped by the kernel after about
 * idle + interval x count = 2 x timeout. TCP_USER_TIMEOUT = 2 x timeout covers the case keepalive cannot: a
 * PING or DATA frame left unacknowledged stops keepalive probing altogether (the kernel only probes an
 * idle connection) and without a user timeout the kernel would retransmit for ~15 minutes before giving up.
 * `heartbeat.interval` is validated but not needed: the kernel's idle clock restarts on every segment
 * received, so PINGs that are answered keep the kernel silent whatever their period.
 */
export function deriveKeepAlive(heartbeat: HeartbeatTiming): Required<KeepAliveOptions> {
  if (typeof heartbeat !== 'object' || heartbeat === null) {
    throw new TypeError('deriveKeepAlive() needs the heartbeat settings { interval, timeout } in ms');
  }
  positive('heartbeat.interval', heartbeat.interval);
  positive('heartbeat.timeout', heartbeat.timeout);
  const { timeout } = heartbeat;
  return {
    idle: wholeSeconds(timeout, MAX_IDLE_SECONDS),
    interval: wholeSeconds(timeout / 3, MAX_INTERVAL_SECONDS),
    count: 3,
    userTimeout: Math.min(Math.ceil(2 * timeout), MAX_USER_TIMEOUT_MS),
  };
}

function positive(name: string, value: unknown): asserts value is number {
  assertFiniteNumber(name, value);
  if (value <= 0) throw new RangeError(`${name} must be more than 0 ms, got ${value} ms`);
}

function wholeSeconds(ms: number, maxSeconds: number): number {
  return Math.min(Math.max(1, Math.ceil(ms / MS_PER_S)), maxSeconds) * MS_PER_S;
}
