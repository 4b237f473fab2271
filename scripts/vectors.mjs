#!/usr/bin/env node
// Writes test/vectors/frames.json, the test vectors of the lifeline wire protocol, version 2
// (docs/PROTOCOL.md, "Test vectors"). Every byte is assembled here from the layout the document gives, not by
// src/protocol's encoder, so that the tests check the code against a statement of the format made apart from
// it. The JSON is what the tests and other implementations read; to change a vector, change it here and run
// `node scripts/vectors.mjs` (`--check` compares instead of writing, and fails if the file differs).
import { readFileSync, writeFileSync } from 'node:fs';

const OUT = new URL('../test/vectors/frames.json', import.meta.url);

const MAGIC = '4c494645';
const VERSION = 2;
const PREFACE = MAGIC + u8(VERSION);
const PREFACE_LENGTH = 5;
const HEADER_LENGTH = 5;
const NO_PREFACE = { expectPreface: false };

const Type = { HELLO: 1, WELCOME: 2, PING: 3, PONG: 4, DATA: 5, ACK: 6, GOAWAY: 7, WINDOW: 8 };
const GOAWAY_NAMES = [
  'normal',
  'protocol-error',
  'frame-too-large',
  'too-many-pings',
  'auth-failed',
  'unsupported-version',
  'server-shutdown',
  'handshake-timeout',
  'resume-refused',
  'too-many-sessions',
  'buffer-full',
  'internal-error',
  'flow-control-error',
  'message-too-large',
];
const MiB = 1024 * 1024;
/** The decoder's limit where an invalid vector names none (its default options, in the description). */
const DEFAULT_MAX_FRAME = MiB;
const U32_MAX = 2 ** 32 - 1;
const U48_MAX = 2 ** 48 - 1;
const TOKEN = '000102030405060708090a0b0c0d0e0f';
const END = 0x01;

// ---- Bytes, as lowercase hex

function uint(n, width) {
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** (8 * width))
    throw new RangeError(`${n} is not a u${8 * width}`);
  return n.toString(16).padStart(2 * width, '0');
}
function u8(n) {
  return uint(n, 1);
}
function u16(n) {
  return uint(n, 2);
}
function u32(n) {
  return uint(n, 4);
}
function u48(n) {
  return uint(n, 6);
}
function utf8(text) {
  return Buffer.from(text, 'utf8').toString('hex');
}
function zeros(n) {
  return '00'.repeat(n);
}
function bytes(hex) {
  return hex.length / 2;
}
/** A frame: type (u8), payload length (u32), payload. */
function frame(type, payload) {
  return u8(type) + u32(bytes(payload)) + payload;
}
/** Only the 5-byte header of a frame that declares `length` payload bytes. */
function header(type, length) {
  return u8(type) + u32(length);
}

// ---- Frames, each with its decoded fields (byte strings as hex)

function hello(f) {
  const payload =
    u32(f.interval) +
    u32(f.timeout) +
    u32(f.maxFrame) +
    u32(f.maxMessage) +
    u32(f.window) +
    u48(f.lastReceived) +
    u8(bytes(f.token)) +
    f.token +
    f.credentials;
  return { hex: frame(Type.HELLO, payload), frame: { type: 'hello', ...f } };
}

/** WELCOME; `raw.flags` and `raw.sessionId` (hex) write bytes an encoder never writes. */
function welcome(f, raw = {}) {
  const flags = raw.flags ?? (f.resumed ? 0x01 : 0x00);
  const payload =
    u32(f.interval) +
    u32(f.timeout) +
    u32(f.maxFrame) +
    u32(f.maxMessage) +
    u32(f.window) +
    u8(flags) +
    u48(f.lastReceived) +
    u8(bytes(f.token)) +
    f.token +
    (raw.sessionId ?? utf8(f.sessionId));
  return { hex: frame(Type.WELCOME, payload), frame: { type: 'welcome', ...f } };
}

function pingLike(type, id, timestamp) {
  return {
    hex: frame(type === 'ping' ? Type.PING : Type.PONG, u32(id) + u32(timestamp)),
    frame: { type, id, timestamp },
  };
}

