// Reconnection delays: exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS
// Architecture Blog, 2015). Pure: never sleeps, never reads a clock; randomness is injected.

import { assertFiniteNumber, assertRange, checkOption } from '../errors.js';

/** Largest delay Node's setTimeout honours (2^31 - 1 ms, about 24.8 days). */
const MAX_DELAY_MS = 2 ** 31 - 1;

export interface BackoffOptions {
  /**
   * Cap (ms) of the first retry's delay; the delay is drawn from [0, initialDelay). Default 250 ms: long
   * enough not to hammer a server that is restarting, short enough that a blip is repaired before a user
   * notices. > 0.
   */
  initialDelay?: number;
  /**
   * Largest cap (ms) any retry's delay is drawn under. Default 30 000 ms: during a long outage each client
   * tries about every 15 s on average, so a fleet reconnecting at once spreads its load instead of storming.
   * At least initialDelay; when only initialDelay is given and it is larger, the default is initialDelay.
   */
  maxDelay?: number;
  /** Growth of the cap per attempt. Default 2 (the cap doubles), the usual choice. At least 1. */
  factor?: number;
  /**
   * Attempts before giving up (a whole number, or Infinity). Default Infinity: a long-lived connection
   * should come back whenever the network does. backoffDelay does not enforce it; the caller stops.
   */
  maxAttempts?: number;
}

export const DEFAULT_BACKOFF: Readonly<Required<BackoffOptions>> = Object.freeze({
  initialDelay: 250,
  maxDelay: 30_000,
  factor: 2,
  maxAttempts: Number.POSITIVE_INFINITY,
});

/** Validates backoff options in one place and fills in the defaults. */
export function validateBackoff(options: BackoffOptions = {}): Required<BackoffOptions> {
  const initialDelay = options.initialDelay ?? DEFAULT_BACKOFF.initialDelay;
  assertFiniteNumber('initialDelay', initialDelay);
  if (!(initialDelay > 0) || initialDelay > MAX_DELAY_MS) {
    throw new RangeError(
      `initialDelay must be greater than 0 and at most ${MAX_DELAY_MS} ms, got ${initialDelay} ms`,
    );
  }
  const maxDelay = options.maxDelay ?? Math.max(DEFAULT_BACKOFF.maxDelay, initialDelay);
  assertFiniteNumber('maxDelay', maxDelay);
  assertRange('maxDelay', maxDelay, initialDelay, MAX_DELAY_MS, 'ms');
  const factor = options.factor ?? DEFAULT_BACKOFF.factor;
  assertFiniteNumber('factor', factor);
  assertRange('factor', factor, 1, 1000);
  const maxAttempts = options.maxAttempts ?? DEFAULT_BACKOFF.maxAttempts;
  if (maxAttempts !== Number.POSITIVE_INFINITY)
    checkOption('maxAttempts', maxAttempts, 1, Number.MAX_SAFE_INTEGER);
  return { initialDelay, maxDelay, factor, maxAttempts };
}

/** The cap the delay of attempt `attempt` (1-based) is drawn under: min(maxDelay, initialDelay × factor^(attempt-1)). */
export function backoffCap(attempt: number, options: BackoffOptions = {}): number {
  const o = validateBackoff(options);
  checkOption('attempt', attempt, 1, Number.MAX_SAFE_INTEGER);
  // factor^(attempt-1) may overflow to Infinity; min() then gives maxDelay, as it should.
  return Math.min(o.maxDelay, o.initialDelay * o.factor ** (attempt - 1));
}

/**
 * The delay (ms) before reconnection attempt `attempt` (1-based): random() × min(maxDelay, initialDelay ×
 * factor^(attempt-1)). Full jitter spreads a crowd of clients evenly over the window, which the AWS study
 * found to finish soonest with the least contention. `random` must return a number in [0, 1).
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  return random() * backoffCap(attempt, options);
}
