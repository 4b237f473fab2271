// The decoder's behaviour beyond the vectors: limits at header time, a sticky error, memory held, zero-copy
// slices, a changing limit, and a callback that throws.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_MAX_FRAME,
  type DecodeError,
  Decoder,
  decodedBeforeThrow,
  decodeWhole,
  encodeAck,
  encodeData,
  encodeFrame,
  encodePing,
  encodePreface,
  type Frame,
  HEADER_LENGTH,
} from '../../src/protocol/index.js';

function collect(decoder: Decoder, ...chunks: Buffer[]): { frames: Frame[]; errors: unknown[] } {
  const frames: Frame[] = [];
  const errors: unknown[] = [];
  for (const chunk of chunks) errors.push(decoder.push(chunk, (f) => frames.push(f)));
  return { frames, errors };
}

describe('Decoder', () => {
  it('refuses a frame over maxFrame from its header alone, holding no body bytes', () => {
    const decoder = new Decoder({ expectPreface: false, maxFrame: 100 });
    const header = encodeData(1, Buffer.alloc(101)).subarray(0, HEADER_LENGTH);
    const error = decoder.push(header, () => assert.fail('no frame expected'));
    assert.equal(error?.code, 'frame-too-large');
    assert.match(error.reason, /DATA frame declares a 107-byte payload; the limit is 100 bytes/);
    assert.equal(decoder.buffered, 0);
  });

  it('accepts a frame of exactly maxFrame payload bytes', () => {
    const decoder = new Decoder({ expectPreface: false, maxFrame: 106 });
    const { frames, errors } = collect(decoder, encodeData(1, Buffer.alloc(100)));
    assert.deepEqual(errors, [undefined]);
    assert.equal(frames.length, 1);
  });

  it('defaults to a 1 MiB limit and a preface', () => {
    const decoder = new Decoder();
    assert.equal(decoder.maxFrame, DEFAULT_MAX_FRAME);
    assert.equal(decoder.push(encodePing(1, 2), () => {})?.code, 'protocol-error');
  });

  it('applies a changed maxFrame from the next header on, e.g. from inside onFrame', () => {
    const decoder = new Decoder({ expectPreface: false });
    const big = encodeData(2, Buffer.alloc(64));
    const frames: Frame[] = [];
    const error = decoder.push(Buffer.concat([encodePing(1, 1), big]), (f) => {
      frames.push(f);
      decoder.maxFrame = 32;
    });
    assert.equal(frames.length, 1);
    assert.equal(error?.code, 'frame-too-large');
  });

  it('throws a RangeError for a maxFrame outside 0..2^32-1 (a programmer mistake)', () => {
    assert.throws(
      () => new Decoder({ maxFrame: -1 }),
      /maxFrame must be a whole number between 0 and 4294967295/,
    );
    assert.throws(() => new Decoder({ maxFrame: 2 ** 32 }), RangeError);
    const decoder = new Decoder();
    assert.throws(() => {
      decoder.maxFrame = 1.5;
    }, RangeError);
    assert.equal(decoder.maxFrame, DEFAULT_MAX_FRAME);
  });

  it('after an error, returns the same error for every push and delivers nothing', () => {
    const decoder = new Decoder({ expectPreface: false });
    const first = decoder.push(Buffer.from([0x09, 0, 0, 0, 0]), () => {});
    assert.equal(first?.code, 'protocol-error');
    let delivered = 0;
    const again = decoder.push(encodePing(1, 2), () => delivered++);
    assert.equal(again, first);
    assert.equal(
      decoder.push(Buffer.alloc(0), () => delivered++),
      first,
    );
    assert.equal(delivered, 0);
    assert.equal(decoder.buffered, 0);
  });

  it('does not deliver frames that follow the bad one in the same chunk', () => {
    const decoder = new Decoder({ expectPreface: false });
    const bad = Buffer.from([0x03, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]);
    const { frames, errors } = collect(decoder, Buffer.concat([encodePing(1, 1), bad, encodePing(2, 2)]));
    assert.deepEqual(
      frames.map((f) => f.type),
      ['ping'],
    );
    assert.equal((errors[0] as { code: string }).code, 'protocol-error');
  });

  it('reports the bytes it holds for an incomplete frame', () => {
    const decoder = new Decoder();
    const bytes = Buffer.concat([encodePreface(), encodeData(1, Buffer.alloc(50))]);
    decoder.push(bytes.subarray(0, 3), () => {});
    assert.equal(decoder.buffered, 0, 'matched preface bytes are consumed at once');
    decoder.push(bytes.subarray(3, 8), () => {});
    assert.equal(decoder.buffered, 3, 'a partial header is held');
    decoder.push(bytes.subarray(8, 30), () => {});
    assert.equal(decoder.buffered, 20, 'the header is consumed, the partial payload held');
    const { frames } = collect(decoder, bytes.subarray(30));
    assert.equal(frames.length, 1);
    assert.equal(decoder.buffered, 0);
  });

  it('slices a DATA payload that sits inside one chunk without copying it', () => {
    const chunk = Buffer.concat([encodeAck(1), encodeData(5, Buffer.from('abc'))]);
    const { frames } = collect(new Decoder({ expectPreface: false }), chunk);
    const data = frames[1] as Extract<Frame, { type: 'data' }>;
    assert.equal(data.payload.toString(), 'abc');
    assert.ok(data.payload.buffer === chunk.buffer, 'same memory');
    assert.equal(data.payload.byteOffset, chunk.byteOffset + chunk.length - 3);
  });

  it('copies a payload that spans chunks, so it no longer depends on them', () => {
    const bytes = encodeData(5, Buffer.from('abcdef'));
    const a = Buffer.from(bytes.subarray(0, 14));
    const b = Buffer.from(bytes.subarray(14));
    const { frames } = collect(new Decoder({ expectPreface: false }), a, b);
    a.fill(0);
    b.fill(0);
    assert.equal((frames[0] as Extract<Frame, { type: 'data' }>).payload.toString(), 'abcdef');
  });

  it('copies HELLO tokens and credentials, so a session keeping them does not pin the socket chunk', () => {
    const token = Buffer.alloc(16, 7);
    const chunk = encodeFrame({
      type: 'hello',
      interval: 0,
      timeout: 0,
      maxFrame: 0,
      lastReceived: 0,
      token,
      credentials: Buffer.from('pw'),
    });
    const { frames } = collect(new Decoder({ expectPreface: false }), chunk);
    const hello = frames[0] as Extract<Frame, { type: 'hello' }>;
    chunk.fill(0);
    assert.deepEqual(hello.token, token);
    assert.equal(hello.credentials.toString(), 'pw');
  });

  it('a throwing onFrame propagates, and the next push resumes with the frames still held', () => {
    const decoder = new Decoder({ expectPreface: false });
    const two = Buffer.concat([encodePing(1, 1), encodePing(2, 2)]);
    assert.throws(
      () =>
        decoder.push(two, () => {
          throw new Error('callback bug');
        }),
      /callback bug/,
    );
    assert.equal(decoder.buffered, 13, 'the second PING is still held');
    const { frames, errors } = collect(decoder, encodePing(3, 3));
    assert.deepEqual(errors, [undefined]);
    assert.deepEqual(
      frames.map((f) => (f as { id: number }).id),
      [2, 3],
    );
  });

  it('ignores empty chunks', () => {
    const decoder = new Decoder();
    assert.equal(
      decoder.push(Buffer.alloc(0), () => {}),
      undefined,
    );
    assert.equal(decoder.buffered, 0);
  });

  it('names what was wrong in the reason', () => {
    const reasonFor = (bytes: Buffer, expectPreface = true) =>
      new Decoder({ expectPreface }).push(bytes, () => {})?.reason;
    assert.match(
      reasonFor(Buffer.from('GET / HTTP/1.1\r\n'))!,
      /HTTP request \("GET \/ HTTP\/1\.1\.\.\."\) where the lifeline preface was expected/,
    );
    assert.match(reasonFor(Buffer.from([0x16, 0x03, 0x01]))!, /TLS handshake/);
    assert.match(
      reasonFor(Buffer.from([0, 1, 2]))!,
      /expected the lifeline preface 4c 49 46 45 01, got 00 01 02/,
    );
    assert.match(reasonFor(Buffer.from('LIFE\x07'))!, /version 7; this end speaks only version 1/);
    assert.match(reasonFor(Buffer.from([0x09, 0, 0, 0, 0]), false)!, /unknown frame type 0x09/);
    assert.match(
      reasonFor(Buffer.from([0x03, 0, 0, 0, 9]), false)!,
      /PING payload must be exactly 8 bytes, got 9/,
    );
  });
});