/** DATA: seq, flags (bit 0 END; the others reserved), the fragment's bytes. */
function data(seq, flags, payload) {
  return {
    hex: frame(Type.DATA, u48(seq) + u8(flags) + payload),
    frame: { type: 'data', seq, end: (flags & END) !== 0, payload },
  };
}

function ack(seq) {
  return { hex: frame(Type.ACK, u48(seq)), frame: { type: 'ack', seq } };
}

function windowFrame(limit) {
  return { hex: frame(Type.WINDOW, u48(limit)), frame: { type: 'window', limit } };
}

/** GOAWAY; `reasonHex` writes reason bytes that are not valid UTF-8 (`reason` is then their decoding). */
function goaway(code, lastReceived, reason, reasonHex = utf8(reason)) {
  const name = GOAWAY_NAMES[code] ?? 'protocol-error';
  return {
    hex: frame(Type.GOAWAY, u16(code) + u48(lastReceived) + reasonHex),
    frame: { type: 'goaway', code, name, lastReceived, reason },
  };
}

function named(name, v, note) {
  return note === undefined ? { name, ...v } : { name, ...v, note };
}

const newHello = {
  interval: 0,
  timeout: 0,
  maxFrame: MiB,
  maxMessage: MiB,
  window: 4 * MiB,
  lastReceived: 0,
  token: '',
  credentials: '',
};
const newWelcome = {
  interval: 5000,
  timeout: 15000,
  maxFrame: MiB,
  maxMessage: MiB,
  window: 4 * MiB,
  resumed: false,
  lastReceived: 0,
  token: TOKEN,
  sessionId: 's-1',
};

