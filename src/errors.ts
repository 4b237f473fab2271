// Errors with names and stable codes (after undici's lib/core/errors.js). Programmer mistakes are
// TypeError/RangeError thrown at once; everything else a user may branch on is a LifelineError with a
// `code` that never changes once released. Messages say what happened, to what, and what to do.

export class LifelineError extends Error {
  /** Stable, searchable code, always starting with LIFELINE_. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LifelineError';
    this.code = code;
  }
}

/** A socket option could not be set or read: carries the OS errno when there is one. */
export class SocketOptionError extends LifelineError {
  readonly option: string;
  readonly errno: number | undefined;

  constructor(option: string, message: string, errno?: number, options?: ErrorOptions) {
    super('LIFELINE_SOCKOPT_FAILED', message, options);
    this.name = 'SocketOptionError';
    this.option = option;
    this.errno = errno;
  }
}

/** What lifeline needs is not available on this platform or runtime (for example the FFI did not load). */
export class UnsupportedError extends LifelineError {
  constructor(message: string, options?: ErrorOptions) {
    super('LIFELINE_UNSUPPORTED', message, options);
    this.name = 'UnsupportedError';
  }
}

/** Throws a TypeError unless `value` is a finite number. */
export function assertFiniteNumber(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`${name} must be a finite number of milliseconds or a count, got ${describe(value)}`);
  }
}

/** Throws a RangeError naming the option and its allowed range unless min <= value <= max. */
export function assertRange(name: string, value: number, min: number, max: number, unit = ''): void {
  if (value < min || value > max) {
    const u = unit ? ` ${unit}` : '';
    throw new RangeError(`${name} must be between ${min}${u} and ${max}${u}, got ${value}${u}`);
  }
}

/** Validates an optional integer option: TypeError when not a finite number, RangeError when out of range. */
export function checkOption(name: string, value: unknown, min: number, max: number, unit = ''): number {
  assertFiniteNumber(name, value);
  if (!Number.isInteger(value)) {
    throw new RangeError(`${name} must be a whole number between ${min} and ${max}${unit ? ` ${unit}` : ''}`);
  }
  assertRange(name, value, min, max, unit);
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  return typeof value;
}
