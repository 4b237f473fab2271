// Reassembly of frames that span chunks (issue 12, item 2): whatever the chunking, one byte per push included,
// the decoder holds one buffer per unfinished frame, reports how far that frame has come (partialBytes,
// partialTotal, for the transport's completion deadline), and survives an onFrame that throws.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import {
  DATA_PREFIX_LENGTH,
  Decoder,
  encodeData,
  encodeFrame,
  encodePing,
  encodePreface,
  type Frame,
  HEADER_LENGTH,
  PREFACE_LENGTH,
} from '../../src/protocol/index.js';
import { toJson } from './vectors.js';

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  // A fragment without END carries at least one byte.
  fc.boolean().chain((end) =>
    fc.record({
      type: fc.constant('data' as const),
      seq: fc.nat(1000),
      end: fc.constant(end),
      payload: fc.uint8Array({ minLength: end ? 0 : 1, maxLength: 700 }).map((a) => Buffer.from(a)),
    }),
  ),
  fc.record({ type: fc.constant('ack' as const), seq: fc.nat(1000) }),
  fc.record({ type: fc.constant('window' as const), limit: fc.nat() }),
  fc.record({ type: fc.constantFrom('ping' as const, 'pong' as const), id: fc.nat(), timestamp: fc.nat() }),
);

/** The stream cut into chunks: at arbitrary points, or one byte per chunk. */
function chunkings(buf: Buffer): fc.Arbitrary<Buffer[]> {
  const oneByte = Array.from({ length: buf.length }, (_, i) => buf.subarray(i, i + 1));
  return fc.oneof(
    fc.constant(oneByte),
    fc.array(fc.nat(buf.length), { maxLength: 40 }).map((cuts) => {
      const points = [...new Set([0, ...cuts, buf.length])].sort((a, b) => a - b);
      return points.slice(1).map((to, i) => buf.subarray(points[i], to));
    }),
  );
}

const streams = fc.array(frameArb, { minLength: 1, maxLength: 10 }).chain((frames) => {
  const encoded = frames.map(encodeFrame);
  return chunkings(Buffer.concat([encodePreface(), ...encoded])).map((chunks) => ({
    frames,
    encoded,
    chunks,
  }));
});

describe('Decoder reassembly', () => {
  it('partialBytes counts the unfinished frame (header included) and partialTotal its size, in any chunking', () => {
    fc.assert(
      fc.property(streams, ({ frames, encoded, chunks }) => {
        const decoder = new Decoder();
        const got: Frame[] = [];
        let pushed = 0;
        let deliveredBytes = PREFACE_LENGTH;
        for (const chunk of chunks) {
          assert.equal(
            decoder.push(chunk, (f) => {
              deliveredBytes += encoded[got.length]!.length;
              got.push(f);
            }),
            undefined,
          );
          pushed += chunk.length;
          if (pushed < PREFACE_LENGTH) {
            assert.equal(decoder.partialBytes, 0, 'the preface is not a frame');
            continue;
          }
          const expected = pushed - deliveredBytes;
          assert.equal(decoder.partialBytes, expected, 'bytes of the unfinished frame');
          const next = encoded[got.length];
          if (expected >= HEADER_LENGTH) assert.equal(decoder.partialTotal, next!.length);
          else assert.equal(decoder.partialTotal, 0, 'the size is not known before the header');
          assert.equal(decoder.idle, expected === 0);
          assert.ok(decoder.buffered <= expected);
        }
        assert.deepEqual(got.map(toJson), frames.map(toJson));
        assert.equal(decoder.partialBytes, 0);
      }),
      { numRuns: 300 },
    );
  });

  it('a throwing onFrame loses nothing: the next pushes deliver every later frame, in order, in any chunking', () => {
    const input = streams.chain((s) =>
      fc.record({ throwAt: fc.subarray(s.frames.map((_, i) => i)) }).map((t) => ({ ...s, ...t })),
    );
    fc.assert(
      fc.property(input, ({ frames, chunks, throwAt }) => {
        const decoder = new Decoder();
        const got: Frame[] = [];
        const willThrow = new Set(throwAt);
        const onFrame = (f: Frame) => {
          const index = got.length;
          got.push(f);
          if (willThrow.delete(index)) throw new Error(`listener bug at ${index}`);
        };
        for (const chunk of [...chunks, Buffer.alloc(0)]) {
          // An empty chunk is ignored; the last push (a PING) flushes whatever a throw left unread.
          try {
            decoder.push(chunk, onFrame);
          } catch (err) {
            assert.match((err as Error).message, /listener bug/);
          }
        }
        for (let i = 0; i < throwAt.length + 1; i++) {
          try {
            decoder.push(encodePing(9, 9), onFrame);
          } catch {
            // a throw on a flushed frame: the next round reads on
          }
        }
        const sent = got.slice(0, frames.length);
        assert.deepEqual(sent.map(toJson), frames.map(toJson));
      }),
      { numRuns: 200 },
    );
  });

  it('Decoder.holding() copies the incomplete frame out, keeping no reference to the chunk', () => {
    const data = encodeData(3, Buffer.from('a frame cut by the end of its chunk'));
    const chunk = Buffer.concat([encodePing(1, 1), data.subarray(0, 12)]);
    const decoder = Decoder.holding(chunk, 13, 1024);
    chunk.fill(0); // were it kept, the payload would read as zeros
    const frames: Frame[] = [];
    assert.equal(
      decoder.push(Buffer.from(data.subarray(12)), (f) => frames.push(f)),
      undefined,
    );
    assert.equal(
      (frames[0] as Extract<Frame, { type: 'data' }>).payload.toString(),
      'a frame cut by the end of its chunk',
    );
  });

  it('Decoder.holding() returns a bad header in the rest as the next push', () => {
    const decoder = Decoder.holding(Buffer.from([0x7f, 0, 0, 0, 99, 1]), 0, 1024);
    assert.equal(decoder.push(Buffer.from([1]), () => assert.fail('no frame'))?.code, 'protocol-error');
  });

  it('trickling a 1 MiB frame one byte per push holds about the frame, not an object per byte', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const size = 1024 * 1024;
    const frame = encodeData(1, Buffer.alloc(size - DATA_PREFIX_LENGTH, 0x42));
    const held = () => {
      gc();
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const decoder = new Decoder({ expectPreface: false, maxFrame: size });
    const before = held();
    // Pushed one byte at a time as its own Buffer, as a socket hands over a segment per byte; the source's
    // bytes are read back from a number so that no slice of `frame` keeps it alive either.
    const half = frame.length >> 1;
    for (let i = 0; i < half; i++) decoder.push(Buffer.from([frame[i]!]), noFrame);
    const grown = held() - before;
    // One payload buffer (size bytes) plus slack for the collector's own bookkeeping. The decoder that
    // kept every chunk held ~150 bytes per byte received: ~80 MB at this point.
    const bound = size + 256 * 1024;
    assert.ok(grown < bound, `trickling ${half} bytes grew memory by ${grown} bytes; bound ${bound}`);
    assert.equal(decoder.partialBytes, half);
    assert.equal(decoder.partialTotal, frame.length);
    let delivered: Frame | undefined;
    for (let i = half; i < frame.length; i++) {
      decoder.push(Buffer.from([frame[i]!]), (f) => {
        delivered = f;
      });
    }
    assert.equal((delivered as Extract<Frame, { type: 'data' }>).payload.length, size - DATA_PREFIX_LENGTH);
    assert.equal(decoder.partialBytes, 0);
  });
});

function noFrame(): void {
  assert.fail('the frame is not complete yet');
}