const frames = [
  named('hello: new session, no proposal, no credentials (lifeline defaults)', hello(newHello)),
  named(
    'hello: proposes interval 200 ms and timeout 1 s, with credentials',
    hello({
      ...newHello,
      interval: 200,
      timeout: 1000,
      maxFrame: 65536,
      maxMessage: 65536,
      window: 262144,
      credentials: utf8('user:secret'),
    }),
  ),
  named(
    'hello: resume with token and lastReceived 42',
    hello({ ...newHello, interval: 5000, timeout: 15000, lastReceived: 42, token: TOKEN }),
  ),
  named(
    'hello: maximum values everywhere',
    hello({
      interval: U32_MAX,
      timeout: U32_MAX,
      maxFrame: U32_MAX,
      maxMessage: U32_MAX,
      window: U32_MAX,
      lastReceived: U48_MAX,
      token: 'ff'.repeat(16),
      credentials: '00',
    }),
  ),
  named(
    'hello: maxFrame and maxMessage at the floor (16384), window 0, binary credentials',
    hello({ ...newHello, maxFrame: 16384, maxMessage: 16384, window: 0, credentials: '00ff10e2' }),
    'window 0: the server may send no message byte until the client sends WINDOW',
  ),
  named('welcome: new session', welcome(newWelcome)),
  named(
    'welcome: resumed, lastReceived 7, empty session id',
    welcome({ ...newWelcome, resumed: true, lastReceived: 7, sessionId: '' }),
  ),
  named(
    'welcome: minimal (floors, window 0, no token, empty session id)',
    welcome({
      interval: 0,
      timeout: 0,
      maxFrame: 16384,
      maxMessage: 16384,
      window: 0,
      resumed: false,
      lastReceived: 0,
      token: '',
      sessionId: '',
    }),
    'decodes; a client refuses its interval and timeout (docs/PROTOCOL.md section 4)',
  ),
  named(
    'welcome: maximum values and a unicode session id',
    welcome({
      interval: U32_MAX,
      timeout: U32_MAX,
      maxFrame: U32_MAX,
      maxMessage: U32_MAX,
      window: U32_MAX,
      resumed: true,
      lastReceived: U48_MAX,
      token: 'ff'.repeat(16),
      sessionId: 'sess-é-会话-🚀',
    }),
  ),
  named('ping: zero id and timestamp', pingLike('ping', 0, 0)),
  named('ping: id 1, timestamp 123456789', pingLike('ping', 1, 123456789)),
  named('ping: maximum id and timestamp', pingLike('ping', U32_MAX, U32_MAX)),
  named('pong: zero id and timestamp', pingLike('pong', 0, 0)),
  named('pong: echoes id 1, timestamp 123456789', pingLike('pong', 1, 123456789)),
  named('pong: maximum id and timestamp', pingLike('pong', U32_MAX, U32_MAX)),
  named('data: seq 1, an empty message (END, no bytes)', data(1, END, '')),
  named('data: seq 2, "hello" in one fragment (END)', data(2, END, utf8('hello'))),
  named('data: seq 3, first fragment "frag" of a message (no END)', data(3, 0x00, utf8('frag'))),
  named('data: seq 3, last fragment "ment" of the same message (END)', data(3, END, utf8('ment'))),
  named('data: maximum seq, binary payload (END)', data(U48_MAX, END, '00ff7f80')),
  named(
    'data: seq 4, 256 bytes 00..ff (END)',
    data(4, END, Array.from({ length: 256 }, (_, i) => u8(i)).join('')),
  ),
  named('ack: seq 0 (nothing received yet)', ack(0)),
  named('ack: seq 1', ack(1)),
  named('ack: maximum seq', ack(U48_MAX)),
  named('window: limit 16384', windowFrame(16384)),
  named('window: limit 5 MiB (4 MiB announced, then 1 MiB more granted)', windowFrame(5 * MiB)),
  named('window: maximum limit', windowFrame(U48_MAX)),
  named('goaway: normal, empty reason', goaway(0, 0, '')),
  named('goaway: protocol-error with reason', goaway(1, 0, 'DATA 5 arrived where 3 was expected')),
  named(
    'goaway: frame-too-large',
    goaway(2, 0, 'DATA frame declares a 1048577-byte payload; the limit is 1048576 bytes'),
  ),
  named('goaway: too-many-pings', goaway(3, 3, 'more than 10 PINGs per 1000 ms (burst 20)')),
  named('goaway: auth-failed', goaway(4, 0, 'authentication failed')),
  named(
    'goaway: unsupported-version',
    goaway(5, 0, 'peer speaks lifeline protocol version 1; this end speaks only version 2'),
  ),
  named('goaway: server-shutdown, unicode reason, maximum lastReceived', goaway(6, U48_MAX, 'arrêt 🛑')),
  named('goaway: handshake-timeout', goaway(7, 0, 'no handshake in time')),
  named('goaway: resume-refused (reserved)', goaway(8, 0, '')),
  named('goaway: too-many-sessions', goaway(9, 0, 'the server holds its maximum of 10000 sessions')),
  named('goaway: buffer-full (reserved)', goaway(10, 0, '')),
  named('goaway: internal-error', goaway(11, 0, 'server error')),
  named(
    'goaway: flow-control-error',
    goaway(12, 17, '4194305 bytes of messages received where the window allowed 4194304'),
  ),
  named(
    'goaway: message-too-large (highest defined code)',
    goaway(13, 17, 'message 18 passes 1048576 bytes, the largest this side accepts'),
  ),
  named('goaway: unknown code 0x1234 reads as protocol-error', goaway(0x1234, 1, 'from the future')),
  named('goaway: code 65535', goaway(0xffff, 0, '')),
];

const nonCanonical = [
  named(
    'welcome: reserved flag bits are ignored',
    welcome({ ...newWelcome, resumed: true }, { flags: 0xff }),
    'flags 0xff decode as RESUMED; re-encoding writes 0x01',
  ),
  named(
    'welcome: reserved flag bits without RESUMED',
    welcome(newWelcome, { flags: 0x80 }),
    'flags 0x80 decode as not resumed; re-encoding writes 0x00',
  ),
  named(
    'data: reserved flag bits with END are ignored',
    data(5, 0xff, utf8('x')),
    'flags 0xff decode as END; re-encoding writes 0x01',
  ),
  named(
    'data: reserved flag bits without END: a fragment that is not the last',
    data(5, 0xfe, utf8('x')),
    'flags 0xfe decode as no END; re-encoding writes 0x00',
  ),
  named(
    'goaway: invalid UTF-8 in reason decodes with U+FFFD',
    goaway(1, 0, 'A\ufffdB', '41ff42'),
    'bytes 41 ff 42',
  ),
  named(
    'goaway: a truncated 4-byte sequence is one U+FFFD',
    goaway(1, 0, 'A\ufffdB', '41f09f9a42'),
    'bytes 41 f0 9f 9a 42: each maximal invalid subsequence becomes one U+FFFD',
  ),
  named(
    'welcome: invalid UTF-8 in session id decodes with U+FFFD',
    welcome({ ...newWelcome, sessionId: '\ufffd(' }, { sessionId: 'c328' }),
    'bytes c3 28 (a truncated two-byte sequence)',
  ),
];

