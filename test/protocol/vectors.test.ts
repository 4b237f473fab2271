// Every vector in test/vectors/frames.json: decodes to its frame, encodes back to its bytes, in any chunking;
// every invalid input is refused with its stated error, as early as the vectors say.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type DecodeError,
  Decoder,
  encodeFrame,
  encodePreface,
  type Frame,
} from '../../src/protocol/index.js';
import { type InvalidVector, toJson, vectors } from './vectors.js';

interface Outcome {
  frames: Frame[];
  error: DecodeError | undefined;
}

/** Feeds `bytes` cut at the given offsets; stops at the first error, as a session would. */
function decodeIn(bytes: Buffer, cuts: number[], decoder = new Decoder({ expectPreface: false })): Outcome {
  const frames: Frame[] = [];
  let error: DecodeError | undefined;
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    error = decoder.push(bytes.subarray(from, to), (f) => frames.push(f));
    if (error) break;
    from = to;
  }
  return { frames, error };
}

function everySplit(length: number): number[][] {
  const splits: number[][] = [[]];
  for (let at = 1; at < length; at++) splits.push([at]);
  splits.push(Array.from({ length: Math.max(0, length - 1) }, (_, i) => i + 1));
  return splits;
}

function describeCuts(cuts: number[], length: number): string {
  if (cuts.length === 0) return 'one push';
  return cuts.length === length - 1 ? 'one byte at a time' : `split at ${cuts.join(',')}`;
}

describe('protocol vectors', () => {
  it('the preface vector is what encodePreface() writes', () => {
    assert.equal(encodePreface().toString('hex'), vectors.preface.hex);
    assert.equal(
      Buffer.from(vectors.preface.hex, 'hex').subarray(0, 4).toString('ascii'),
      vectors.preface.magic,
    );
  });

  it('covers every frame type', () => {
    const types = new Set(vectors.frames.map((v) => v.frame.type));
    assert.deepEqual([...types].sort(), ['ack', 'data', 'goaway', 'hello', 'ping', 'pong', 'welcome']);
  });

  for (const v of vectors.frames) {
    it(`${v.name}: decodes to its frame in any chunking and encodes back to its bytes`, () => {
      const bytes = Buffer.from(v.hex, 'hex');
      for (const cuts of everySplit(bytes.length)) {
        const { frames, error } = decodeIn(bytes, cuts);
        const how = describeCuts(cuts, bytes.length);
        assert.equal(error, undefined, `${how}: ${error?.reason}`);
        assert.equal(frames.length, 1, how);
        assert.deepEqual(toJson(frames[0]!), v.frame, how);
        assert.equal(encodeFrame(frames[0]!).toString('hex'), v.hex, how);
      }
    });
  }

  it('all frame vectors back to back after a preface decode in order, in one push and byte by byte', () => {
    const bytes = Buffer.from(vectors.preface.hex + vectors.frames.map((v) => v.hex).join(''), 'hex');
    for (const cuts of [[], Array.from({ length: bytes.length - 1 }, (_, i) => i + 1)]) {
      const { frames, error } = decodeIn(bytes, cuts, new Decoder());
      assert.equal(error, undefined);
      assert.deepEqual(
        frames.map((f) => toJson(f)),
        vectors.frames.map((v) => v.frame),
      );
    }
  });

  for (const v of vectors.nonCanonical) {
    it(`${v.name}: is accepted and decodes to its frame`, () => {
      const bytes = Buffer.from(v.hex, 'hex');
      for (const cuts of everySplit(bytes.length)) {
        const { frames, error } = decodeIn(bytes, cuts);
        assert.equal(error, undefined);
        assert.deepEqual(toJson(frames[0]!), v.frame);
      }
    });
  }

  for (const v of vectors.invalid) {
    it(`${v.name}: is refused with ${v.error.code} after ${v.errorAfterBytes} bytes, in any chunking`, () => {
      checkInvalid(v);
    });
  }
});

function checkInvalid(v: InvalidVector): void {
  const bytes = Buffer.from(v.hex, 'hex');
  const fresh = () => new Decoder({ expectPreface: true, ...v.options });

  const whole = decodeIn(bytes, [], fresh());
  assert.equal(whole.error?.code, v.error.code, whole.error?.reason ?? 'no error');
  assert.equal(whole.error?.looksLikeHttp ?? false, v.error.looksLikeHttp ?? false);
  assert.equal(whole.error?.version, v.error.version);
  assert.ok(whole.error.reason.length > 0);
  assert.equal(whole.frames.length, v.framesBefore);

  // Refused exactly when the offending byte arrives, not later and not sooner.
  const early = decodeIn(bytes.subarray(0, v.errorAfterBytes - 1), [], fresh());
  assert.equal(early.error, undefined, `refused before byte ${v.errorAfterBytes}: ${early.error?.reason}`);
  const atOnce = decodeIn(bytes.subarray(0, v.errorAfterBytes), [], fresh());
  assert.equal(atOnce.error?.code, v.error.code, `not refused after ${v.errorAfterBytes} bytes`);

  for (const cuts of everySplit(bytes.length)) {
    const how = describeCuts(cuts, bytes.length);
    const { frames, error } = decodeIn(bytes, cuts, fresh());
    assert.equal(error?.code, v.error.code, how);
    assert.equal(frames.length, v.framesBefore, how);
    // A prefix of an HTTP request line still looks like HTTP, however it is cut.
    if (v.error.looksLikeHttp) assert.equal(error?.looksLikeHttp, true, how);
  }
}
