// Heartbeat options shared by both ends: declared once, each with its meaning, unit, default and reason,
// and validated in one function (after hashicorp/memberlist's config.go). Never reads the clock.
import { assertFiniteNumber, assertRange, checkOption } from '../errors.js';
import { DEFAULT_MAX_FRAME, MIN_MAX_FRAME } from '../protocol/constants.js';

export type DetectorKind = 'deadline' | 'phi';

export interface HeartbeatOptions {
  /**
   * How long a side may hear nothing before it sends a PING, in ms. Default 5000: frequent enough to keep
   * NAT mappings (often 30 s to 5 min) and stateful firewalls warm, rare enough to cost nothing.
   * A busy connection sends no PINGs at all: any frame is proof of life.
   */
  interval?: number;
  /**
   * How long a side may hear nothing before it declares the peer dead, in ms. Default three intervals
   * (15000 with the default interval), so that one lost PING or PONG, retransmitted by TCP, never causes a
   * false death. Must leave room for a PING's answer: at least `interval + max(interval / 2, 100 ms)`
   * (see feasibleTimeout).
   */
  timeout?: number;
  /**
   * Failure detector. 'deadline' (default): dead after `timeout` of silence, never sooner. 'phi': accrual
   * detector (Hayashibara et al. 2004) that learns the arrival pattern and may declare death sooner on a
   * regular link; still bounded by `timeout`.
   */
  detector?: DetectorKind;
  /** Phi accrual threshold (only for detector 'phi'). Default: see docs/DETECTORS.md. */
  phiThreshold?: number;
  /**
   * Largest frame payload accepted, in bytes: at least 16 KiB (the protocol's floor), default 1 MiB. A
   * larger frame is refused (GOAWAY frame-too-large) before its body is buffered. Messages are not bound by
   * it (they are cut into fragments): see maxMessageSize.
   */
  maxFrame?: number;
  /**
   * How many PINGs a peer may send within one interval (or one second, if the interval is longer) before
   * it gets GOAWAY too-many-pings. Default 10: an honest peer sends at most one per interval; the margin
   * covers `lifeline ping` at up to 10 per second and timer jitter.
   */
  maxPingsPerInterval?: number;
}

export interface ResolvedHeartbeat {
  interval: number;
  timeout: number;
  detector: DetectorKind;
  phiThreshold: number | undefined;
  maxFrame: number;
  maxPingsPerInterval: number;
}

export const HEARTBEAT_DEFAULTS = {
  interval: 5000,
  timeout: 15000,
  detector: 'deadline',
  maxFrame: DEFAULT_MAX_FRAME,
  maxPingsPerInterval: 10,
} as const;

/** Upper bound for interval and timeout, in ms: 2^31-1, the largest delay Node's timers accept. */
export const MAX_DURATION = 0x7fff_ffff;
/** Lower bound for the interval, in ms: below it the timer itself becomes the load. */
export const MIN_INTERVAL = 10;

/** The least room (ms) a timeout leaves after the interval for a PING's answer: a round trip and timer slack. */
export const MIN_HEADROOM_MS = 100;

/**
 * The shortest timeout that can work with `interval` on a healthy link: a side PINGs after `interval` of
 * silence, so the timeout must leave room for the PING's round trip and for timer slack — half an interval,
 * and never less than MIN_HEADROOM_MS. A shorter one kills healthy connections.
 */
export function feasibleTimeout(interval: number): number {
  return interval + Math.max(Math.ceil(interval / 2), MIN_HEADROOM_MS);
}

/** The longest interval that can work with `timeout` (the inverse of feasibleTimeout), in ms. */
export function largestInterval(timeout: number): number {
  return timeout >= 3 * MIN_HEADROOM_MS ? Math.floor((timeout * 2) / 3) : timeout - MIN_HEADROOM_MS;
}

/** Validates heartbeat options and fills defaults. Throws TypeError/RangeError naming the option. */
export function resolveHeartbeat(options: HeartbeatOptions = {}, prefix = ''): ResolvedHeartbeat {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${prefix || 'options'} must be an object`);
  }
  const name = (n: string) => `${prefix}${n}`;
  // Either duration may be given alone: the other follows the 3:1 ratio of the defaults.
  const interval = checkOption(
    name('interval'),
    options.interval ?? defaultInterval(options.timeout),
    MIN_INTERVAL,
    MAX_DURATION,
    'ms',
  );
  const timeout = checkOption(
    name('timeout'),
    options.timeout ?? Math.min(MAX_DURATION, Math.max(interval * 3, feasibleTimeout(interval))),
    1,
    MAX_DURATION,
    'ms',
  );
  if (timeout < feasibleTimeout(interval)) {
    throw new RangeError(
      `${name('timeout')} must be at least ${feasibleTimeout(interval)} ms with ${name('interval')} ${interval} ms ` +
        `(interval + max(interval / 2, ${MIN_HEADROOM_MS} ms): a PING sent after the interval needs time to be answered), got ${timeout} ms`,
    );
  }
  const detector = options.detector ?? HEARTBEAT_DEFAULTS.detector;
  if (detector !== 'deadline' && detector !== 'phi') {
    throw new RangeError(`${name('detector')} must be 'deadline' or 'phi', got ${JSON.stringify(detector)}`);
  }
  let phiThreshold: number | undefined;
  if (options.phiThreshold !== undefined) {
    assertFiniteNumber(name('phiThreshold'), options.phiThreshold);
    assertRange(name('phiThreshold'), options.phiThreshold, 0.5, 100);
    phiThreshold = options.phiThreshold;
  }
  const maxFrame = checkOption(
    name('maxFrame'),
    options.maxFrame ?? HEARTBEAT_DEFAULTS.maxFrame,
    MIN_MAX_FRAME,
    0xffff_ffff,
    'bytes',
  );
  const maxPingsPerInterval = checkOption(
    name('maxPingsPerInterval'),
    options.maxPingsPerInterval ?? HEARTBEAT_DEFAULTS.maxPingsPerInterval,
    1,
    10_000,
  );
  return { interval, timeout, detector, phiThreshold, maxFrame, maxPingsPerInterval };
}

function defaultInterval(timeout: unknown): number {
  if (typeof timeout !== 'number' || !Number.isFinite(timeout)) return HEARTBEAT_DEFAULTS.interval;
  return Math.max(MIN_INTERVAL, Math.min(HEARTBEAT_DEFAULTS.interval, Math.floor(timeout / 3)));
}
