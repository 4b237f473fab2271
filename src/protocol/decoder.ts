// The streaming decoder: bytes in any chunking in, whole frames out, with every limit checked the moment it
// can be (a frame's length before a byte of its body is buffered). Pure: no sockets, no timers, no clock.
// It never throws for anything a peer sends: bad input becomes one DecodeError value, returned for good.
//
// After ws's lib/receiver.js: named states, a list of the chunks pushed, and a copy only when a frame spans
// chunks; a frame inside one chunk is read in place and its DATA payload is a view of that chunk.
import {
  DEFAULT_MAX_FRAME,
  FrameType,
  type FrameTypeCode,
  HEADER_LENGTH,
  MAGIC,
  MAX_FRAME_CEILING,
  PREFACE_LENGTH,
  VERSION,
} from './constants.js';
import type { Frame } from './frames.js';
import {
  checkUint,
  describePayloadLength,
  FRAME_TYPE_NAMES,
  HeaderOffset,
  isKnownFrameType,
  isValidPayloadLength,
} from './layout.js';
import { parseFrame } from './parse.js';
import { describeBadPreface, describeBadVersion, looksLikeHttp, SNIFF_LENGTH } from './refusal.js';

/**
 * Why the input was refused. `code` is also the GOAWAY code name to answer with (see GoawayCode), except
 * that a peer whose first bytes look like HTTP (`looksLikeHttp`) is best answered with encodeHttpRefusal().
 */

/** Room to reassemble a header split across chunks; one for all decoders, since decoding is synchronous. */
const HEADER_SCRATCH = Buffer.alloc(HEADER_LENGTH);
export interface DecodeError {
  code: 'protocol-error' | 'frame-too-large' | 'unsupported-version';
  /** What was wrong, for logs and the GOAWAY reason. */
  reason: string;
  /** Set (true) when the preface was wrong and the first bytes look like an HTTP request. */
  looksLikeHttp?: boolean;
  /** The version byte the peer's preface carried, with 'unsupported-version'. */
  version?: number;
}

export interface DecoderOptions {
  /**
   * Largest frame payload accepted, in bytes (0..MAX_FRAME_CEILING). A frame that declares more is refused
   * with 'frame-too-large' as soon as its header is read. Default DEFAULT_MAX_FRAME (1 MiB): large enough for
   * any message worth keeping in memory, small enough that a hostile peer cannot make us hold much.
   */
  maxFrame?: number;
  /** Whether the input starts with the 5-byte preface ("LIFE" + version). Default true. */
  expectPreface?: boolean;
}

const State = { PREFACE: 0, HEADER: 1, PAYLOAD: 2, FAILED: 3 } as const;
type State = (typeof State)[keyof typeof State];

export class Decoder {
  #state: State;
  #maxFrame: number;
  /** Chunks pushed and not yet consumed; the first one's bytes before #offset are already consumed. */
  #chunks: Buffer[] = [];
  #offset = 0;
  #buffered = 0;
  /** PREFACE: how many preface bytes matched so far. */
  #prefaceMatched = 0;
  /** PAYLOAD: the type and payload length from the header being completed. */
  #type: FrameTypeCode = FrameType.HELLO;
  #length = 0;
  /** A header split across chunks is gathered here, so that reading one allocates nothing. */
  #error: DecodeError | undefined;

  constructor(options: DecoderOptions = {}) {
    this.#maxFrame = checkMaxFrame(options.maxFrame ?? DEFAULT_MAX_FRAME);
    this.#state = (options.expectPreface ?? true) ? State.PREFACE : State.HEADER;
  }

  /**
   * A decoder for a stream that was decoded with decodeWhole() up to `at` in `chunk`, where an incomplete
   * frame begins: it holds the rest and takes the next chunks with push().
   */
  static holding(chunk: Buffer, at: number, maxFrame: number): Decoder {
    const decoder = new Decoder({ maxFrame, expectPreface: false });
    decoder.#hold(chunk, at);
    return decoder;
  }

  /**
   * True at a frame boundary (the preface read) with nothing held: an owner may then drop this decoder and
   * go on with decodeWhole() until a chunk ends inside a frame.
   */
  get idle(): boolean {
    return this.#buffered === 0 && this.#state === State.HEADER;
  }

  /** Bytes held waiting for the rest of a frame (or of the preface): for memory accounting and tests. */
  get buffered(): number {
    return this.#buffered;
  }

  /** The largest payload accepted from the next frame header on, e.g. the limit agreed in the handshake. */
  get maxFrame(): number {
    return this.#maxFrame;
  }

