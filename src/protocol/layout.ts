// Byte offsets inside each frame's payload and the length rules per frame type, so that the encoder,
// the decoder and docs/PROTOCOL.md share one table. Pure data and checks: no sockets, no timers, no clock.
import {
  ACK_PAYLOAD_LENGTH,
  DATA_PREFIX_LENGTH,
  FrameType,
  type FrameTypeCode,
  PING_PAYLOAD_LENGTH,
  TOKEN_LENGTH,
  WINDOW_PAYLOAD_LENGTH,
} from './constants.js';

/** Width of a u48 field (sequence numbers), in bytes. */
export const U48_LENGTH = 6;
/** Largest value of a u8, u16 and u32 field. */
export const U8_MAX = 0xff;
export const U16_MAX = 0xffff;
export const U32_MAX = 0xffff_ffff;

/** Frame header: type at 0 (u8), payload length at 1 (u32). */
export const HeaderOffset = { type: 0, length: 1 } as const;

/** HELLO payload: fixed part, then `tokenLength` token bytes, then credentials (the rest). */
export const HelloOffset = {
  interval: 0,
  timeout: 4,
  maxFrame: 8,
  maxMessage: 12,
  window: 16,
  lastReceived: 20,
  tokenLength: 26,
  token: 27,
} as const;
export const HELLO_MIN_LENGTH = HelloOffset.token;

/** WELCOME payload: fixed part, then `tokenLength` token bytes, then the session id (UTF-8, the rest). */
export const WelcomeOffset = {
  interval: 0,
  timeout: 4,
  maxFrame: 8,
  maxMessage: 12,
  window: 16,
  flags: 20,
  lastReceived: 21,
  tokenLength: 27,
  token: 28,
} as const;
export const WELCOME_MIN_LENGTH = WelcomeOffset.token;

/** PING and PONG payload. */
export const PingOffset = { id: 0, timestamp: 4 } as const;

/** DATA payload: the message's sequence number, flags, then this fragment's bytes of the message. */
export const DataOffset = { seq: 0, flags: 6, payload: DATA_PREFIX_LENGTH } as const;

/** WINDOW payload. */
export const WindowOffset = { limit: 0 } as const;

/** ACK payload. */
export const AckOffset = { seq: 0 } as const;

/** GOAWAY payload: code, the sender's lastReceived, then the reason (UTF-8, the rest). */
export const GoawayOffset = { code: 0, lastReceived: 2, reason: 8 } as const;
export const GOAWAY_MIN_LENGTH = GoawayOffset.reason;

/** The token lengths a HELLO or WELCOME may carry: none (new session) or a full resume token. */
export function isValidTokenLength(n: number): boolean {
  return n === 0 || n === TOKEN_LENGTH;
}

/** Smallest and largest payload length per frame type code (index = type); 0/0 marks an unknown type. */
const MIN_PAYLOAD: number[] = [];
const MAX_PAYLOAD: number[] = [];
function bounds(type: FrameTypeCode, min: number, max: number): void {
  MIN_PAYLOAD[type] = min;
  MAX_PAYLOAD[type] = max;
}
bounds(FrameType.HELLO, HELLO_MIN_LENGTH, U32_MAX);
bounds(FrameType.WELCOME, WELCOME_MIN_LENGTH, U32_MAX);
bounds(FrameType.PING, PING_PAYLOAD_LENGTH, PING_PAYLOAD_LENGTH);
bounds(FrameType.PONG, PING_PAYLOAD_LENGTH, PING_PAYLOAD_LENGTH);
bounds(FrameType.DATA, DATA_PREFIX_LENGTH, U32_MAX);
bounds(FrameType.ACK, ACK_PAYLOAD_LENGTH, ACK_PAYLOAD_LENGTH);
bounds(FrameType.GOAWAY, GOAWAY_MIN_LENGTH, U32_MAX);
bounds(FrameType.WINDOW, WINDOW_PAYLOAD_LENGTH, WINDOW_PAYLOAD_LENGTH);

/** True for the type codes this version defines. */
export function isKnownFrameType(type: number): type is FrameTypeCode {
  return MIN_PAYLOAD[type] !== undefined;
}

/** Whether `length` is an allowed payload length for a known frame type. */
export function isValidPayloadLength(type: FrameTypeCode, length: number): boolean {
  return length >= MIN_PAYLOAD[type]! && length <= MAX_PAYLOAD[type]!;
}

/** The allowed payload lengths of a known type, for error messages and docs: "8" or "at least 19". */
export function describePayloadLength(type: FrameTypeCode): string {
  const min = MIN_PAYLOAD[type]!;
  return min === MAX_PAYLOAD[type] ? `exactly ${min}` : `at least ${min}`;
}

/** Names of the frame types, for error messages ("PING"). */
export const FRAME_TYPE_NAMES: ReadonlyMap<number, keyof typeof FrameType> = new Map(
  Object.entries(FrameType).map(([name, code]) => [code, name as keyof typeof FrameType]),
);

/**
 * HTTP request methods whose request line a lifeline port recognises in place of the preface, so that it can
 * answer a browser or curl with a readable HTTP 400 instead of binary. PRI is HTTP/2's connection preface.
 */
export const HTTP_METHODS: readonly string[] = [
  'GET',
  'POST',
  'PUT',
  'HEAD',
  'OPTIONS',
  'DELETE',
  'PATCH',
  'CONNECT',
  'PRI',
];

/**
 * Throws a RangeError (a programmer mistake, never a peer's) unless `value` is a whole number in 0..max.
 * The encoder calls this on every field, so a bad value never reaches the wire truncated.
 */
export function checkUint(field: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${field} must be a whole number between 0 and ${max}, got ${String(value)}`);
  }
}
