// The phi accrual failure detector (Hayashibara et al. 2004, "The φ Accrual Failure Detector"), in the
// formulation of Akka's PhiAccrualFailureDetector, bounded by a hard maximum silence.
// Pure: the caller passes the time; this module never reads a clock or arms a timer.

import { assertFiniteNumber, assertRange, checkOption } from '../errors.js';
import { assertPositive, MAX_TIMEOUT_MS } from './deadline.js';
import { type Detector, type DetectorState, instantAfter } from './detector.js';

export interface PhiOptions {
  /**
   * The heartbeat interval (ms): a side that hears nothing for this long sends a PING, so a live peer is
   * heard from at least about this often. Required; > 0. Gaps shorter than it are recorded as it (see
   * docs/DETECTORS.md, "busy connections").
   */
  interval: number;
  /** Hard maximum silence (ms): dead at this silence whatever phi says. Required; >= interval. */
  timeout: number;
  /**
   * phi at or above which the peer is declared dead. Default 8, Akka cluster's default: under the
   * detector's normal model a live peer is suspected with probability 10^-8 per check.
   */
  threshold?: number;
  /**
   * How many inter-arrival samples are remembered (a ring buffer). Default 200: at a 200 ms interval that
   * is the last 40 s of an idle connection, long enough for a stable variance, short enough to follow a
   * change of network. Whole number, 2 to 100 000.
   */
  maxSampleSize?: number;
  /**
   * Floor of the standard deviation (ms). Default interval / 10, Akka's ratio (100 ms at a 1 s interval):
   * without a floor, perfectly regular arrivals give a deviation near 0 and the first late heartbeat trips.
   */
  minStdDeviation?: number;
  /**
   * Silence (ms) added to the learned mean before phi is computed: pauses the history cannot predict (a
   * lost segment costs a TCP retransmission, at least 200 ms on Linux, TCP_RTO_MIN; our own event loop may
   * stall). Default 3 × interval, Akka cluster's ratio (3 s at a 1 s interval): with it, 20 % of heartbeats
   * lost with ±30 % jitter causes no death the deadline detector would not also declare (test/detect).
   */
  acceptablePause?: number;
  /** The mean inter-arrival (ms) assumed before anything is learned. Default: interval. */
  firstHeartbeatEstimate?: number;
}

export const PHI_DEFAULTS = {
  threshold: 8,
  maxSampleSize: 200,
  minStdDeviationPerInterval: 1 / 10,
  acceptablePausePerInterval: 3,
} as const;

/** The coefficients of the logistic approximation of the normal CDF that Akka uses. */
const A = 1.5976;
const B = 0.070566;

/**
 * phi for a silence of `timeDiff` ms given the mean and standard deviation of arrivals: -log10 of the
 * probability that a heartbeat comes later than that, with the normal CDF approximated by the logistic
 * function 1 / (1 + exp(-y (1.5976 + 0.070566 y²))) (Akka's PhiAccrualFailureDetector.phi).
 */
export function phi(timeDiff: number, mean: number, stdDeviation: number): number {
  const y = (timeDiff - mean) / stdDeviation;
  const g = y * (A + B * y * y);
  // phi = log10(1 + exp(g)), written so that neither branch overflows or loses precision.
  return g > 0 ? (g + Math.log1p(Math.exp(-g))) / Math.LN10 : Math.log1p(Math.exp(g)) / Math.LN10;
}

/**
 * The y at which phi reaches `threshold`: solves log10(1 + exp(y (A + B y²))) = threshold. The cubic
 * B y³ + A y - c = 0 has one real root (A, B > 0), given in closed form by Cardano's formula.
 */
export function phiInverse(threshold: number): number {
  const c = threshold > 15 ? threshold * Math.LN10 : Math.log(10 ** threshold - 1);
  const p = A / B;
  const q = c / B;
  const d = Math.sqrt((q * q) / 4 + (p * p * p) / 27);
  const y = Math.cbrt(q / 2 + d) + Math.cbrt(q / 2 - d);
  // One Newton step removes the rounding Cardano's cancellation can leave.
  return y - (B * y * y * y + A * y - c) / (3 * B * y * y + A);
}

