// The decoded shape of each frame. Pure data: the encoder takes these, the decoder yields them.
import type { GoawayName } from './constants.js';

export interface HelloFrame {
  type: 'hello';
  /** Heartbeat interval the client proposes, ms; 0 = no proposal. */
  interval: number;
  /** Heartbeat timeout the client proposes, ms; 0 = no proposal. */
  timeout: number;
  /** Largest frame payload the client accepts, bytes (at least MIN_MAX_FRAME). */
  maxFrame: number;
  /** Largest message (all its fragments) the client accepts, bytes (at least MIN_MAX_MESSAGE). */
  maxMessage: number;
  /** Message bytes the server may send on this connection before the client grants more (WINDOW). */
  window: number;
  /** Resume token of the session to resume; empty for a new session. */
  token: Buffer;
  /** Highest message sequence number the client delivered to its application from the server (0 = none). */
  lastReceived: number;
  /** Opaque credentials for the server's authenticate() hook; empty when none. */
  credentials: Buffer;
}

export interface WelcomeFrame {
  type: 'welcome';
  /** Heartbeat interval agreed for this session, ms (the server dictates). */
  interval: number;
  /** Heartbeat timeout agreed for this session, ms. */
  timeout: number;
  /** Largest frame payload the server accepts, bytes (at least MIN_MAX_FRAME). */
  maxFrame: number;
  /** Largest message (all its fragments) the server accepts, bytes (at least MIN_MAX_MESSAGE). */
  maxMessage: number;
  /** Message bytes the client may send on this connection before the server grants more (WINDOW). */
  window: number;
  /** True when the session presented in HELLO was resumed. */
  resumed: boolean;
  /** Highest message sequence number the server delivered to its application from the client (0 = none). */
  lastReceived: number;
  /** The session's resume token (new, or the resumed one). */
  token: Buffer;
  /** The session's id, for logs and metrics (UTF-8). */
  sessionId: string;
}

export interface PingFrame {
  type: 'ping';
  /** u32 */
  id: number;
  /** The pinger's monotonic clock in microseconds, mod 2^32 (u32). Echoed unchanged in the PONG. */
  timestamp: number;
}

export interface PongFrame {
  type: 'pong';
  id: number;
  timestamp: number;
}

export interface DataFrame {
  type: 'data';
  /** u48: the message's sequence number, from 1, one more per message in each direction (all its fragments share it). */
  seq: number;
  /** This fragment ends its message (flag END). */
  end: boolean;
  /** This fragment's bytes of the message. */
  payload: Buffer;
}

export interface WindowFrame {
  type: 'window';
  /** u48: total message bytes the peer may have sent on this connection; never decreases. */
  limit: number;
}

export interface AckFrame {
  type: 'ack';
  /** Every message up to and including this sequence number was delivered to the application. */
  seq: number;
}

export interface GoawayFrame {
  type: 'goaway';
  code: number;
  /** The code's name; unknown codes read as 'protocol-error'. */
  name: GoawayName;
  /** Highest message sequence number the sender delivered (0 = none), so the peer knows what arrived. */
  lastReceived: number;
  /** Human-readable reason (UTF-8), may be empty. */
  reason: string;
}

export type Frame =
  | HelloFrame
  | WelcomeFrame
  | PingFrame
  | PongFrame
  | DataFrame
  | AckFrame
  | GoawayFrame
  | WindowFrame;
