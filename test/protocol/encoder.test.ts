// The encoder's sizes, its fast paths agreeing with the general path, its refusal of out-of-range fields, and
// the exact bytes of the HTTP refusal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DATA_PREFIX_LENGTH,
  Decoder,
  encodeAck,
  encodeData,
  encodeDataHeader,
  encodeFrame,
  encodeGoaway,
  encodeHttpRefusal,
  encodePing,
  encodePong,
  encodePreface,
  encodeWindow,
  type Frame,
  HEADER_LENGTH,
  MAX_SEQ,
  MIN_MAX_FRAME,
  MIN_MAX_MESSAGE,
  type WelcomeFrame,
} from '../../src/protocol/index.js';
import { floorHello } from './vectors.js';

const hello = floorHello;
const welcome: WelcomeFrame = {
  type: 'welcome',
  interval: 0,
  timeout: 0,
  maxFrame: MIN_MAX_FRAME,
  maxMessage: MIN_MAX_MESSAGE,
  window: 0,
  resumed: false,
  lastReceived: 0,
  token: Buffer.alloc(16),
  sessionId: '',
};

function decodeOne(bytes: Buffer): Frame {
  const frames: Frame[] = [];
  const error = new Decoder({ expectPreface: false }).push(bytes, (f) => frames.push(f));
  assert.equal(error, undefined, error?.reason);
  assert.equal(frames.length, 1);
  return frames[0]!;
}

