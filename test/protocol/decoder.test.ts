// The decoder's behaviour beyond the vectors: limits at header time, a sticky error, memory held, zero-copy
// slices, a changing limit, a callback that throws, and the rules version 2 added (WINDOW, DATA's END flag,
// the maxFrame and maxMessage floors, a version 1 peer).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DATA_SEQ_LENGTH,
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
  encodeWindow,
  type Frame,
  HEADER_LENGTH,
  type HelloFrame,
  MIN_MAX_FRAME,
  MIN_MAX_MESSAGE,
  type WelcomeFrame,
} from '../../src/protocol/index.js';
import { floorHello } from './vectors.js';

function collect(decoder: Decoder, ...chunks: Buffer[]): { frames: Frame[]; errors: unknown[] } {
  const frames: Frame[] = [];
  const errors: unknown[] = [];
  for (const chunk of chunks) errors.push(decoder.push(chunk, (f) => frames.push(f)));
  return { frames, errors };
}

/** Where a DATA frame's flags byte is: after the header and the seq. */
const FLAGS_AT = HEADER_LENGTH + DATA_SEQ_LENGTH;

/** A HELLO (shared) and a WELCOME at the floors, for tests to vary. */
const hello = floorHello;
const welcome: WelcomeFrame = {
  type: 'welcome',
  interval: 5000,
  timeout: 15000,
  maxFrame: MIN_MAX_FRAME,
  maxMessage: MIN_MAX_MESSAGE,
  window: 0,
  resumed: false,
  lastReceived: 0,
  token: Buffer.alloc(16, 1),
  sessionId: 's-1',
};

/** Decodes `bytes` (frames, no preface) in one push. */
function decode(bytes: Buffer): { frames: Frame[]; error: DecodeError | undefined } {
  const frames: Frame[] = [];
  const error = new Decoder({ expectPreface: false }).push(bytes, (f) => frames.push(f));
  return { frames, error };
}

