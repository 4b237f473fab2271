// Property-based tests (fast-check): whatever the peer sends and however the network cuts it, the decoder
// returns the frames that were sent or one error, never throws, and holds at most one frame's worth of bytes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DATA_SEQ_LENGTH,
  type DecodeError,
  Decoder,
  encodeData,
  encodeFrame,
  encodePreface,
  type Frame,
  FrameType,
  GoawayCode,
  goawayName,
  HEADER_LENGTH,
  MAX_SEQ,
  MIN_MAX_FRAME,
  MIN_MAX_MESSAGE,
  PREFACE_LENGTH,
  TOKEN_LENGTH,
} from '../../src/protocol/index.js';
import { toJson } from './vectors.js';

const U32_MAX = 0xffff_ffff;

/** 0..max for max up to 2^48, with the edges drawn often. */
function uint(max: number): fc.Arbitrary<number> {
  const wide = fc.double({ min: 0, max: 1, noNaN: true }).map((f) => Math.floor(f * max));
  return fc.oneof(fc.constantFrom(0, 1, max - 1, max), fc.nat(Math.min(max, 1000)), wide);
}

/** min..max, with the edges drawn often. */
function uintIn(min: number, max: number): fc.Arbitrary<number> {
  return uint(max - min).map((n) => n + min);
}

const bytes = (maxLength: number, minLength = 0) =>
  fc.uint8Array({ minLength, maxLength }).map((a) => Buffer.from(a));
const token = fc.oneof(
  fc.constant(Buffer.alloc(0)),
  fc.uint8Array({ minLength: TOKEN_LENGTH, maxLength: TOKEN_LENGTH }).map((a) => Buffer.from(a)),
);
const text = fc.string({ unit: 'binary', maxLength: 24 });

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({
    type: fc.constant('hello' as const),
    interval: uint(U32_MAX),
    timeout: uint(U32_MAX),
    maxFrame: uintIn(MIN_MAX_FRAME, U32_MAX),
    maxMessage: uintIn(MIN_MAX_MESSAGE, U32_MAX),
    window: uint(U32_MAX),
    lastReceived: uint(MAX_SEQ),
    token,
    credentials: bytes(40),
  }),
  fc.record({
    type: fc.constant('welcome' as const),
    interval: uint(U32_MAX),
    timeout: uint(U32_MAX),
    maxFrame: uintIn(MIN_MAX_FRAME, U32_MAX),
    maxMessage: uintIn(MIN_MAX_MESSAGE, U32_MAX),
    window: uint(U32_MAX),
    resumed: fc.boolean(),
    lastReceived: uint(MAX_SEQ),
    token,
    sessionId: text,
  }),
  fc.record({
    type: fc.constantFrom('ping' as const, 'pong' as const),
    id: uint(U32_MAX),
    timestamp: uint(U32_MAX),
  }),
  // A fragment without END carries at least one byte.
  fc.boolean().chain((end) =>
    fc.record({
      type: fc.constant('data' as const),
      seq: uint(MAX_SEQ),
      end: fc.constant(end),
      payload: bytes(300, end ? 0 : 1),
    }),
  ),
  fc.record({ type: fc.constant('ack' as const), seq: uint(MAX_SEQ) }),
  fc.record({ type: fc.constant('window' as const), limit: uint(MAX_SEQ) }),
  uint(0xffff).chain((code) =>
    fc.record({
      type: fc.constant('goaway' as const),
      code: fc.constant(code),
      name: fc.constant(goawayName(code)),
      lastReceived: uint(MAX_SEQ),
      reason: text,
    }),
  ),
);

/** Cuts `buf` at arbitrary offsets (possibly none, possibly every byte). */
function chunked(buf: Buffer): fc.Arbitrary<Buffer[]> {
  return fc.oneof(
    fc.array(fc.nat(buf.length), { maxLength: 20 }).map((cuts) => cutAt(buf, cuts)),
    fc.constant(
      cutAt(
        buf,
        Array.from({ length: buf.length }, (_, i) => i),
      ),
    ),
  );
}

function cutAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set([0, ...cuts, buf.length])].sort((a, b) => a - b);
  return points.slice(1).map((to, i) => buf.subarray(points[i], to));
}

interface Run {
  frames: Frame[];
  errors: (DecodeError | undefined)[];
  maxBuffered: number;
  deliveredAfterError: number;
}

/** Pushes every chunk (also after an error, as a careless caller might) and records what came out. */
function run(decoder: Decoder, chunks: Buffer[]): Run {
  const out: Run = { frames: [], errors: [], maxBuffered: 0, deliveredAfterError: 0 };
  let failed = false;
  for (const chunk of chunks) {
    const error = decoder.push(chunk, (f) => {
      if (failed) out.deliveredAfterError++;
      out.frames.push(f);
    });
    if (error) failed = true;
    out.errors.push(error);
    out.maxBuffered = Math.max(out.maxBuffered, decoder.buffered);
  }
  return out;
}

