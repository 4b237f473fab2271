// Errors with names and stable codes (after undici's lib/core/errors.js). Programmer mistakes are
// TypeError/RangeError thrown at once; everything else a user may branch on is a LifelineError with a
// `code` that never changes once released. Messages say what happened, to what, and what to do.

import type { GoawayName } from './protocol/constants.js';

/**
 * Every code a LifelineError may carry. Stable once released: users branch on them and search for them.
 * - API misuse that is not a TypeError/RangeError: LIFELINE_CLOSED (send after close), LIFELINE_BUFFER_FULL
 *   (the replay buffer is full: wait for 'drain'), LIFELINE_SEQ_EXHAUSTED;
 * - the kernel layer: LIFELINE_SOCKOPT_FAILED, LIFELINE_UNSUPPORTED, LIFELINE_SOCKET_CLOSED,
 *   LIFELINE_SOCKET_NOT_CONNECTED;
 * - a client's connection: LIFELINE_CONNECT_TIMEOUT, LIFELINE_HANDSHAKE_TIMEOUT, LIFELINE_CONNECTION_LOST,
 *   LIFELINE_NOT_LIFELINE (the server does not speak lifeline), LIFELINE_BAD_WELCOME (the server dictated
 *   a heartbeat this client cannot keep), and one code per GOAWAY the server ended it with (GOAWAY_ERRORS);
 * - measureRtt(): LIFELINE_NOT_CONNECTED, LIFELINE_NO_ANSWER.
 */
export type LifelineErrorCode =
  | 'LIFELINE_CLOSED'
  | 'LIFELINE_BUFFER_FULL'
  | 'LIFELINE_SEQ_EXHAUSTED'
  | 'LIFELINE_SOCKOPT_FAILED'
  | 'LIFELINE_UNSUPPORTED'
  | 'LIFELINE_SOCKET_CLOSED'
  | 'LIFELINE_SOCKET_NOT_CONNECTED'
  | 'LIFELINE_CONNECT_TIMEOUT'
  | 'LIFELINE_HANDSHAKE_TIMEOUT'
  | 'LIFELINE_CONNECTION_LOST'
  | 'LIFELINE_NOT_LIFELINE'
  | 'LIFELINE_BAD_WELCOME'
  | 'LIFELINE_NOT_CONNECTED'
  | 'LIFELINE_NO_ANSWER'
  | 'LIFELINE_MESSAGE_TOO_LARGE'
  | (typeof GOAWAY_ERRORS)[GoawayName];

/** The error code a client reports when the server ends a connection with each GOAWAY code: one table. */
export const GOAWAY_ERRORS = {
  normal: 'LIFELINE_GOAWAY_NORMAL',
  'protocol-error': 'LIFELINE_PROTOCOL_ERROR',
  'frame-too-large': 'LIFELINE_FRAME_TOO_LARGE',
  'too-many-pings': 'LIFELINE_TOO_MANY_PINGS',
  'auth-failed': 'LIFELINE_AUTH_FAILED',
  'unsupported-version': 'LIFELINE_UNSUPPORTED_VERSION',
  'server-shutdown': 'LIFELINE_SERVER_SHUTDOWN',
  'handshake-timeout': 'LIFELINE_HANDSHAKE_TIMEOUT',
  'resume-refused': 'LIFELINE_RESUME_REFUSED',
  'too-many-sessions': 'LIFELINE_TOO_MANY_SESSIONS',
  'buffer-full': 'LIFELINE_PEER_BUFFER_FULL',
  'internal-error': 'LIFELINE_SERVER_ERROR',
  'flow-control-error': 'LIFELINE_FLOW_CONTROL_ERROR',
  'message-too-large': 'LIFELINE_MESSAGE_TOO_LARGE',
} as const satisfies Record<GoawayName, `LIFELINE_${string}`>;

export class LifelineError extends Error {
  /** Stable, searchable code, always starting with LIFELINE_ (see LifelineErrorCode). */
  readonly code: LifelineErrorCode;

  constructor(code: LifelineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LifelineError';
    this.code = code;
  }
}

/** A socket option could not be set or read: carries the OS errno when there is one. */
export class SocketOptionError extends LifelineError {
  readonly option: string;
  readonly errno: number | undefined;

  constructor(option: string, message: string, errno?: number, options?: { cause?: unknown }) {
    super('LIFELINE_SOCKOPT_FAILED', message, options);
    this.name = 'SocketOptionError';
    this.option = option;
    this.errno = errno;
  }
}

/** What lifeline needs is not available on this platform or runtime (for example the FFI did not load). */
export class UnsupportedError extends LifelineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LIFELINE_UNSUPPORTED', message, options);
    this.name = 'UnsupportedError';
  }
}

/**
 * The server ended the connection with a GOAWAY: `goaway` names its code (auth-failed, too-many-sessions,
 * server-shutdown...), `code` is the matching LIFELINE_ code of GOAWAY_ERRORS.
 */
export class GoawayError extends LifelineError {
  readonly goaway: GoawayName;

  constructor(goaway: GoawayName, message: string, options?: { cause?: unknown }) {
    super(GOAWAY_ERRORS[goaway], message, options);
    this.name = 'GoawayError';
    this.goaway = goaway;
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