describe('Decoder', () => {
  it('refuses a frame over maxFrame from its header alone, holding no body bytes', () => {
    const decoder = new Decoder({ expectPreface: false, maxFrame: 100 });
    const header = encodeData(1, Buffer.alloc(101)).subarray(0, HEADER_LENGTH);
    const error = decoder.push(header, () => assert.fail('no frame expected'));
    assert.equal(error?.code, 'frame-too-large');
    assert.match(error.reason, /DATA frame declares a 108-byte payload; the limit is 100 bytes/);
    assert.equal(decoder.buffered, 0);
  });

  it('accepts a frame of exactly maxFrame payload bytes', () => {
    const decoder = new Decoder({ expectPreface: false, maxFrame: 107 });
    const { frames, errors } = collect(decoder, encodeData(1, Buffer.alloc(100)));
    assert.deepEqual(errors, [undefined]);
    assert.equal(frames.length, 1);
  });

  it('defaults to a 1 MiB limit and a preface', () => {
    const decoder = new Decoder();
    assert.equal(DEFAULT_MAX_FRAME, 1024 * 1024);
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
    const chunk = encodeFrame({ ...hello, token, credentials: Buffer.from('pw') });
    const { frames } = collect(new Decoder({ expectPreface: false }), chunk);
    const decoded = frames[0] as HelloFrame;
    chunk.fill(0);
    assert.deepEqual(decoded.token, token);
    assert.equal(decoded.credentials.toString(), 'pw');
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
      /expected the lifeline preface 4c 49 46 45 02, got 00 01 02/,
    );
    assert.match(reasonFor(Buffer.from('LIFE\x07'))!, /version 7; this end speaks only version 2/);
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

describe('version 2', () => {
  it('refuses a version 1 preface with unsupported-version at its fifth byte, reporting version 1', () => {
    const decoder = new Decoder();
    assert.equal(
      decoder.push(Buffer.from('LIFE'), () => assert.fail('no frame')),
      undefined,
    );
    const v1Hello = Buffer.from('010000001300000000000000000010000000000000000000', 'hex');
    const error = decoder.push(Buffer.concat([Buffer.from([1]), v1Hello]), () => assert.fail('no frame'));
    assert.deepEqual(error, {
      code: 'unsupported-version',
      reason: 'peer speaks lifeline protocol version 1; this end speaks only version 2',
      version: 1,
    });
    assert.equal(decoder.buffered, 0);
  });

  it('WINDOW is 11 bytes on the wire and carries its limit as a u48', () => {
    for (const limit of [0, 1, 16384, 4 * 1024 * 1024, 2 ** 48 - 1]) {
      const bytes = encodeWindow(limit);
      assert.equal(bytes.length, 11);
      assert.deepEqual(decode(bytes), { frames: [{ type: 'window', limit }], error: undefined });
    }
  });

  it('a WINDOW of any length but 6 is refused at its header, before its payload', () => {
    for (const length of [0, 5, 7, 12]) {
      const error = new Decoder({ expectPreface: false }).push(Buffer.from([0x08, 0, 0, 0, length]), () =>
        assert.fail('no frame'),
      );
      assert.equal(error?.code, 'protocol-error');
      assert.equal(error.reason, `WINDOW payload must be exactly 6 bytes, got ${length}`);
    }
  });

  it("DATA's END is bit 0 of its flags byte; the other bits are reserved and ignored", () => {
    const bytes = encodeData(9, Buffer.from('x'));
    assert.equal(bytes[FLAGS_AT], 0x01, 'an encoder writes END alone');
    assert.equal(encodeData(9, Buffer.from('x'), false)[FLAGS_AT], 0x00);
    for (let flags = 0; flags <= 0xff; flags++) {
      bytes[FLAGS_AT] = flags;
      const { frames, error } = decode(bytes);
      assert.equal(error, undefined);
      assert.deepEqual(frames, [{ type: 'data', seq: 9, end: (flags & 1) === 1, payload: Buffer.from('x') }]);
    }
  });

  it('refuses a DATA fragment without END and without bytes once it is whole; an empty END fragment is a message', () => {
    for (const flags of [0x00, 0xfe]) {
      const bytes = encodeData(3, Buffer.alloc(0), false);
      bytes[FLAGS_AT] = flags;
      const decoder = new Decoder({ expectPreface: false });
      assert.equal(
        decoder.push(bytes.subarray(0, bytes.length - 1), () => {}),
        undefined,
      );
      const error = decoder.push(bytes.subarray(bytes.length - 1), () => assert.fail('no frame'));
      assert.equal(error?.code, 'protocol-error');
      assert.equal(error.reason, 'DATA fragment without END carries no bytes');
    }
    assert.deepEqual(decode(encodeData(3, Buffer.alloc(0))).frames, [
      { type: 'data', seq: 3, end: true, payload: Buffer.alloc(0) },
    ]);
  });

  for (const base of [hello, welcome]) {
    const name = base.type.toUpperCase();
    for (const [field, floor] of [
      ['maxFrame', MIN_MAX_FRAME],
      ['maxMessage', MIN_MAX_MESSAGE],
    ] as const) {
      it(`${name}: ${field} at the floor of ${floor} is accepted, below it is a protocol-error`, () => {
        const atFloor = decode(encodeFrame({ ...base, [field]: floor }));
        assert.equal(atFloor.error, undefined);
        assert.equal((atFloor.frames[0] as HelloFrame | WelcomeFrame)[field], floor);
        for (const under of [0, 1, floor - 1]) {
          const { frames, error } = decode(encodeFrame({ ...base, [field]: under }));
          assert.equal(frames.length, 0);
          assert.equal(error?.code, 'protocol-error');
          assert.equal(error.reason, `${name} ${field} ${under} is below the floor of ${floor} bytes`);
        }
      });
    }
  }

  it('HELLO and WELCOME carry maxMessage and window, window 0 included', () => {
    for (const base of [hello, welcome]) {
      for (const [maxMessage, window] of [
        [MIN_MAX_MESSAGE, 0],
        [1024 * 1024, 4 * 1024 * 1024],
        [0xffff_ffff, 0xffff_ffff],
      ] as const) {
        const frame = { ...base, maxMessage, window };
        assert.deepEqual(decode(encodeFrame(frame)).frames, [frame]);
      }
    }
  });
});
