// The session layer's only source of time: a monotonic clock and its timers, behind one seam so that a
// simulated network (test/sim) can drive every schedule on virtual time. The default is Node's own.
import { performance } from 'node:perf_hooks';

/** A timer as Node returns it: re-armable for its original delay, and never keeping the process alive. */
export interface Timer {
  refresh(): unknown;
  unref(): unknown;
}

export interface Clock {
  /** Monotonic time in ms (performance.now() by default), never Date.now(). */
  now(): number;
  /** Calls `fn`, with the Timer as `this` (as Node does), after `ms` ms. */
  setTimeout(fn: (this: Timer) => void, ms: number): Timer;
  clearTimeout(timer: Timer | undefined): void;
  /** Calls fn(arg) once the input that has already arrived has been read (Node's setImmediate). */
  setImmediate<A>(fn: (arg: A) => void, arg: A): void;
}

/** Node's clock and timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
  setImmediate: (fn, arg) => {
    setImmediate(fn, arg);
  },
};