// ---- Invalid input: `at` is the number of bytes after which the decoder must refuse (errorAfterBytes)

function invalid(name, hex, error, at, { options, framesBefore = 0 } = {}) {
  const v = { name, hex };
  if (options !== undefined) v.options = options;
  return { ...v, error, errorAfterBytes: at, framesBefore };
}
function protocolError(reason, extra = {}) {
  return { code: 'protocol-error', reason, ...extra };
}
function tooLarge(typeName, length, limit = DEFAULT_MAX_FRAME) {
  return {
    code: 'frame-too-large',
    reason: `${typeName} frame declares a ${length}-byte payload; the limit is ${limit} bytes`,
  };
}
function badPreface(got) {
  return protocolError(`expected the lifeline preface 4c 49 46 45 02, got ${got}`, { looksLikeHttp: false });
}
function http(firstLine) {
  return protocolError(
    `peer sent an HTTP request ("${firstLine}...") where the lifeline preface was expected`,
    {
      looksLikeHttp: true,
    },
  );
}
function badVersion(version) {
  return {
    code: 'unsupported-version',
    reason: `peer speaks lifeline protocol version ${version}; this end speaks only version ${VERSION}`,
    version,
  };
}
/** A frame of `type` whose declared length the type does not allow: refused at its header. */
function badLength(typeName, rule, length) {
  const hex = frame(Type[typeName], zeros(length));
  return invalid(
    `${typeName} payload of ${length} bytes`,
    hex,
    protocolError(`${typeName} payload must be ${rule} bytes, got ${length}`),
    HEADER_LENGTH,
    { options: NO_PREFACE },
  );
}
/** Refused only once its whole payload has arrived: a body-level check. */
function badBody(name, hex, reason) {
  return invalid(name, hex, protocolError(reason), bytes(hex), { options: NO_PREFACE });
}

/** The payload of a HELLO or WELCOME with no token and nothing after it, less its tokenLength byte. */
const fixedPart = (frameHex) => frameHex.slice(2 * HEADER_LENGTH, -2);
const ascii = (text) => Buffer.from(text, 'latin1').toString('hex');
const helloFields = (f) => hello({ ...newHello, ...f }).hex;
const welcomeFields = (f) => welcome({ ...newWelcome, ...f }).hex;
/** A HELLO of version 1 (maxFrame 1 MiB, new session): what a lifeline 1 client sends after its preface. */
const V1_HELLO = frame(Type.HELLO, zeros(8) + u32(MiB) + zeros(6) + u8(0));
const ping = pingLike('ping', 7, 9).hex;

