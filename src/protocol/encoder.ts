// Turns frames into bytes, exactly as docs/PROTOCOL.md lays them out. Pure: no sockets, no timers, no clock.
// A field out of range is a programmer mistake and throws a RangeError at once; nothing is ever truncated.
import {
  ACK_PAYLOAD_LENGTH,
  DATA_PREFIX_LENGTH,
  DataFlag,
  FrameType,
  type FrameTypeCode,
  GoawayCode,
  type GoawayName,
  goawayName,
  HEADER_LENGTH,
  MAGIC,
  MAX_SEQ,
  PING_PAYLOAD_LENGTH,
  PREFACE_LENGTH,
  TOKEN_LENGTH,
  VERSION,
  WelcomeFlag,
  WINDOW_PAYLOAD_LENGTH,
} from './constants.js';
import type { Frame, GoawayFrame, HelloFrame, WelcomeFrame } from './frames.js';
import {
  AckOffset,
  checkUint,
  DataOffset,
  GoawayOffset,
  HELLO_MIN_LENGTH,
  HeaderOffset,
  HelloOffset,
  isValidTokenLength,
  PingOffset,
  U8_MAX,
  U16_MAX,
  U32_MAX,
  U48_LENGTH,
  WELCOME_MIN_LENGTH,
  WelcomeOffset,
  WindowOffset,
} from './layout.js';

/** The 5-byte preface both ends send first: "LIFE" and the version. */
export function encodePreface(version: number = VERSION): Buffer {
  checkUint('version', version, U8_MAX);
  const buf = Buffer.allocUnsafe(PREFACE_LENGTH);
  MAGIC.copy(buf, 0);
  buf[MAGIC.length] = version;
  return buf;
}

/** Any frame, as one buffer (header and payload). The hot paths below avoid the frame object. */
export function encodeFrame(frame: Frame): Buffer {
  switch (frame.type) {
    case 'hello':
      return encodeHello(frame);
    case 'welcome':
      return encodeWelcome(frame);
    case 'ping':
      return encodePing(frame.id, frame.timestamp);
    case 'pong':
      return encodePong(frame.id, frame.timestamp);
    case 'data':
      return encodeData(frame.seq, frame.payload, frame.end);
    case 'ack':
      return encodeAck(frame.seq);
    case 'window':
      return encodeWindow(frame.limit);
    case 'goaway':
      return encodeGoawayFrame(frame);
    default:
      throw new TypeError(`cannot encode a frame of type ${String((frame as { type: unknown }).type)}`);
  }
}

/** PING: 13 bytes. `timestamp` is the sender's monotonic clock in µs, mod 2^32. */
export function encodePing(id: number, timestamp: number): Buffer {
  return encodePingLike(FrameType.PING, id, timestamp);
}

/** PONG: 13 bytes, echoing the PING's id and timestamp unchanged. */
export function encodePong(id: number, timestamp: number): Buffer {
  return encodePingLike(FrameType.PONG, id, timestamp);
}

/** ACK: 11 bytes; every DATA up to and including `seq` was received. */
export function encodeAck(seq: number): Buffer {
  checkUint('ack seq', seq, MAX_SEQ);
  const buf = header(FrameType.ACK, ACK_PAYLOAD_LENGTH);
  buf.writeUIntBE(seq, HEADER_LENGTH + AckOffset.seq, U48_LENGTH);
  return buf;
}

/** WINDOW: 11 bytes; the peer may send message bytes on this connection up to `limit` in total. */
export function encodeWindow(limit: number): Buffer {
  checkUint('window limit', limit, MAX_SEQ);
  const buf = header(FrameType.WINDOW, WINDOW_PAYLOAD_LENGTH);
  buf.writeUIntBE(limit, HEADER_LENGTH + WindowOffset.limit, U48_LENGTH);
  return buf;
}

/**
 * The first 12 bytes of a DATA fragment (header, seq and flags) whose `payloadLength` bytes of the message
 * follow, so a large fragment can go to the socket with writev and never be copied. `end`: the message's
 * last fragment.
 */
export function encodeDataHeader(seq: number, payloadLength: number, end = true): Buffer {
  checkUint('data seq', seq, MAX_SEQ);
  checkUint('data payload length', payloadLength, U32_MAX - DATA_PREFIX_LENGTH);
  const buf = header(FrameType.DATA, DATA_PREFIX_LENGTH + payloadLength, HEADER_LENGTH + DATA_PREFIX_LENGTH);
  buf.writeUIntBE(seq, HEADER_LENGTH + DataOffset.seq, U48_LENGTH);
  buf[HEADER_LENGTH + DataOffset.flags] = end ? DataFlag.END : 0;
  return buf;
}

/**
 * A whole DATA fragment in one buffer (copies `payload[start, end)`: meant for small fragments). By default
 * the whole payload as one message in one fragment.
 */
export function encodeData(
  seq: number,
  payload: Buffer | Uint8Array,
  end = true,
  from = 0,
  to = payload.length,
): Buffer {
  checkUint('data seq', seq, MAX_SEQ);
  checkUint('data payload length', to - from, U32_MAX - DATA_PREFIX_LENGTH);
  const buf = header(FrameType.DATA, DATA_PREFIX_LENGTH + to - from);
  buf.writeUIntBE(seq, HEADER_LENGTH + DataOffset.seq, U48_LENGTH);
  buf[HEADER_LENGTH + DataOffset.flags] = end ? DataFlag.END : 0;
  buf.set(
    from === 0 && to === payload.length ? payload : payload.subarray(from, to),
    HEADER_LENGTH + DataOffset.payload,
  );
  return buf;
}

