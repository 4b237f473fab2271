// The contract every failure detector keeps, and the factory the session uses to pick one.
// Detectors are pure: no timers, no clock. Time is an argument (monotonic milliseconds, fractional allowed).

import { createDeadlineDetector } from './deadline.js';
import { createPhiDetector, type PhiOptions } from './phi.js';

export interface Detector {
  /** A frame (any frame) arrived at `now`. Hot path: O(1), never allocates. */
  heard(now: number): void;
  /** Is the peer to be declared dead at `now`? */
  isDead(now: number): boolean;
  /**
   * The earliest time at or after `now` when `isDead` becomes true if nothing more is heard, so that the
   * caller can arm exactly one timer. `isDead(deadlineAt(now))` is always true.
   */
  deadlineAt(now: number): number;
  /** The detector's view at `now`, for display and metrics. */
  state(now: number): DetectorState;
  /** Forgets everything learned (after a reconnect): the peer counts as just heard at `now`. */
  reset(now: number): void;
}

export type DetectorKind = 'deadline' | 'phi';

export type DetectorState =
  | { kind: 'deadline'; silentMs: number; leftMs: number }
  | { kind: 'phi'; phi: number; silentMs: number; leftMs: number };

/**
 * Options for either detector. `timeout` is the hard maximum silence for both; the deadline detector
 * ignores the rest, the phi detector needs `interval` (see {@link PhiOptions} for every option).
 */
export type DetectorOptions = { timeout: number } & Partial<Omit<PhiOptions, 'timeout'>>;

export const DETECTOR_KINDS: readonly DetectorKind[] = ['deadline', 'phi'];

/** Creates a detector of the given kind whose peer counts as heard at `now`. */
export function createDetector(kind: DetectorKind, options: DetectorOptions, now: number): Detector {
  switch (kind) {
    case 'deadline':
      return createDeadlineDetector({ timeout: options.timeout }, now);
    case 'phi': {
      if (options.interval === undefined) {
        throw new TypeError('interval is required for the phi detector: pass the heartbeat interval in ms');
      }
      return createPhiDetector({ ...options, interval: options.interval }, now);
    }
    default:
      throw new RangeError(`detector must be one of ${DETECTOR_KINDS.join(', ')}, got ${String(kind)}`);
  }
}

/**
 * The smallest instant `d >= lastAt + silenceMs` for which `d - lastAt >= silenceMs` holds in floating
 * point, so that a timer armed for `d` finds `isDead` true even when the subtraction rounds down.
 */
export function instantAfter(lastAt: number, silenceMs: number): number {
  let at = lastAt + silenceMs;
  while (at - lastAt < silenceMs) at += Math.max(Math.abs(at) * Number.EPSILON, Number.MIN_VALUE);
  return at;
}