const invalidVectors = [
  invalid(
    'HTTP GET instead of the preface',
    ascii('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n'),
    http('GET / HTTP/1.1'),
    1,
  ),
  invalid(
    'HTTP POST instead of the preface',
    ascii('POST /api HTTP/1.1\r\nContent-Length: 0\r\n\r\n'),
    http('POST /api HTTP/1.1'),
    1,
  ),
  invalid(
    'HTTP OPTIONS instead of the preface',
    ascii('OPTIONS * HTTP/1.1\r\n\r\n'),
    http('OPTIONS * HTTP/1.1'),
    1,
  ),
  invalid(
    'HTTP/2 prior-knowledge preface (PRI)',
    ascii('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    http('PRI * HTTP/2.0'),
    1,
  ),
  invalid(
    'random bytes instead of the preface',
    '00010203040506070809',
    badPreface('00 01 02 03 04 05 06 07'),
    1,
  ),
  invalid(
    'TLS ClientHello instead of the preface',
    '1603010200010001fe0303',
    protocolError(
      'peer began what looks like a TLS handshake where the lifeline preface was expected (TLS on one end only?)',
      { looksLikeHttp: false },
    ),
    1,
  ),
  invalid(
    'text that starts like a method but is not HTTP',
    ascii('GETTING STARTED'),
    badPreface('47 45 54 54 49 4e 47 20'),
    1,
  ),
  invalid('lowercase magic', `${ascii('life')}02`, badPreface('6c 69 66 65 02'), 1),
  invalid('magic wrong in its fourth byte', `${ascii('LIFX')}02`, badPreface('58 02'), 4),
  invalid(
    'preface with version 1 (a lifeline 1 peer), then its HELLO',
    MAGIC + u8(1) + V1_HELLO,
    badVersion(1),
    PREFACE_LENGTH,
  ),
  invalid('preface with version 0', MAGIC + u8(0), badVersion(0), PREFACE_LENGTH),
  invalid('preface with version 3 (a later version)', MAGIC + u8(3), badVersion(3), PREFACE_LENGTH),
  invalid(
    'unknown frame type 0x09 after the preface',
    PREFACE + header(0x09, 0),
    protocolError('unknown frame type 0x09'),
    PREFACE_LENGTH + HEADER_LENGTH,
  ),
  invalid('frame type 0x00', frame(0x00, zeros(8)), protocolError('unknown frame type 0x00'), HEADER_LENGTH, {
    options: NO_PREFACE,
  }),
  invalid('frame type 0xff', header(0xff, 0), protocolError('unknown frame type 0xff'), HEADER_LENGTH, {
    options: NO_PREFACE,
  }),
  badLength('HELLO', 'at least 27', 26),
  badLength('WELCOME', 'at least 28', 27),
  badLength('PING', 'exactly 8', 7),
  badLength('PONG', 'exactly 8', 9),
  badLength('DATA', 'at least 7', 6),
  badLength('ACK', 'exactly 6', 8),
  badLength('GOAWAY', 'at least 8', 7),
  badLength('WINDOW', 'exactly 6', 5),
  badLength('WINDOW', 'exactly 6', 7),
  badBody(
    'HELLO token length 8',
    helloFields({ token: zeros(8) }),
    'HELLO token length must be 0 or 16, got 8',
  ),
  badBody(
    'HELLO token length 16 but only 10 token bytes',
    frame(Type.HELLO, fixedPart(helloFields({})) + u8(16) + zeros(10)),
    'HELLO declares a 16-byte token but its payload is only 37 bytes',
  ),
  badBody(
    'WELCOME token length 1',
    frame(Type.WELCOME, fixedPart(welcomeFields({ token: '', sessionId: '' })) + u8(1) + u8(0xaa)),
    'WELCOME token length must be 0 or 16, got 1',
  ),
  badBody(
    'WELCOME token length 255',
    frame(
      Type.WELCOME,
      fixedPart(welcomeFields({ token: '', sessionId: '' })) + u8(255) + u8(0xaa).repeat(255),
    ),
    'WELCOME token length must be 0 or 16, got 255',
  ),
  badBody(
    'HELLO maxFrame 16383, under the floor',
    helloFields({ maxFrame: 16383 }),
    'HELLO maxFrame 16383 is below the floor of 16384 bytes',
  ),
  badBody(
    'HELLO maxMessage 16383, under the floor',
    helloFields({ maxMessage: 16383 }),
    'HELLO maxMessage 16383 is below the floor of 16384 bytes',
  ),
  badBody(
    'WELCOME maxFrame 0, under the floor',
    welcomeFields({ maxFrame: 0 }),
    'WELCOME maxFrame 0 is below the floor of 16384 bytes',
  ),
  badBody(
    'WELCOME maxMessage 1024, under the floor',
    welcomeFields({ maxMessage: 1024 }),
    'WELCOME maxMessage 1024 is below the floor of 16384 bytes',
  ),
  badBody(
    'DATA fragment without END and without bytes',
    data(1, 0x00, '').hex,
    'DATA fragment without END carries no bytes',
  ),
  badBody(
    'DATA with reserved flag bits but no END, without bytes',
    data(1, 0xfe, '').hex,
    'DATA fragment without END carries no bytes',
  ),
  invalid(
    'DATA declaring 1 MiB + 1 (the default limit), header only',
    header(Type.DATA, MiB + 1),
    tooLarge('DATA', MiB + 1),
    HEADER_LENGTH,
    { options: NO_PREFACE },
  ),
  invalid(
    'DATA declaring 4 GiB - 1, header only',
    header(Type.DATA, U32_MAX),
    tooLarge('DATA', U32_MAX),
    HEADER_LENGTH,
    {
      options: NO_PREFACE,
    },
  ),
  invalid(
    'PING declaring 4 GiB - 1: the size limit is checked first',
    header(Type.PING, U32_MAX),
    tooLarge('PING', U32_MAX),
    HEADER_LENGTH,
    { options: NO_PREFACE },
  ),
  invalid(
    'DATA with a whole 16 KiB fragment where maxFrame is 16384 (the floor)',
    header(Type.DATA, 16384 + 7),
    tooLarge('DATA', 16384 + 7, 16384),
    HEADER_LENGTH,
    { options: { expectPreface: false, maxFrame: 16384 } },
  ),
  invalid(
    "HELLO larger than a server's maxHelloSize (8192), after the preface",
    PREFACE + header(Type.HELLO, 8193),
    tooLarge('HELLO', 8193, 8192),
    PREFACE_LENGTH + HEADER_LENGTH,
    { options: { maxFrame: 8192 } },
  ),
  invalid(
    'a good PING, then an unknown type',
    PREFACE + ping + header(0x09, 0),
    protocolError('unknown frame type 0x09'),
    PREFACE_LENGTH + bytes(ping) + HEADER_LENGTH,
    { framesBefore: 1 },
  ),
  invalid(
    'a first fragment, then a fragment without END and without bytes',
    data(3, 0x00, utf8('frag')).hex + data(3, 0x00, '').hex,
    protocolError('DATA fragment without END carries no bytes'),
    bytes(data(3, 0x00, utf8('frag')).hex + data(3, 0x00, '').hex),
    { options: NO_PREFACE, framesBefore: 1 },
  ),
];

const document = {
  description:
    'lifeline wire protocol test vectors, version 2 (docs/PROTOCOL.md). Integers are big-endian; byte strings are lowercase hex. ' +
    '"frames": each hex is one frame (no preface); decoding it must give "frame" (token, credentials and payload as hex) and encoding "frame" must give the hex again. ' +
    '"nonCanonical": accepted input whose decoding is "frame", but which an encoder never produces. ' +
    '"invalid": input fed to a decoder (with "options", default { "maxFrame": 1048576, "expectPreface": true }) must be refused with "error.code" (and "looksLikeHttp" / "version" where given); "errorAfterBytes" is the shortest prefix already refused, and "framesBefore" the number of frames delivered before the refusal, however the input is cut. ' +
    '"error.reason" is what lifeline\'s decoder says when the input arrives in one piece; it is informative only (implementations must not key on it). ' +
    'A reason for a wrong magic quotes the bytes at hand, so it may differ when the input is cut; and "looksLikeHttp" is decided on the first piece alone, so non-HTTP input whose first piece is a prefix of an HTTP method and a space (say "G") is taken for HTTP.',
  version: VERSION,
  preface: { hex: PREFACE, magic: 'LIFE', version: VERSION },
  frames,
  nonCanonical,
  invalid: invalidVectors,
};

const text = `${JSON.stringify(document, null, 2)}\n`;
if (process.argv.includes('--check')) {
  const current = readFileSync(OUT, 'utf8');
  if (current !== text) {
    console.error('test/vectors/frames.json differs from what scripts/vectors.mjs writes: run it again');
    process.exit(1);
  }
  console.log('test/vectors/frames.json is up to date');
} else {
  writeFileSync(OUT, text);
  console.log(
    `wrote test/vectors/frames.json: ${frames.length} frames, ${nonCanonical.length} non-canonical, ${invalidVectors.length} invalid`,
  );
}
