// Every vector in test/vectors/frames.json: decodes to its frame, encodes back to its bytes, in any chunking;
// every invalid input is refused with its stated error and reason, as early as the vectors say, however it is
// cut. The file covers every frame type, every GOAWAY code and every refusal the decoder makes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type DecodeError,
  Decoder,
  encodeFrame,
  encodePreface,
  type Frame,
  FrameType,
  GoawayCode,
  MAGIC,
  VERSION,
} from '../../src/protocol/index.js';
import { HTTP_METHODS } from '../../src/protocol/layout.js';
import { INVALID_DEFAULTS, type InvalidVector, toJson, vectors } from './vectors.js';

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

/** One push, every cut into two pieces, and one byte at a time. */
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

const typeByte = (hex: string, afterPreface: boolean) =>
  Number.parseInt(hex.slice(afterPreface ? 10 : 0, afterPreface ? 12 : 2), 16);

describe('protocol vectors', () => {
  it('are for this version, and the preface vector is what encodePreface() writes', () => {
    assert.equal(vectors.version, VERSION);
    assert.equal(vectors.preface.version, VERSION);
    assert.equal(encodePreface().toString('hex'), vectors.preface.hex);
    assert.equal(
      Buffer.from(vectors.preface.hex, 'hex').subarray(0, 4).toString('ascii'),
      vectors.preface.magic,
    );
  });

  it('cover every frame type, every GOAWAY code, and DATA with and without END', () => {
    const types = new Set(vectors.frames.map((v) => v.frame.type));
    assert.deepEqual(
      [...types].sort(),
      Object.keys(FrameType)
        .map((name) => name.toLowerCase())
        .sort(),
    );
    const codes = new Set(vectors.frames.filter((v) => v.frame.type === 'goaway').map((v) => v.frame.code));
    for (const [name, code] of Object.entries(GoawayCode)) assert.ok(codes.has(code), `no GOAWAY ${name}`);
    const data = vectors.frames.filter((v) => v.frame.type === 'data');
    assert.ok(data.some((v) => v.frame.end === false));
    assert.ok(data.some((v) => v.frame.end === true && v.frame.payload === ''));
  });

  it('refuse a wrong length of every frame type, and the version 1 preface', () => {
    for (const [name, code] of Object.entries(FrameType)) {
      const found = vectors.invalid.some(
        (v) =>
          typeByte(v.hex, v.options?.expectPreface ?? INVALID_DEFAULTS.expectPreface) === code &&
          v.error.reason.startsWith(`${name} payload must be`),
      );
      assert.ok(found, `no wrong-length vector for ${name}`);
    }
    const v1 = vectors.invalid.find((v) => v.hex.startsWith(`${MAGIC.toString('hex')}01`));
    assert.equal(v1?.error.code, 'unsupported-version');
    assert.equal(v1?.error.version, 1);
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
    it(`${v.name}: is accepted in any chunking, decodes to its frame, and encodes otherwise`, () => {
      const bytes = Buffer.from(v.hex, 'hex');
      for (const cuts of everySplit(bytes.length)) {
        const how = describeCuts(cuts, bytes.length);
        const { frames, error } = decodeIn(bytes, cuts);
        assert.equal(error, undefined, how);
        assert.equal(frames.length, 1, how);
        assert.deepEqual(toJson(frames[0]!), v.frame, how);
      }
      const [frame] = decodeIn(bytes, []).frames;
      assert.notEqual(encodeFrame(frame!).toString('hex'), v.hex, 'an encoder never writes it');
    });
  }

  for (const v of vectors.invalid) {
    it(`${v.name}: is refused with ${v.error.code} after ${v.errorAfterBytes} bytes, in any chunking`, () => {
      checkInvalid(v);
    });
  }
});

/**
 * Whether the first piece of an input, cut before the input showed it is not HTTP, still reads as the start
 * of an HTTP request line: a strict prefix of "METHOD " (the decoder decides on the first piece alone).
 */
function startsLikeHttp(piece: Buffer): boolean {
  const text = piece.toString('latin1');
  return HTTP_METHODS.some((m) => text.length < m.length + 1 && `${m} `.startsWith(text));
}

function checkInvalid(v: InvalidVector): void {
  const bytes = Buffer.from(v.hex, 'hex');
  const options = { ...INVALID_DEFAULTS, ...v.options };
  const fresh = () => new Decoder(options);
  // A wrong magic byte's reason quotes the bytes at hand, which depend on the cut; every other reason does not.
  const wrongMagic =
    options.expectPreface && v.error.code === 'protocol-error' && v.errorAfterBytes <= MAGIC.length;

  const whole = decodeIn(bytes, [], fresh());
  assert.equal(whole.error?.code, v.error.code, whole.error?.reason ?? 'no error');
  assert.equal(whole.error.reason, v.error.reason);
  assert.equal(whole.error.looksLikeHttp ?? false, v.error.looksLikeHttp ?? false);
  assert.equal(whole.error.version, v.error.version);
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
    assert.equal(error.version, v.error.version, how);
    assert.equal(frames.length, v.framesBefore, how);
    if (wrongMagic) assert.ok(error.reason.length > 0, how);
    else assert.equal(error.reason, v.error.reason, how);
    // A prefix of an HTTP request line still looks like HTTP, however it is cut; other input looks like it
    // only when its first piece is a prefix of a method and a space.
    const firstPiece = bytes.subarray(0, cuts[0] ?? bytes.length);
    const http = v.error.looksLikeHttp === true || (v.errorAfterBytes === 1 && startsLikeHttp(firstPiece));
    assert.equal(error.looksLikeHttp ?? false, http, how);
  }
}