/** Validates phi options in one place and fills in the defaults. */
export function validatePhiOptions(options: PhiOptions): Required<PhiOptions> {
  const { interval, timeout } = options;
  assertFiniteNumber('interval', interval);
  assertPositive('interval', interval, MAX_TIMEOUT_MS);
  assertFiniteNumber('timeout', timeout);
  assertPositive('timeout', timeout, MAX_TIMEOUT_MS);
  if (timeout < interval) {
    throw new RangeError(`timeout must be at least interval (${interval} ms), got ${timeout} ms`);
  }
  const threshold = options.threshold ?? PHI_DEFAULTS.threshold;
  assertFiniteNumber('threshold', threshold);
  assertPositive('threshold', threshold, 300, '(phi)');
  const maxSampleSize = checkOption(
    'maxSampleSize',
    options.maxSampleSize ?? PHI_DEFAULTS.maxSampleSize,
    2,
    100_000,
  );
  const minStdDeviation = options.minStdDeviation ?? interval * PHI_DEFAULTS.minStdDeviationPerInterval;
  assertFiniteNumber('minStdDeviation', minStdDeviation);
  assertPositive('minStdDeviation', minStdDeviation, MAX_TIMEOUT_MS);
  const acceptablePause = options.acceptablePause ?? interval * PHI_DEFAULTS.acceptablePausePerInterval;
  assertFiniteNumber('acceptablePause', acceptablePause);
  assertRange('acceptablePause', acceptablePause, 0, MAX_TIMEOUT_MS, 'ms');
  const firstHeartbeatEstimate = options.firstHeartbeatEstimate ?? interval;
  assertFiniteNumber('firstHeartbeatEstimate', firstHeartbeatEstimate);
  assertPositive('firstHeartbeatEstimate', firstHeartbeatEstimate, MAX_TIMEOUT_MS);
  return {
    interval,
    timeout,
    threshold,
    maxSampleSize,
    minStdDeviation,
    acceptablePause,
    firstHeartbeatEstimate,
  };
}

export function createPhiDetector(options: PhiOptions, now: number): Detector {
  return new PhiDetector(validatePhiOptions(options), now);
}

/**
 * Inter-arrival samples in a fixed ring with running sums. Values are stored shifted by `origin` (the
 * interval) so that the sum of squares stays small and the variance does not cancel catastrophically.
 */
class SampleWindow {
  readonly #ring: Float64Array;
  readonly #origin: number;
  #next = 0;
  #count = 0;
  #sum = 0;
  #sumSq = 0;

  constructor(size: number, origin: number) {
    this.#ring = new Float64Array(size);
    this.#origin = origin;
  }

  push(sample: number): void {
    const x = sample - this.#origin;
    if (this.#count === this.#ring.length) {
      const old = this.#ring[this.#next]!;
      this.#sum -= old;
      this.#sumSq -= old * old;
    } else {
      this.#count++;
    }
    this.#ring[this.#next] = x;
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#sum += x;
    this.#sumSq += x * x;
  }

  clear(): void {
    this.#next = 0;
    this.#count = 0;
    this.#sum = 0;
    this.#sumSq = 0;
  }

  get mean(): number {
    return this.#origin + this.#sum / this.#count;
  }

  get stdDeviation(): number {
    const m = this.#sum / this.#count;
    return Math.sqrt(Math.max(0, this.#sumSq / this.#count - m * m));
  }
}

class PhiDetector implements Detector {
  readonly #o: Required<PhiOptions>;
  readonly #window: SampleWindow;
  /** y at which phi reaches the threshold; depends on the threshold only. */
  readonly #yDead: number;
  #lastHeardAt: number;
  /** Silence (ms) at which the peer is dead given what is learned so far, or NaN when it must be recomputed. */
  #deadSilenceMs = Number.NaN;

  constructor(options: Required<PhiOptions>, now: number) {
    this.#o = options;
    this.#window = new SampleWindow(options.maxSampleSize, options.interval);
    this.#yDead = phiInverse(options.threshold);
    this.#lastHeardAt = now;
    this.#seed();
  }

  heard(now: number): void {
    const gap = now - this.#lastHeardAt;
    // Like Akka, a gap long enough to have been a death is not learned: it would teach the detector to
    // accept silences it has just judged fatal. A gap of at most an interval is always learned (fast path).
    if (gap <= this.#o.interval || now < this.#deadAt()) {
      this.#window.push(Math.max(gap, this.#o.interval));
      this.#deadSilenceMs = Number.NaN;
    }
    this.#lastHeardAt = now;
  }

  isDead(now: number): boolean {
    return now >= this.#deadAt();
  }

  deadlineAt(now: number): number {
    return Math.max(now, this.#deadAt());
  }

  state(now: number): DetectorState {
    const w = this.#window;
    const silentMs = Math.max(0, now - this.#lastHeardAt);
    return {
      kind: 'phi',
      phi: phi(silentMs, w.mean + this.#o.acceptablePause, this.#sd()),
      silentMs,
      leftMs: this.deadlineAt(now) - now,
    };
  }

  reset(now: number): void {
    this.#window.clear();
    this.#seed();
    this.#lastHeardAt = now;
  }

  /** Akka's first heartbeat: two samples at estimate ± estimate / 4 stand in until real ones arrive. */
  #seed(): void {
    const estimate = this.#o.firstHeartbeatEstimate;
    this.#window.push(estimate - estimate / 4);
    this.#window.push(estimate + estimate / 4);
    this.#deadSilenceMs = Number.NaN;
  }

  #sd(): number {
    return Math.max(this.#window.stdDeviation, this.#o.minStdDeviation);
  }

  #deadAt(): number {
    if (Number.isNaN(this.#deadSilenceMs)) {
      const phiSilence = this.#window.mean + this.#o.acceptablePause + this.#yDead * this.#sd();
      this.#deadSilenceMs = Math.min(this.#o.timeout, Math.max(0, phiSilence));
    }
    return instantAfter(this.#lastHeardAt, this.#deadSilenceMs);
  }
}
