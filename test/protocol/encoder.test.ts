// The encoder's sizes, its fast paths agreeing with the general path, and its refusal of out-of-range fields.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DATA_SEQ_LENGTH,
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
  type Frame,
  HEADER_LENGTH,
  MAX_SEQ,
} from '../../src/protocol/index.js';

function decodeOne(bytes: Buffer): Frame {
  const frames: Frame[] = [];
  const error = new Decoder({ expectPreface: false }).push(bytes, (f) => frames.push(f));
  assert.equal(error, undefined, error?.reason);
  assert.equal(frames.length, 1);
  return frames[0]!;
}

describe('encoder', () => {
  it('writes the 5-byte preface "LIFE" + version', () => {
    assert.equal(encodePreface().toString('hex'), '4c49464501');
    assert.equal(encodePreface(2).toString('hex'), '4c49464502');
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
    const payload = Buffer.from('héllo');
    assert.deepEqual(encodeData(9, payload), encodeFrame({ type: 'data', seq: 9, payload }));
  });

  it('ACK is 11 bytes', () => {
    assert.equal(encodeAck(1).toString('hex'), '0600000006000000000001');
  });

  it('encodeDataHeader + the uncopied payload is exactly encodeData', () => {
    for (const size of [0, 1, 1000, 70_000]) {
      const payload = Buffer.alloc(size, 0xab);
      const head = encodeDataHeader(42, size);
      assert.equal(head.length, HEADER_LENGTH + DATA_SEQ_LENGTH);
      assert.deepEqual(Buffer.concat([head, payload]), encodeData(42, payload));
    }
  });

  it('encodeData accepts a plain Uint8Array and copies it', () => {
    const payload = new Uint8Array([1, 2, 3]);
    const frame = encodeData(1, payload);
    payload[0] = 9;
    assert.deepEqual(decodeOne(frame), { type: 'data', seq: 1, payload: Buffer.from([1, 2, 3]) });
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
      () => encodeFrame({ type: 'goaway', code: 65536, name: 'normal', lastReceived: 0, reason: '' }),
      /goaway code/,
    );
  });

  it('refuses a token that is neither empty nor 16 bytes', () => {
    const hello = {
      type: 'hello',
      interval: 0,
      timeout: 0,
      maxFrame: 0,
      lastReceived: 0,
      token: Buffer.alloc(8),
      credentials: Buffer.alloc(0),
    } as const;
    assert.throws(() => encodeFrame(hello), /token must be empty or exactly 16 bytes, got 8 bytes/);
    assert.throws(
      () =>
        encodeFrame({
          type: 'welcome',
          interval: 0,
          timeout: 0,
          maxFrame: 0,
          resumed: false,
          lastReceived: 0,
          token: Buffer.alloc(17),
          sessionId: '',
        }),
      RangeError,
    );
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
  });
});
