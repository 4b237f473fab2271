// The deadline detector: the peer is dead once nothing has been heard for `timeout` ms, never sooner.
// Pure: the caller passes the time; this module never reads a clock or arms a timer.

import { assertFiniteNumber } from '../errors.js';
import { type Detector, type DetectorState, instantAfter } from './detector.js';

export interface DeadlineOptions {
  /** Silence (ms) after which the peer is declared dead. Required; > 0. */
  timeout: number;
}

/** Largest duration Node's setTimeout accepts (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Validates deadline options: TypeError for a non-number, RangeError naming the option and its range. */
export function validateDeadlineOptions(options: DeadlineOptions): Required<DeadlineOptions> {
  assertFiniteNumber('timeout', options.timeout);
  assertPositive('timeout', options.timeout, MAX_TIMEOUT_MS);
  return { timeout: options.timeout };
}

export function createDeadlineDetector(options: DeadlineOptions, now: number): Detector {
  return new DeadlineDetector(validateDeadlineOptions(options), now);
}

class DeadlineDetector implements Detector {
  readonly #timeout: number;
  #lastHeardAt: number;

  constructor(options: Required<DeadlineOptions>, now: number) {
    this.#timeout = options.timeout;
    this.#lastHeardAt = now;
  }

  heard(now: number): void {
    this.#lastHeardAt = now;
  }

  isDead(now: number): boolean {
    return silenceIsFatal(this.#lastHeardAt, this.#timeout, now);
  }

  deadlineAt(now: number): number {
    return fatalSilenceAt(this.#lastHeardAt, this.#timeout, now);
  }

  state(now: number): DetectorState {
    return {
      kind: 'deadline',
      silentMs: Math.max(0, now - this.#lastHeardAt),
      leftMs: this.deadlineAt(now) - now,
    };
  }

  reset(now: number): void {
    this.#lastHeardAt = now;
  }
}

/**
 * The deadline rule itself, for callers that keep `lastHeardAt` themselves instead of a detector object
 * (a server's transport, tens of thousands of times): dead once `timeout` ms passed without a frame.
 */
export function silenceIsFatal(lastHeardAt: number, timeout: number, now: number): boolean {
  return now - lastHeardAt >= timeout;
}

/** The earliest instant, at or after `now`, at which silenceIsFatal() holds if nothing more is heard. */
export function fatalSilenceAt(lastHeardAt: number, timeout: number, now: number): number {
  return Math.max(now, instantAfter(lastHeardAt, timeout));
}

/** RangeError unless 0 < value <= max. */
export function assertPositive(name: string, value: number, max: number, unit = 'ms'): void {
  if (!(value > 0) || value > max) {
    throw new RangeError(`${name} must be greater than 0 and at most ${max} ${unit}, got ${value} ${unit}`);
  }
}