describe('encoder', () => {
  it('writes the 5-byte preface "LIFE" + version, version 2 by default', () => {
    assert.equal(encodePreface().toString('hex'), '4c49464502');
    assert.equal(encodePreface(1).toString('hex'), '4c49464501');
    assert.throws(() => encodePreface(256), RangeError);
  });

  it('PING and PONG are 13 bytes on the wire (at most 16 required)', () => {
    assert.equal(encodePing(0xffff_ffff, 0xffff_ffff).length, 13);
    assert.equal(encodePong(1, 2).length, 13);
    assert.equal(encodePing(5, 6).toString('hex'), '03000000080000000500000006');
    assert.equal(encodePong(5, 6).toString('hex'), '04000000080000000500000006');
  });

  it('the fast paths write what encodeFrame writes', () => {
    assert.deepEqual(encodePing(7, 8), encodeFrame({ type: 'ping', id: 7, timestamp: 8 }));
    assert.deepEqual(encodePong(7, 8), encodeFrame({ type: 'pong', id: 7, timestamp: 8 }));
    assert.deepEqual(encodeAck(MAX_SEQ), encodeFrame({ type: 'ack', seq: MAX_SEQ }));
    assert.deepEqual(encodeWindow(MAX_SEQ), encodeFrame({ type: 'window', limit: MAX_SEQ }));
    const payload = Buffer.from('héllo');
    assert.deepEqual(encodeData(9, payload), encodeFrame({ type: 'data', seq: 9, end: true, payload }));
    assert.deepEqual(
      encodeData(9, payload, false),
      encodeFrame({ type: 'data', seq: 9, end: false, payload }),
    );
  });

  it('ACK and WINDOW are 11 bytes', () => {
    assert.equal(encodeAck(1).toString('hex'), '0600000006000000000001');
    assert.equal(encodeWindow(5 * 1024 * 1024).toString('hex'), '0800000006000000500000');
  });

  it('DATA is seq, a flags byte with END in bit 0, then the fragment: 12 bytes before it', () => {
    assert.equal(encodeData(2, Buffer.from('hello')).toString('hex'), '050000000c0000000000020168656c6c6f');
    assert.equal(
      encodeData(3, Buffer.from('frag'), false).toString('hex'),
      '050000000b0000000000030066726167',
    );
    assert.equal(encodeData(1, Buffer.alloc(0)).toString('hex'), '050000000700000000000101');
  });

  it('encodeDataHeader + the uncopied fragment is exactly encodeData, with and without END', () => {
    for (const size of [0, 1, 1000, 70_000]) {
      for (const end of [true, false]) {
        const payload = Buffer.alloc(size, 0xab);
        const head = encodeDataHeader(42, size, end);
        assert.equal(head.length, HEADER_LENGTH + DATA_PREFIX_LENGTH);
        assert.deepEqual(Buffer.concat([head, payload]), encodeData(42, payload, end));
      }
    }
  });

  it('encodeData(seq, message, end, from, to) writes one fragment of the message', () => {
    const message = Buffer.from('one message, three fragments');
    const cuts = [0, 4, 13, message.length];
    const fragments = cuts
      .slice(1)
      .map((to, i) => encodeData(7, message, to === message.length, cuts[i], to));
    assert.deepEqual(
      fragments.map(decodeOne),
      cuts.slice(1).map((to, i) => ({
        type: 'data',
        seq: 7,
        end: to === message.length,
        payload: message.subarray(cuts[i], to),
      })),
    );
  });

  it('encodeData accepts a plain Uint8Array and copies it', () => {
    const payload = new Uint8Array([1, 2, 3]);
    const frame = encodeData(1, payload);
    payload[0] = 9;
    assert.deepEqual(decodeOne(frame), { type: 'data', seq: 1, end: true, payload: Buffer.from([1, 2, 3]) });
  });

  it('encodeGoaway writes the code of a name, the reason and lastReceived', () => {
    assert.deepEqual(decodeOne(encodeGoaway('too-many-pings', 'slow down', 12)), {
      type: 'goaway',
      code: 3,
      name: 'too-many-pings',
      lastReceived: 12,
      reason: 'slow down',
    });
    assert.deepEqual(decodeOne(encodeGoaway('normal')), {
      type: 'goaway',
      code: 0,
      name: 'normal',
      lastReceived: 0,
      reason: '',
    });
  });

  it('throws a RangeError naming the field for a value that does not fit, never truncates', () => {
    assert.throws(() => encodePing(2 ** 32, 0), /ping id must be a whole number between 0 and 4294967295/);
    assert.throws(() => encodePing(-1, 0), RangeError);
    assert.throws(() => encodePong(0, 1.5), /ping timestamp/);
    assert.throws(() => encodeAck(MAX_SEQ + 1), /ack seq/);
    assert.throws(() => encodeData(Number.NaN, Buffer.alloc(0)), /data seq/);
    assert.throws(() => encodeDataHeader(1, 2 ** 32), /data payload length/);
    assert.throws(
      () => encodeWindow(MAX_SEQ + 1),
      /window limit must be a whole number between 0 and 281474976710655/,
    );
    assert.throws(() => encodeWindow(-1), RangeError);
    assert.throws(() => encodeFrame({ ...hello, maxMessage: 2 ** 32 }), /hello maxMessage/);
    assert.throws(() => encodeFrame({ ...hello, window: -1 }), /hello window/);
    assert.throws(() => encodeFrame({ ...welcome, maxMessage: 1.5 }), /welcome maxMessage/);
    assert.throws(() => encodeFrame({ ...welcome, window: 2 ** 32 }), /welcome window/);
    assert.throws(
      () => encodeFrame({ type: 'goaway', code: 65536, name: 'normal', lastReceived: 0, reason: '' }),
      /goaway code/,
    );
  });

  it('refuses a token that is neither empty nor 16 bytes', () => {
    assert.throws(
      () => encodeFrame({ ...hello, token: Buffer.alloc(8) }),
      /token must be empty or exactly 16 bytes, got 8 bytes/,
    );
    assert.throws(() => encodeFrame({ ...welcome, token: Buffer.alloc(17) }), RangeError);
  });

  it('writes HELLO and WELCOME field by field, in the order of docs/PROTOCOL.md', () => {
    const h = encodeFrame({
      ...hello,
      interval: 1,
      timeout: 2,
      maxFrame: 0x4000,
      maxMessage: 0x5000,
      window: 0x6000,
      lastReceived: 7,
      credentials: Buffer.from('c'),
    });
    // type, length, interval, timeout, maxFrame, maxMessage, window, lastReceived, tokenLength, credentials
    const helloFields = ['01', '0000001c', '00000001', '00000002', '00004000', '00005000', '00006000'];
    assert.equal(h.toString('hex'), [...helloFields, '000000000007', '00', '63'].join(''));
    const w = encodeFrame({
      ...welcome,
      interval: 1,
      timeout: 2,
      maxFrame: 0x4000,
      maxMessage: 0x5000,
      window: 0x6000,
      resumed: true,
      lastReceived: 7,
      token: Buffer.alloc(0),
      sessionId: 's',
    });
    // type, length, interval, timeout, maxFrame, maxMessage, window, flags, lastReceived, tokenLength, sessionId
    const welcomeFields = ['02', '0000001d', '00000001', '00000002', '00004000', '00005000', '00006000'];
    assert.equal(w.toString('hex'), [...welcomeFields, '01', '000000000007', '00', '73'].join(''));
  });

  it('counts UTF-8 bytes, not characters, in text fields', () => {
    const reason = '✋🚀é';
    const bytes = encodeFrame({ type: 'goaway', code: 1, name: 'protocol-error', lastReceived: 0, reason });
    assert.equal(bytes.readUInt32BE(1), 8 + Buffer.byteLength(reason));
    assert.equal((decodeOne(bytes) as { reason: string }).reason, reason);
  });

  it('the HTTP refusal is a complete HTTP/1.1 400 whose body says this is a lifeline port', () => {
    const text = encodeHttpRefusal().toString('utf8');
    const [head, body] = text.split('\r\n\r\n') as [string, string];
    assert.match(head, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(head, /\r\nConnection: close/);
    assert.equal(Number(/Content-Length: (\d+)/.exec(head)?.[1]), Buffer.byteLength(body));
    assert.match(body, /lifeline port/);
    // Byte for byte, as docs/PROTOCOL.md section 8 gives it: CRLF after the status line and each header,
    // an empty line, then a body of 109 bytes ending in a bare LF.
    assert.equal(
      text,
      'HTTP/1.1 400 Bad Request\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 109\r\n' +
        'Connection: close\r\n' +
        '\r\n' +
        'This is a lifeline port: it speaks the lifeline heartbeat protocol (binary, see docs/PROTOCOL.md), not HTTP.\n',
    );
    assert.equal(encodeHttpRefusal().length, 218);
  });
});
