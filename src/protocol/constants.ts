// Every number of the lifeline wire protocol, in one place that docs/PROTOCOL.md is checked against.
// Pure: no sockets, no timers, no clock.

/** The connection preface: ASCII "LIFE" followed by one version byte. Sent first by both ends. */
export const MAGIC = Buffer.from('LIFE', 'ascii');
/**
 * The only protocol version this implementation speaks. Version 2 (this one) added fragments, flow control
 * (WINDOW) and the largest message to the handshake; a version 1 peer is refused with unsupported-version.
 */
export const VERSION = 2;
/** Bytes of the preface: magic (4) + version (1). */
export const PREFACE_LENGTH = 5;

/** Every frame starts with: type (u8) + payload length (u32, big-endian). */
export const HEADER_LENGTH = 5;

/**
 * Default and ceiling for the largest frame payload a decoder accepts, in bytes. The default stays 1 MiB in
 * version 2: lifeline cuts its own fragments at FRAGMENT_SIZE, but a peer may send fragments up to the
 * maxFrame announced to it, and docs/PROTOCOL.md and the vectors state 1 MiB.
 */
export const DEFAULT_MAX_FRAME = 1024 * 1024;
export const MAX_FRAME_CEILING = 0xffff_ffff;
/**
 * The least maxFrame a HELLO or WELCOME may announce, in bytes (as HTTP/2's SETTINGS_MAX_FRAME_SIZE, RFC 9113
 * section 6.5.2): every peer accepts a 16 KiB frame, so every message can be cut into fragments (of at most
 * FRAGMENT_SIZE bytes, and at most maxFrame - 7 for a peer at the floor). Announcing less is a protocol-error.
 */
export const MIN_MAX_FRAME = 16 * 1024;
/**
 * The most message bytes a sender puts in one DATA fragment. Small enough that a PING, PONG or ACK written
 * after it waits behind little more than one fragment (16 KiB is 131 ms at 1 Mbit/s), large enough that the
 * 12 bytes of header per fragment cost under 0.1 %.
 */
export const FRAGMENT_SIZE = 16 * 1024;
/**
 * What one DATA frame costs against the receive window besides its fragment's bytes (docs/PROTOCOL.md
 * section 6): what a receiver spends to hold a frame or a message, so that a window bounds the memory of
 * empty messages and tiny fragments too (HTTP/2 learnt this from floods of empty frames, CVE-2019-9518).
 */
export const DATA_FRAME_COST = 64;
/** The smallest fragment a sender cuts when the peer's window allows no more, but for a message's last. */
export const MIN_FRAGMENT = 1024;
/** Default largest message (all fragments together) a side accepts, in bytes. */
export const DEFAULT_MAX_MESSAGE = 1024 * 1024;
/** The least maxMessage a HELLO or WELCOME may announce, in bytes: every peer accepts a 16 KiB message. */
export const MIN_MAX_MESSAGE = 16 * 1024;
/**
 * Default receive window, in bytes of message data: how much a side buffers for an application that has
 * not consumed it yet (see flow control in docs/PROTOCOL.md). At least maxMessage, so a whole message fits.
 */
export const DEFAULT_WINDOW = 4 * 1024 * 1024;

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
  WINDOW: 0x08,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

/** PING and PONG payload: id (u32) + the pinger's monotonic timestamp in microseconds, mod 2^32 (u32). */
export const PING_PAYLOAD_LENGTH = 8;
/** ACK payload: the highest message sequence number delivered in order (u48). */
export const ACK_PAYLOAD_LENGTH = 6;
/** DATA payload: sequence number (u48), flags (u8), then the fragment's bytes of the message. */
export const DATA_SEQ_LENGTH = 6;
/** Bytes of a DATA payload before the fragment: sequence number (6) and flags (1). */
export const DATA_PREFIX_LENGTH = 7;
/** DATA flags (u8). */
export const DataFlag = {
  /** This fragment is the last of its message: the message is complete. */
  END: 0x01,
} as const;
/** WINDOW payload: the new limit (u48) on the message bytes the peer may send on this connection. */
export const WINDOW_PAYLOAD_LENGTH = 6;
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
  'flow-control-error': 12,
  'message-too-large': 13,
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
