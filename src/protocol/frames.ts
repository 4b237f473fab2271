// The decoded shape of each frame. Pure data: the encoder takes these, the decoder yields them.
import type { GoawayName } from './constants.js';

export interface HelloFrame {
  type: 'hello';
  /** Heartbeat interval the client proposes, ms; 0 = no proposal. */
  interval: number;
  /** Heartbeat timeout the client proposes, ms; 0 = no proposal. */
  timeout: number;
  /** Largest frame payload the client accepts, bytes. */
  maxFrame: number;
  /** Resume token of the session to resume; empty for a new session. */
  token: Buffer;
  /** Highest DATA sequence number the client has received from the server (0 = none). */
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
  /** Largest frame payload the server accepts, bytes. */
  maxFrame: number;
  /** True when the session presented in HELLO was resumed. */
  resumed: boolean;
  /** Highest DATA sequence number the server has received from the client (0 = none). */
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
  /** u48, starts at 1 and grows by one per DATA frame in each direction. */
  seq: number;
  payload: Buffer;
}

export interface AckFrame {
  type: 'ack';
  /** Every DATA frame up to and including this sequence number was received. */
  seq: number;
}

export interface GoawayFrame {
  type: 'goaway';
  code: number;
  /** The code's name; unknown codes read as 'protocol-error'. */
  name: GoawayName;
  /** Highest DATA sequence number the sender has received (0 = none), so the peer knows what arrived. */
  lastReceived: number;
  /** Human-readable reason (UTF-8), may be empty. */
  reason: string;
}

export type Frame = HelloFrame | WelcomeFrame | PingFrame | PongFrame | DataFrame | AckFrame | GoawayFrame;