const firstError = (r: Run) => r.errors.find((e) => e !== undefined);

describe('decoder properties', () => {
  it('(a) any sequence of frames, encoded and cut anywhere, decodes to the same frames', () => {
    const streams = fc.array(frameArb, { maxLength: 12 }).chain((frames) =>
      chunked(Buffer.concat([encodePreface(), ...frames.map(encodeFrame)])).map((chunks) => ({
        frames,
        chunks,
      })),
    );
    fc.assert(
      fc.property(streams, ({ frames, chunks }) => {
        const result = run(new Decoder({ maxFrame: U32_MAX }), chunks);
        assert.equal(firstError(result), undefined);
        assert.deepEqual(result.frames.map(toJson), frames.map(toJson));
        const largest = Math.max(PREFACE_LENGTH, ...frames.map((f) => encodeFrame(f).length));
        assert.ok(result.maxBuffered < largest, 'holds less than one frame between pushes');
      }),
      { numRuns: 300 },
    );
  });

  it('(b) arbitrary bytes never throw, memory stays within one frame, and nothing follows an error', () => {
    // Valid frames first, so that the random tail lands in every decoder state, not only the preface.
    const input = fc.record({
      maxFrame: fc.oneof(fc.nat(64), fc.nat(1 << 20)),
      expectPreface: fc.boolean(),
      prefix: fc.array(frameArb, { maxLength: 3 }),
      tail: bytes(512),
      cuts: fc.array(fc.nat(2000), { maxLength: 30 }),
    });
    fc.assert(
      fc.property(input, ({ maxFrame, expectPreface, prefix, tail, cuts }) => {
        const head = expectPreface ? [encodePreface()] : [];
        const all = Buffer.concat([...head, ...prefix.map(encodeFrame), tail]);
        const decoder = new Decoder({ maxFrame, expectPreface });
        const result = run(
          decoder,
          cutAt(
            all,
            cuts.map((c) => c % (all.length + 1)),
          ),
        );
        assert.ok(result.maxBuffered <= maxFrame + HEADER_LENGTH, `held ${result.maxBuffered} bytes`);
        assert.equal(result.deliveredAfterError, 0);
        const error = firstError(result);
        if (error) {
          const at = result.errors.indexOf(error);
          for (const later of result.errors.slice(at)) assert.equal(later, error);
          assert.equal(decoder.buffered, 0);
          assert.equal(
            decoder.push(Buffer.from([1, 2, 3]), () => assert.fail('delivered after error')),
            error,
          );
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('(c) a header claiming more than maxFrame is refused before any body byte is sent', () => {
    const types = Object.values(FrameType);
    const input = fc.record({
      maxFrame: fc.nat(1 << 20),
      type: fc.constantFrom(...types),
      excess: uint(U32_MAX),
      before: fc.array(
        frameArb.filter((f) => f.type !== 'data' || f.payload.length < 50),
        { maxLength: 3 },
      ),
      oneByteAtATime: fc.boolean(),
    });
    fc.assert(
      fc.property(input, ({ maxFrame, type, excess, before, oneByteAtATime }) => {
        const length = Math.min(U32_MAX, maxFrame + 1 + excess);
        const header = Buffer.alloc(HEADER_LENGTH);
        header[0] = type;
        header.writeUInt32BE(length, 1);
        const decoder = new Decoder({ maxFrame: U32_MAX });
        const lead = Buffer.concat([encodePreface(), ...before.map(encodeFrame)]);
        assert.equal(
          decoder.push(lead, () => {}),
          undefined,
        );
        decoder.maxFrame = maxFrame;
        const chunks = oneByteAtATime ? cutAt(header, [1, 2, 3, 4]) : [header];
        const result = run(decoder, chunks);
        assert.equal(result.errors.at(-1)?.code, 'frame-too-large');
        assert.ok(
          result.errors.slice(0, -1).every((e) => e === undefined),
          'refused only once the header is complete',
        );
        assert.equal(decoder.buffered, 0);
      }),
    );
  });

  it('(d) bytes that do not start with the magic are refused at the first wrong byte', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }).filter((a) => a[0] !== 0x4c),
        (garbage) => {
          const decoder = new Decoder();
          const error = decoder.push(Buffer.from(garbage.subarray(0, 1)), () => assert.fail('no frame'));
          assert.equal(error?.code, 'protocol-error');
        },
      ),
    );
    fc.assert(
      fc.property(fc.nat(3), fc.integer({ min: 0, max: 255 }), (matched, wrong) => {
        fc.pre(wrong !== 'LIFE'.charCodeAt(matched));
        const input = Buffer.concat([Buffer.from('LIFE').subarray(0, matched), Buffer.from([wrong])]);
        const result = run(new Decoder(), cutAt(input, [matched]));
        assert.deepEqual(
          result.errors.map((e) => e?.code),
          matched === 0 ? ['protocol-error'] : [undefined, 'protocol-error'],
        );
      }),
    );
  });

  it('(d) an HTTP request is refused with looksLikeHttp however it is cut', () => {
    const request = fc
      .record({
        method: fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'OPTIONS', 'DELETE', 'PATCH', 'CONNECT'),
        path: fc.webPath(),
        host: fc.domain(),
      })
      .map(({ method, path, host }) =>
        Buffer.from(`${method} /${path.replace(/^\//, '')} HTTP/1.1\r\nHost: ${host}\r\n\r\n`),
      );
    fc.assert(
      fc.property(request.chain(chunked), (chunks) => {
        const result = run(new Decoder(), chunks);
        const error = firstError(result);
        assert.equal(error?.code, 'protocol-error');
        assert.equal(error?.looksLikeHttp, true);
        assert.equal(result.errors[0], error, 'refused on the first chunk');
        assert.equal(result.frames.length, 0);
      }),
    );
  });

  it('(e) a HELLO or WELCOME is refused exactly when its maxFrame or maxMessage is under the floor', () => {
    const input = fc.record({
      frame: frameArb.filter((f) => f.type === 'hello' || f.type === 'welcome'),
      maxFrame: fc.oneof(uintIn(MIN_MAX_FRAME - 2, MIN_MAX_FRAME + 1), uint(U32_MAX)),
      maxMessage: fc.oneof(uintIn(MIN_MAX_MESSAGE - 2, MIN_MAX_MESSAGE + 1), uint(U32_MAX)),
    });
    fc.assert(
      fc.property(input, ({ frame, maxFrame, maxMessage }) => {
        const sent = { ...frame, maxFrame, maxMessage } as Frame;
        const result = run(new Decoder({ expectPreface: false, maxFrame: U32_MAX }), [encodeFrame(sent)]);
        const name = sent.type.toUpperCase();
        const error = firstError(result);
        if (maxFrame < MIN_MAX_FRAME) {
          assert.equal(
            error?.reason,
            `${name} maxFrame ${maxFrame} is below the floor of ${MIN_MAX_FRAME} bytes`,
          );
        } else if (maxMessage < MIN_MAX_MESSAGE) {
          assert.equal(
            error?.reason,
            `${name} maxMessage ${maxMessage} is below the floor of ${MIN_MAX_MESSAGE} bytes`,
          );
        } else {
          assert.equal(error, undefined);
          assert.deepEqual(result.frames.map(toJson), [toJson(sent)]);
          return;
        }
        assert.equal(error.code, 'protocol-error');
        assert.equal(result.frames.length, 0);
      }),
      { numRuns: 300 },
    );
  });

  it('(f) DATA with any flags byte: END is bit 0, and only a fragment without END and without bytes is refused', () => {
    const input = fc.record({
      seq: uint(MAX_SEQ),
      flags: fc.nat(0xff),
      payload: bytes(20),
      oneByte: fc.boolean(),
    });
    fc.assert(
      fc.property(input, ({ seq, flags, payload, oneByte }) => {
        const wire = encodeData(seq, payload);
        wire[HEADER_LENGTH + DATA_SEQ_LENGTH] = flags; // the flags byte follows the seq
        const chunks = oneByte
          ? cutAt(
              wire,
              Array.from({ length: wire.length }, (_, i) => i),
            )
          : [wire];
        const result = run(new Decoder({ expectPreface: false }), chunks);
        const end = (flags & 1) === 1;
        if (!end && payload.length === 0) {
          assert.equal(firstError(result)?.reason, 'DATA fragment without END carries no bytes');
          assert.equal(result.frames.length, 0);
        } else {
          assert.equal(firstError(result), undefined);
          assert.deepEqual(result.frames, [{ type: 'data', seq, end, payload }]);
        }
      }),
    );
  });

  it('a GOAWAY code maps to its name, and unknown codes read as protocol-error', () => {
    for (const [name, code] of Object.entries(GoawayCode)) assert.equal(goawayName(code), name);
    const highest = Math.max(...Object.values(GoawayCode));
    fc.assert(
      fc.property(fc.integer({ min: highest + 1, max: 0xffff }), (code) => {
        assert.equal(goawayName(code), 'protocol-error');
      }),
    );
  });
});
