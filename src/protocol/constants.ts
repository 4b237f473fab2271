// Every number of the lifeline wire protocol, in one place that docs/PROTOCOL.md is checked against.
// Pure: no sockets, no timers, no clock.

/** The connection preface: ASCII "LIFE" followed by one version byte. Sent first by both ends. */
export const MAGIC = Buffer.from('LIFE', 'ascii');
/** The only protocol version this implementation speaks. */
export const VERSION = 1;
/** Bytes of the preface: magic (4) + version (1). */
export const PREFACE_LENGTH = 5;

/** Every frame starts with: type (u8) + payload length (u32, big-endian). */
export const HEADER_LENGTH = 5;

/** Default and ceiling for the largest frame payload a decoder accepts, in bytes. */
export const DEFAULT_MAX_FRAME = 1024 * 1024;
export const MAX_FRAME_CEILING = 0xffff_ffff;

/**
 * The slowest a started frame may arrive: once a frame's header is read, the rest must come at this many
 * bytes per second or more, after a grace period (FRAME_GRACE_MS) that covers a slow start and a short
 * stall. Below it the receiver answers GOAWAY protocol-error. 16 KiB/s (128 kbit/s) is far below any link a
 * heartbeat is worth running on, and makes a trickled frame cost its sender time as well as the receiver
 * memory: a 1 MiB frame gets 10 s + 64 s, then its buffer is freed.
 */
export const MIN_FRAME_RATE = 16 * 1024;
/** The grace period of MIN_FRAME_RATE, ms. */
export const FRAME_GRACE_MS = 10_000;

/** ms from a frame's first byte within which all of its `totalBytes` (header + payload) must have arrived. */
export function frameCompletionMs(totalBytes: number): number {
  return FRAME_GRACE_MS + Math.ceil((totalBytes * 1000) / MIN_FRAME_RATE);
}

export const FrameType = {
  HELLO: 0x01,
  WELCOME: 0x02,
  PING: 0x03,
  PONG: 0x04,
  DATA: 0x05,
  ACK: 0x06,
  GOAWAY: 0x07,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

/** PING and PONG payload: id (u32) + the pinger's monotonic timestamp in microseconds, mod 2^32 (u32). */
export const PING_PAYLOAD_LENGTH = 8;
/** ACK payload: the highest DATA sequence number received in order (u48). */
export const ACK_PAYLOAD_LENGTH = 6;
/** DATA payload: sequence number (u48) then the application's bytes. */
export const DATA_SEQ_LENGTH = 6;
/** The largest sequence number (u48); a session that reaches it must end. */
export const MAX_SEQ = 2 ** 48 - 1;
/** Resume tokens are this many crypto-random bytes (128 bits). */
export const TOKEN_LENGTH = 16;

/** GOAWAY codes (u16) and their names, as they appear in DeathReport details, metrics and the CLI. */
export const GoawayCode = {
  normal: 0,
  'protocol-error': 1,
  'frame-too-large': 2,
  'too-many-pings': 3,
  'auth-failed': 4,
  'unsupported-version': 5,
  'server-shutdown': 6,
  'handshake-timeout': 7,
  'resume-refused': 8,
  'too-many-sessions': 9,
  'buffer-full': 10,
  'internal-error': 11,
} as const;
export type GoawayName = keyof typeof GoawayCode;

const goawayNames = new Map<number, GoawayName>(
  Object.entries(GoawayCode).map(([name, code]) => [code, name as GoawayName]),
);

/** The name of a GOAWAY code; unknown codes (from a newer peer) read as 'protocol-error'. */
export function goawayName(code: number): GoawayName {
  return goawayNames.get(code) ?? 'protocol-error';
}

/** WELCOME flags (u8). */
export const WelcomeFlag = {
  /** The session presented in HELLO was found and resumed. */
  RESUMED: 0x01,
} as const;