  set maxFrame(n: number) {
    this.#maxFrame = checkMaxFrame(n);
  }

  /**
   * Feeds bytes; calls onFrame for each complete frame, in order; returns a DecodeError the moment the input
   * is known bad, after which every push returns the same error and delivers nothing. Never throws for any
   * input (only what onFrame itself throws passes through, and the decoder stays consistent for the next
   * push). A DATA payload may be a view of `chunk`, so a chunk must not be reused once pushed (Node gives each
   * 'data' event its own Buffer). onFrame must not call push on the same decoder. It is called with `context`
   * as `this`, so that one shared function can serve thousands of decoders without a closure each.
   */
  push<C = undefined>(
    chunk: Buffer,
    onFrame: (this: C, frame: Frame) => void,
    context?: C,
  ): DecodeError | undefined {
    if (this.#error !== undefined) return this.#error;
    if (chunk.length === 0) return undefined;
    if (this.idle) {
      // At a frame boundary with nothing held: frames whole in this chunk are read in place.
      let end: number | DecodeError;
      try {
        end = decodeWhole(chunk, 0, this, onFrame, context as C);
      } catch (err) {
        this.#hold(chunk, decodedUpTo); // what onFrame threw past is read by the next push
        throw err;
      }
      if (typeof end !== 'number') {
        this.#fail(end);
        return end;
      }
      this.#hold(chunk, end);
      return undefined;
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    for (;;) {
      switch (this.#state) {
        case State.PREFACE:
          if (!this.#readPreface()) return this.#error;
          break;
        case State.HEADER:
          if (!this.#readHeader()) return this.#error;
          break;
        case State.PAYLOAD:
          if (!this.#readPayload(onFrame, context as C)) return this.#error;
          break;
        case State.FAILED:
          return this.#error;
      }
    }
  }

  /** Matches the preface byte by byte, so a wrong first byte is refused without waiting for five. */
  #readPreface(): boolean {
    while (this.#prefaceMatched < PREFACE_LENGTH) {
      if (this.#buffered === 0) return false;
      const chunk = this.#chunks[0]!;
      const byte = chunk[this.#offset]!;
      if (this.#prefaceMatched < MAGIC.length) {
        if (byte !== MAGIC[this.#prefaceMatched]) return this.#badPreface();
      } else if (byte !== VERSION) {
        return this.#fail({ code: 'unsupported-version', reason: describeBadVersion(byte), version: byte });
      }
      this.#prefaceMatched++;
      this.#consume(1);
    }
    this.#state = State.HEADER;
    return true;
  }

  #badPreface(): false {
    // Bytes that matched "LIFE" are gone, and no HTTP method starts with "L": only a peer that got the very
    // first byte wrong can be an HTTP client.
    const head = this.#peek(SNIFF_LENGTH);
    const http = this.#prefaceMatched === 0 && looksLikeHttp(head);
    const error: DecodeError = { code: 'protocol-error', reason: describeBadPreface(head, http) };
    if (http) error.looksLikeHttp = true;
    return this.#fail(error);
  }

  /** Reads type and length, and refuses an unknown type or a bad length before any body byte is awaited. */
  #readHeader(): boolean {
    if (this.#buffered < HEADER_LENGTH) return false;
    let buf = this.#chunks[0]!;
    let at = this.#offset;
    if (buf.length - at >= HEADER_LENGTH) {
      this.#consume(HEADER_LENGTH);
    } else {
      buf = HEADER_SCRATCH; // shared: used and read within this call only
      at = 0;
      this.#copyOut(buf, HEADER_LENGTH);
    }
    const type = buf[at + HeaderOffset.type]!;
    const length = buf.readUInt32BE(at + HeaderOffset.length);
    const error = checkHeader(type, length, this.#maxFrame);
    if (error !== undefined) return this.#fail(error);
    this.#type = type as FrameTypeCode;
    this.#length = length;
    this.#state = State.PAYLOAD;
    return true;
  }

  #readPayload<C>(onFrame: (this: C, frame: Frame) => void, context: C): boolean {
    const length = this.#length;
    if (this.#buffered < length) return false;
    let buf = this.#chunks[0]!;
    let at = this.#offset;
    if (buf.length - at >= length) {
      this.#consume(length);
    } else {
      buf = Buffer.allocUnsafe(length);
      at = 0;
      this.#copyOut(buf, length);
    }
    const frame = parseFrame(this.#type, buf, at, length);
    if (typeof frame === 'string') return this.#fail({ code: 'protocol-error', reason: frame });
    // The state moves on before onFrame runs, so that a throwing callback leaves the decoder consistent.
    this.#state = State.HEADER;
    onFrame.call(context, frame);
    return true;
  }

  /** Holds chunk[at..] (nothing is held yet): the start of a frame that is not whole. */
  #hold(chunk: Buffer, at: number): void {
    if (at >= chunk.length) return;
    this.#chunks.push(chunk);
    this.#offset = at;
    this.#buffered = chunk.length - at;
  }

  /** Drops the next n buffered bytes (n <= buffered). */
  #consume(n: number): void {
    this.#buffered -= n;
    while (n > 0) {
      const available = this.#chunks[0]!.length - this.#offset;
      if (n < available) {
        this.#offset += n;
        return;
      }
      this.#chunks.shift();
      this.#offset = 0;
      n -= available;
    }
  }

  /** Copies the next n buffered bytes into dst and drops them (n <= buffered). */
  #copyOut(dst: Buffer, n: number): void {
    let written = 0;
    while (written < n) {
      const chunk = this.#chunks[0]!;
      const take = Math.min(n - written, chunk.length - this.#offset);
      chunk.copy(dst, written, this.#offset, this.#offset + take);
      written += take;
      this.#consume(take);
    }
  }

  /** Up to n of the next buffered bytes, copied, without consuming them (error path only). */
  #peek(n: number): Buffer {
    const out = Buffer.alloc(Math.min(n, this.#buffered));
    let written = 0;
    let offset = this.#offset;
    for (const chunk of this.#chunks) {
      if (written === out.length) break;
      written += chunk.copy(out, written, offset);
      offset = 0;
    }
    return out;
  }

  #fail(error: DecodeError): false {
    this.#error = error;
    this.#state = State.FAILED;
    this.#chunks = [];
    this.#offset = 0;
    this.#buffered = 0;
    return false;
  }
}

/** Where decodeWhole() stopped when onFrame threw: the end of that frame, where the caller goes on. */
let decodedUpTo = 0;

/** After decodeWhole() passed on what onFrame threw: where the rest of that chunk begins. */
export function decodedBeforeThrow(): number {
  return decodedUpTo;
}

/**
 * Decodes the frames lying whole in `chunk` from `start` on, for a stream at a frame boundary (its preface
 * read, nothing held): the fast path, which reads every frame in place and allocates nothing but the frames.
 * Calls onFrame (with `context` as `this`) for each. Each header is checked as soon as it is whole, before
 * its body is awaited, against `limits.maxFrame` read anew for every frame (onFrame may change it).
 * Returns where an incomplete frame begins (chunk.length when the chunk ends on a boundary), or the
 * DecodeError the input earned. If onFrame throws, the bytes after that frame are not read:
 * decodedBeforeThrow() (the end of that frame) tells the caller where to go on.
 */
export function decodeWhole<C>(
  chunk: Buffer,
  start: number,
  limits: { readonly maxFrame: number },
  onFrame: (this: C, frame: Frame) => void,
  context: C,
): number | DecodeError {
  const end = chunk.length;
  let at = start;
  while (end - at >= HEADER_LENGTH) {
    const type = chunk[at + HeaderOffset.type]!;
    const length = chunk.readUInt32BE(at + HeaderOffset.length);
    const error = checkHeader(type, length, limits.maxFrame);
    if (error !== undefined) return error;
    const body = at + HEADER_LENGTH;
    if (end - body < length) break;
    const frame = parseFrame(type as FrameTypeCode, chunk, body, length);
    if (typeof frame === 'string') return { code: 'protocol-error', reason: frame };
    at = body + length;
    try {
      onFrame.call(context, frame);
    } catch (err) {
      decodedUpTo = at; // set here, after any decodeWhole() that onFrame itself ran
      throw err;
    }
  }
  return at;
}

/** What is wrong with a frame header, if anything: an unknown type, a length over the limit or the type's. */
function checkHeader(type: number, length: number, maxFrame: number): DecodeError | undefined {
  if (!isKnownFrameType(type)) {
    return { code: 'protocol-error', reason: `unknown frame type 0x${hex2(type)}` };
  }
  const name = FRAME_TYPE_NAMES.get(type);
  if (length > maxFrame) {
    return {
      code: 'frame-too-large',
      reason: `${name} frame declares a ${length}-byte payload; the limit is ${maxFrame} bytes`,
    };
  }
  if (!isValidPayloadLength(type, length)) {
    return {
      code: 'protocol-error',
      reason: `${name} payload must be ${describePayloadLength(type)} bytes, got ${length}`,
    };
  }
  return undefined;
}

function checkMaxFrame(n: number): number {
  checkUint('maxFrame', n, MAX_FRAME_CEILING);
  return n;
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