describe('decodeWhole: the fast path at a frame boundary', () => {
  const collectWhole = (chunk: Buffer, maxFrame = DEFAULT_MAX_FRAME) => {
    const frames: Frame[] = [];
    const end = decodeWhole(chunk, 0, { maxFrame }, (f) => frames.push(f), undefined);
    return { frames, end };
  };

  it('reads every whole frame in place and returns where an incomplete one begins', () => {
    const whole = Buffer.concat([encodePing(1, 1), encodeData(1, Buffer.from('hello'))]);
    const partial = encodeData(2, Buffer.from('world'));
    const { frames, end } = collectWhole(Buffer.concat([whole, partial.subarray(0, 7)]));
    assert.deepEqual(
      frames.map((f) => f.type),
      ['ping', 'data'],
    );
    assert.equal(end, whole.length);
    assert.equal(collectWhole(whole).end, whole.length, 'a chunk ending on a boundary: its length');
    assert.equal(collectWhole(partial.subarray(0, 3)).end, 0, 'an incomplete header');
  });

  it('refuses a header over maxFrame before its body arrives, and an unknown type', () => {
    const header = encodeData(1, Buffer.alloc(101)).subarray(0, HEADER_LENGTH);
    const { frames, end } = collectWhole(Buffer.concat([encodePing(1, 1), header]), 100);
    assert.equal(frames.length, 1, 'the frame before it is delivered');
    assert.equal(typeof end, 'object');
    assert.equal((end as DecodeError).code, 'frame-too-large');
    const unknown = Buffer.from([0x7f, 0, 0, 0, 0]);
    assert.match((collectWhole(unknown).end as DecodeError).reason, /unknown frame type 0x7f/);
  });

  it('when onFrame throws, decodedBeforeThrow() says where the rest of the chunk begins', () => {
    const two = Buffer.concat([encodePing(1, 1), encodePing(2, 2)]);
    assert.throws(
      () =>
        decodeWhole(
          two,
          0,
          { maxFrame: 100 },
          () => {
            throw new Error('callback bug');
          },
          undefined,
        ),
      /callback bug/,
    );
    assert.equal(decodedBeforeThrow(), 13);
  });

  it('Decoder.holding() takes over an incomplete frame and is idle again once it is delivered', () => {
    const data = encodeData(7, Buffer.from('spans two chunks'));
    const chunk = Buffer.concat([encodePing(1, 1), data.subarray(0, 9)]);
    const end = collectWhole(chunk).end as number;
    const decoder = Decoder.holding(chunk, end, DEFAULT_MAX_FRAME);
    assert.equal(decoder.idle, false);
    assert.equal(decoder.buffered, 4, 'the header is consumed, 4 payload bytes held');
    assert.equal(decoder.partialBytes, 9, 'header included');
    assert.equal(decoder.partialTotal, data.length);
    const { frames, errors } = collect(decoder, data.subarray(9));
    assert.deepEqual(errors, [undefined]);
    assert.equal((frames[0] as Extract<Frame, { type: 'data' }>).payload.toString(), 'spans two chunks');
    assert.equal(decoder.idle, true);
  });

  it('a Decoder is idle only past its preface with nothing held', () => {
    const decoder = new Decoder();
    assert.equal(decoder.idle, false, 'the preface is still to come');
    collect(decoder, encodePreface());
    assert.equal(decoder.idle, true);
    collect(decoder, encodePing(1, 1).subarray(0, 4));
    assert.equal(decoder.idle, false);
  });
});
