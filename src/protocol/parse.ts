// Reads one frame's payload, whose length the decoder has already checked against the type, into a frame
// object. Pure: no sockets, no timers, no clock. Returns a reason string for the few errors only the body shows.
import {
  DataFlag,
  FrameType,
  type FrameTypeCode,
  goawayName,
  MIN_MAX_FRAME,
  MIN_MAX_MESSAGE,
  TOKEN_LENGTH,
  WelcomeFlag,
} from './constants.js';
import type { Frame, HelloFrame, WelcomeFrame } from './frames.js';
import {
  AckOffset,
  DataOffset,
  GoawayOffset,
  HelloOffset,
  isValidTokenLength,
  PingOffset,
  U48_LENGTH,
  WelcomeOffset,
  WindowOffset,
} from './layout.js';

/**
 * The frame in `buf[start, start + length)`. DATA's payload is a view of `buf` (no copy: the hot path);
 * HELLO and WELCOME copy their token and credentials, which a session keeps for its whole life and which
 * must not pin a whole socket chunk in memory. Invalid UTF-8 in a text field is decoded with U+FFFD.
 */
export function parseFrame(type: FrameTypeCode, buf: Buffer, start: number, length: number): Frame | string {
  switch (type) {
    case FrameType.PING:
    case FrameType.PONG:
      return {
        type: type === FrameType.PING ? 'ping' : 'pong',
        id: buf.readUInt32BE(start + PingOffset.id),
        timestamp: buf.readUInt32BE(start + PingOffset.timestamp),
      };
    case FrameType.DATA: {
      // Flag bits other than END are reserved: senders set them to 0, receivers ignore them.
      const end = (buf[start + DataOffset.flags]! & DataFlag.END) !== 0;
      if (!end && length === DataOffset.payload) return 'DATA fragment without END carries no bytes';
      return {
        type: 'data',
        seq: buf.readUIntBE(start + DataOffset.seq, U48_LENGTH),
        end,
        payload: buf.subarray(start + DataOffset.payload, start + length),
      };
    }
    case FrameType.WINDOW:
      return { type: 'window', limit: buf.readUIntBE(start + WindowOffset.limit, U48_LENGTH) };
    case FrameType.ACK:
      return { type: 'ack', seq: buf.readUIntBE(start + AckOffset.seq, U48_LENGTH) };
    case FrameType.GOAWAY: {
      const code = buf.readUInt16BE(start + GoawayOffset.code);
      return {
        type: 'goaway',
        code,
        name: goawayName(code),
        lastReceived: buf.readUIntBE(start + GoawayOffset.lastReceived, U48_LENGTH),
        reason: buf.toString('utf8', start + GoawayOffset.reason, start + length),
      };
    }
    case FrameType.HELLO:
      return parseHello(buf, start, length);
    case FrameType.WELCOME:
      return parseWelcome(buf, start, length);
  }
}

function parseHello(buf: Buffer, start: number, length: number): HelloFrame | string {
  const tokenLength = buf[start + HelloOffset.tokenLength]!;
  const restAt = HelloOffset.token + tokenLength;
  const problem =
    tokenProblem('HELLO', tokenLength, restAt, length) ??
    limitsProblem('HELLO', buf, start + HelloOffset.maxFrame, start + HelloOffset.maxMessage);
  if (problem) return problem;
  return {
    type: 'hello',
    interval: buf.readUInt32BE(start + HelloOffset.interval),
    timeout: buf.readUInt32BE(start + HelloOffset.timeout),
    maxFrame: buf.readUInt32BE(start + HelloOffset.maxFrame),
    maxMessage: buf.readUInt32BE(start + HelloOffset.maxMessage),
    window: buf.readUInt32BE(start + HelloOffset.window),
    lastReceived: buf.readUIntBE(start + HelloOffset.lastReceived, U48_LENGTH),
    token: Buffer.from(buf.subarray(start + HelloOffset.token, start + restAt)),
    credentials: Buffer.from(buf.subarray(start + restAt, start + length)),
  };
}

function parseWelcome(buf: Buffer, start: number, length: number): WelcomeFrame | string {
  const tokenLength = buf[start + WelcomeOffset.tokenLength]!;
  const restAt = WelcomeOffset.token + tokenLength;
  const problem =
    tokenProblem('WELCOME', tokenLength, restAt, length) ??
    limitsProblem('WELCOME', buf, start + WelcomeOffset.maxFrame, start + WelcomeOffset.maxMessage);
  if (problem) return problem;
  return {
    type: 'welcome',
    interval: buf.readUInt32BE(start + WelcomeOffset.interval),
    timeout: buf.readUInt32BE(start + WelcomeOffset.timeout),
    maxFrame: buf.readUInt32BE(start + WelcomeOffset.maxFrame),
    maxMessage: buf.readUInt32BE(start + WelcomeOffset.maxMessage),
    window: buf.readUInt32BE(start + WelcomeOffset.window),
    // Flag bits other than RESUMED are reserved: senders set them to 0, receivers ignore them, so that a
    // later version can add a flag without breaking this one.
    resumed: (buf[start + WelcomeOffset.flags]! & WelcomeFlag.RESUMED) !== 0,
    lastReceived: buf.readUIntBE(start + WelcomeOffset.lastReceived, U48_LENGTH),
    token: Buffer.from(buf.subarray(start + WelcomeOffset.token, start + restAt)),
    sessionId: buf.toString('utf8', start + restAt, start + length),
  };
}

/** maxFrame and maxMessage below the protocol's floors (every peer accepts 16 KiB of each). */
function limitsProblem(
  frame: string,
  buf: Buffer,
  maxFrameAt: number,
  maxMessageAt: number,
): string | undefined {
  const maxFrame = buf.readUInt32BE(maxFrameAt);
  if (maxFrame < MIN_MAX_FRAME)
    return `${frame} maxFrame ${maxFrame} is below the floor of ${MIN_MAX_FRAME} bytes`;
  const maxMessage = buf.readUInt32BE(maxMessageAt);
  if (maxMessage < MIN_MAX_MESSAGE)
    return `${frame} maxMessage ${maxMessage} is below the floor of ${MIN_MAX_MESSAGE} bytes`;
  return undefined;
}

function tokenProblem(
  frame: string,
  tokenLength: number,
  restAt: number,
  length: number,
): string | undefined {
  if (!isValidTokenLength(tokenLength)) {
    return `${frame} token length must be 0 or ${TOKEN_LENGTH}, got ${tokenLength}`;
  }
  if (restAt > length) {
    return `${frame} declares a ${tokenLength}-byte token but its payload is only ${length} bytes`;
  }
  return undefined;
}