/** GOAWAY by name, the usual way to refuse or end a session. `lastReceived` is our highest in-order DATA seq. */
export function encodeGoaway(name: GoawayName, reason = '', lastReceived = 0): Buffer {
  const code = GoawayCode[name];
  return encodeGoawayFrame({ type: 'goaway', code, name: goawayName(code), lastReceived, reason });
}

function encodePingLike(type: FrameTypeCode, id: number, timestamp: number): Buffer {
  checkUint('ping id', id, U32_MAX);
  checkUint('ping timestamp', timestamp, U32_MAX);
  const buf = header(type, PING_PAYLOAD_LENGTH);
  buf.writeUInt32BE(id, HEADER_LENGTH + PingOffset.id);
  buf.writeUInt32BE(timestamp, HEADER_LENGTH + PingOffset.timestamp);
  return buf;
}

function encodeHello(frame: HelloFrame): Buffer {
  checkUint('hello interval', frame.interval, U32_MAX);
  checkUint('hello timeout', frame.timeout, U32_MAX);
  checkUint('hello maxFrame', frame.maxFrame, U32_MAX);
  checkUint('hello maxMessage', frame.maxMessage, U32_MAX);
  checkUint('hello window', frame.window, U32_MAX);
  checkUint('hello lastReceived', frame.lastReceived, MAX_SEQ);
  checkToken(frame.token);
  const credentialsAt = HelloOffset.token + frame.token.length;
  const buf = header(
    FrameType.HELLO,
    payloadLength(HELLO_MIN_LENGTH + frame.token.length + frame.credentials.length),
  );
  const p = HEADER_LENGTH;
  buf.writeUInt32BE(frame.interval, p + HelloOffset.interval);
  buf.writeUInt32BE(frame.timeout, p + HelloOffset.timeout);
  buf.writeUInt32BE(frame.maxFrame, p + HelloOffset.maxFrame);
  buf.writeUInt32BE(frame.maxMessage, p + HelloOffset.maxMessage);
  buf.writeUInt32BE(frame.window, p + HelloOffset.window);
  buf.writeUIntBE(frame.lastReceived, p + HelloOffset.lastReceived, U48_LENGTH);
  buf[p + HelloOffset.tokenLength] = frame.token.length;
  buf.set(frame.token, p + HelloOffset.token);
  buf.set(frame.credentials, p + credentialsAt);
  return buf;
}

function encodeWelcome(frame: WelcomeFrame): Buffer {
  checkUint('welcome interval', frame.interval, U32_MAX);
  checkUint('welcome timeout', frame.timeout, U32_MAX);
  checkUint('welcome maxFrame', frame.maxFrame, U32_MAX);
  checkUint('welcome maxMessage', frame.maxMessage, U32_MAX);
  checkUint('welcome window', frame.window, U32_MAX);
  checkUint('welcome lastReceived', frame.lastReceived, MAX_SEQ);
  checkToken(frame.token);
  const sessionIdLength = Buffer.byteLength(frame.sessionId, 'utf8');
  const sessionIdAt = WelcomeOffset.token + frame.token.length;
  const buf = header(
    FrameType.WELCOME,
    payloadLength(WELCOME_MIN_LENGTH + frame.token.length + sessionIdLength),
  );
  const p = HEADER_LENGTH;
  buf.writeUInt32BE(frame.interval, p + WelcomeOffset.interval);
  buf.writeUInt32BE(frame.timeout, p + WelcomeOffset.timeout);
  buf.writeUInt32BE(frame.maxFrame, p + WelcomeOffset.maxFrame);
  buf.writeUInt32BE(frame.maxMessage, p + WelcomeOffset.maxMessage);
  buf.writeUInt32BE(frame.window, p + WelcomeOffset.window);
  buf[p + WelcomeOffset.flags] = frame.resumed ? WelcomeFlag.RESUMED : 0;
  buf.writeUIntBE(frame.lastReceived, p + WelcomeOffset.lastReceived, U48_LENGTH);
  buf[p + WelcomeOffset.tokenLength] = frame.token.length;
  buf.set(frame.token, p + WelcomeOffset.token);
  buf.write(frame.sessionId, p + sessionIdAt, sessionIdLength, 'utf8');
  return buf;
}

/** GOAWAY from a frame object; `name` is ignored, `code` is what goes on the wire. */
function encodeGoawayFrame(frame: GoawayFrame): Buffer {
  checkUint('goaway code', frame.code, U16_MAX);
  checkUint('goaway lastReceived', frame.lastReceived, MAX_SEQ);
  const reasonLength = Buffer.byteLength(frame.reason, 'utf8');
  const buf = header(FrameType.GOAWAY, payloadLength(GoawayOffset.reason + reasonLength));
  const p = HEADER_LENGTH;
  buf.writeUInt16BE(frame.code, p + GoawayOffset.code);
  buf.writeUIntBE(frame.lastReceived, p + GoawayOffset.lastReceived, U48_LENGTH);
  buf.write(frame.reason, p + GoawayOffset.reason, reasonLength, 'utf8');
  return buf;
}

/**
 * A buffer of `size` bytes (the whole frame unless told otherwise) with the header of a frame of payload
 * `length` written; the caller fills every other byte (allocUnsafe: nothing is zeroed for it).
 */
function header(type: FrameTypeCode, length: number, size = HEADER_LENGTH + length): Buffer {
  const buf = Buffer.allocUnsafe(size);
  buf[HeaderOffset.type] = type;
  buf.writeUInt32BE(length, HeaderOffset.length);
  return buf;
}

function payloadLength(n: number): number {
  checkUint('frame payload length', n, U32_MAX);
  return n;
}

function checkToken(token: Uint8Array): void {
  if (!isValidTokenLength(token.length)) {
    throw new RangeError(`token must be empty or exactly ${TOKEN_LENGTH} bytes, got ${token.length} bytes`);
  }
}
