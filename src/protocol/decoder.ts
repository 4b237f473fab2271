// The streaming decoder: bytes in any chunking in, whole frames out, with every limit checked the moment it
// can be (a frame's length before a byte of its body is buffered). Pure: no sockets, no timers, no clock.
// It never throws for anything a peer sends: bad input becomes one DecodeError value, returned for good.
//
// After ws's lib/receiver.js: named states, and a frame inside one chunk read in place (its DATA payload is a
// view of that chunk). Unlike ws it keeps no list of chunks: a frame that spans chunks is copied, as it
// arrives, into one buffer sized by its validated header, so that memory follows the bytes, not the segments.
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
  /** PREFACE: how many preface bytes matched so far. */
  #prefaceMatched = 0;
  /**
   * HEADER: how many bytes of a header cut by a chunk's end were read. Its type and length are gathered
   * into #type and #length byte by byte, so that a trickled header allocates nothing.
   */
  #headerRead = 0;
  /** The type and payload length of the frame being read (PAYLOAD, and HEADER while #headerRead > 0). */
  #type: number = FrameType.HELLO;
  #length = 0;
  /**
   * PAYLOAD: the one buffer a frame that spans chunks is reassembled into, allocated when its header is
   * read and sized by its validated length (<= maxFrame), and how much of it is filled. No chunk is kept:
   * a peer that trickles a frame one byte per segment costs the frame's size, not an object per segment.
   */
  #payload: Buffer = EMPTY;
  #filled = 0;
  /**
   * Chunks holding frames not read yet because onFrame threw, read first by the next push; #pendingAt is
   * where the first one's unread bytes begin. Empty but after such a throw, the only time a chunk is kept.
   */
  #pending: Buffer[] = [];
  #pendingAt = 0;
  #error: DecodeError | undefined;

  constructor(options: DecoderOptions = {}) {
    this.#maxFrame = checkMaxFrame(options.maxFrame ?? DEFAULT_MAX_FRAME);
    this.#state = (options.expectPreface ?? true) ? State.PREFACE : State.HEADER;
  }

  /**
   * A decoder for a stream that was decoded with decodeWhole() up to `at` in `chunk`, where an incomplete
   * frame begins (or, after onFrame threw, where the unread frames begin): it takes over the rest and the
   * next chunks with push(). An incomplete frame is copied out at once, so `chunk` is not kept; an error in
   * its header is returned by the next push.
   */
  static holding(chunk: Buffer, at: number, maxFrame: number): Decoder {
    const decoder = new Decoder({ maxFrame, expectPreface: false });
    if (holdsWholeFrame(chunk, at)) decoder.#keepUnread(chunk, at);
    else decoder.#read(chunk, at, noFrame, undefined);
    return decoder;
  }

  /**
   * True at a frame boundary (the preface read) with nothing held: an owner may then drop this decoder and
   * go on with decodeWhole() until a chunk ends inside a frame.
   */
  get idle(): boolean {
    return this.#state === State.HEADER && this.#headerRead === 0 && this.#pending.length === 0;
  }

  /**
   * Bytes received and not yet delivered: a partial header, or the payload bytes of a partial frame (whose
   * header is then consumed), plus the frames left unread when onFrame threw. For accounting and tests.
   */
  get buffered(): number {
    let n = this.#state === State.PAYLOAD ? this.#filled : this.#headerRead;
    for (const chunk of this.#pending) n += chunk.length;
    return n - this.#pendingAt;
  }

  /**
   * Bytes of the unfinished frame received so far, its header included; 0 at a frame boundary and during
   * the preface (which the handshake timeout covers). With partialTotal, what a completion deadline needs.
   */
  get partialBytes(): number {
    return this.#state === State.PAYLOAD ? HEADER_LENGTH + this.#filled : this.#headerRead;
  }

  /** The unfinished frame's total size in bytes (header + payload) once its header is read, else 0. */
  get partialTotal(): number {
    return this.#state === State.PAYLOAD ? HEADER_LENGTH + this.#length : 0;
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
   * input (only what onFrame itself throws passes through, and the decoder stays consistent: the next push
   * first reads the frames after the one onFrame threw on). A DATA payload may be a view of `chunk`, so a
   * chunk must not be reused once pushed (Node gives each 'data' event its own Buffer). onFrame must not
   * call push on the same decoder. It is called with `context` as `this`, so that one shared function can
   * serve thousands of decoders without a closure each.
   */
  push<C = undefined>(
    chunk: Buffer,
    onFrame: (this: C, frame: Frame) => void,
    context?: C,
  ): DecodeError | undefined {
    if (this.#error !== undefined) return this.#error;
    if (chunk.length === 0) return undefined;
    if (this.#pending.length === 0) return this.#read(chunk, 0, onFrame, context as C);
    // After a throw: the frames left unread first. A throw among them puts the rest back (#keepUnread).
    this.#pending.push(chunk);
    while (this.#pending.length > 0) {
      const next = this.#pending.shift()!;
      const at = this.#pendingAt;
      this.#pendingAt = 0;
      const error = this.#read(next, at, onFrame, context as C);
      if (error !== undefined) return error;
    }
    return undefined;
  }

  /** Reads chunk[at..] from whatever state the stream is in. What onFrame throws past is kept for later. */
  #read<C>(
    chunk: Buffer,
    at: number,
    onFrame: (this: C, frame: Frame) => void,
    context: C,
  ): DecodeError | undefined {
    const end = chunk.length;
    while (at < end) {
      switch (this.#state) {
        case State.PREFACE:
          at = this.#readPreface(chunk, at);
          break;
        case State.HEADER:
          if (this.#headerRead === 0) {
            // At a frame boundary: the frames whole in this chunk are read in place, allocating nothing.
            let stop: number | DecodeError;
            try {
              stop = decodeWhole(chunk, at, this, onFrame, context);
            } catch (err) {
              this.#keepUnread(chunk, decodedUpTo);
              throw err;
            }
            if (typeof stop !== 'number') return this.#fail(stop);
            at = stop; // the rest, if any, is an incomplete frame: its header is gathered next
          }
          at = this.#readHeader(chunk, at);
          break;
        case State.PAYLOAD:
          at = this.#fill(chunk, at);
          if (this.#filled === this.#length) {
            try {
              this.#deliver(onFrame, context);
            } catch (err) {
              this.#keepUnread(chunk, at);
              throw err;
            }
          }
          break;
        case State.FAILED:
          return this.#error;
      }
    }
    return this.#error;
  }

  /** Matches the preface byte by byte, so a wrong first byte is refused without waiting for five. */
  #readPreface(chunk: Buffer, at: number): number {
    for (; this.#prefaceMatched < PREFACE_LENGTH; this.#prefaceMatched++, at++) {
      if (at === chunk.length) return at;
      const byte = chunk[at]!;
      if (this.#prefaceMatched < MAGIC.length) {
        if (byte !== MAGIC[this.#prefaceMatched]) return this.#badPreface(chunk, at);
      } else if (byte !== VERSION) {
        this.#fail({ code: 'unsupported-version', reason: describeBadVersion(byte), version: byte });
        return chunk.length;
      }
    }
    this.#state = State.HEADER;
    return at;
  }

  #badPreface(chunk: Buffer, at: number): number {
    // Bytes that matched "LIFE" are gone, and no HTTP method starts with "L": only a peer that got the very
    // first byte wrong can be an HTTP client, and then this chunk holds every byte it has sent.
    const head = Buffer.from(chunk.subarray(at, at + SNIFF_LENGTH));
    const http = this.#prefaceMatched === 0 && looksLikeHttp(head);
    const error: DecodeError = { code: 'protocol-error', reason: describeBadPreface(head, http) };
    if (http) error.looksLikeHttp = true;
    this.#fail(error);
    return chunk.length;
  }

  /**
   * Gathers the header of a frame that a chunk's end cut, and once it is whole refuses an unknown type or a
   * bad length before any body byte is awaited, or allocates the one buffer the body is read into.
   */
  #readHeader(chunk: Buffer, at: number): number {
    const end = chunk.length;
    while (this.#headerRead < HEADER_LENGTH) {
      if (at === end) return at;
      const byte = chunk[at++]!;
      if (this.#headerRead === HeaderOffset.type) {
        this.#type = byte;
        this.#length = 0;
      } else {
        this.#length = this.#length * 256 + byte; // not <<: a u32 would turn negative
      }
      this.#headerRead++;
    }
    const error = checkHeader(this.#type, this.#length, this.#maxFrame);
    if (error !== undefined) {
      this.#fail(error);
      return end;
    }
    this.#headerRead = 0;
    this.#state = State.PAYLOAD;
    this.#payload = Buffer.allocUnsafe(this.#length);
    this.#filled = 0;
    return at;
  }

  /** Copies what `chunk` holds of the payload being reassembled; returns where the rest of the chunk begins. */
  #fill(chunk: Buffer, at: number): number {
    const take = Math.min(this.#length - this.#filled, chunk.length - at);
    chunk.copy(this.#payload, this.#filled, at, at + take);
    this.#filled += take;
    return at + take;
  }

  /** Delivers the reassembled frame. The state moves on first, so that a throwing onFrame leaves it consistent. */
  #deliver<C>(onFrame: (this: C, frame: Frame) => void, context: C): void {
    const payload = this.#payload;
    this.#payload = EMPTY;
    this.#filled = 0;
    const frame = parseFrame(this.#type as FrameTypeCode, payload, 0, this.#length);
    if (typeof frame === 'string') {
      this.#fail({ code: 'protocol-error', reason: frame });
      return;
    }
    this.#state = State.HEADER;
    onFrame.call(context, frame);
  }

  /** Keeps chunk[at..], whose frames onFrame's throw left unread, ahead of any chunks already pending. */
  #keepUnread(chunk: Buffer, at: number): void {
    if (at >= chunk.length) return;
    this.#pending.unshift(chunk);
    this.#pendingAt = at;
  }

  #fail(error: DecodeError): DecodeError {
    this.#error = error;
    this.#state = State.FAILED;
    this.#payload = EMPTY;
    this.#filled = 0;
    this.#headerRead = 0;
    this.#pending = [];
    this.#pendingAt = 0;
    return error;
  }
}

const EMPTY = Buffer.alloc(0);

/** The onFrame of Decoder.holding(), which only ever reads an incomplete frame. */
function noFrame(): void {}

/** Whether chunk[at..] holds at least one whole frame (so that onFrame threw before it was read). */
function holdsWholeFrame(chunk: Buffer, at: number): boolean {
  const rest = chunk.length - at;
  return rest >= HEADER_LENGTH && rest - HEADER_LENGTH >= chunk.readUInt32BE(at + HeaderOffset.length);
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
