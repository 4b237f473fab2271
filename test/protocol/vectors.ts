// Loads test/vectors/frames.json and converts between its JSON frames (byte strings as hex) and Frame objects.
import { readFileSync } from 'node:fs';
import {
  type DecodeError,
  type DecoderOptions,
  type Frame,
  type HelloFrame,
  MIN_MAX_FRAME,
  MIN_MAX_MESSAGE,
} from '../../src/protocol/index.js';

/** A HELLO at the floors (new session, no proposal, window 0), for tests to vary. */
export const floorHello: Readonly<HelloFrame> = {
  type: 'hello',
  interval: 0,
  timeout: 0,
  maxFrame: MIN_MAX_FRAME,
  maxMessage: MIN_MAX_MESSAGE,
  window: 0,
  lastReceived: 0,
  token: Buffer.alloc(0),
  credentials: Buffer.alloc(0),
};

/** A frame as the vectors file writes it: every Buffer field is a lowercase hex string. */
export type JsonFrame = Record<string, string | number | boolean>;

export interface FrameVector {
  name: string;
  hex: string;
  frame: JsonFrame;
  note?: string;
}

export interface InvalidVector {
  name: string;
  hex: string;
  /** Decoder options, over INVALID_DEFAULTS. */
  options?: DecoderOptions;
  /** `reason` is what lifeline's decoder says for the whole input in one push. */
  error: Pick<DecodeError, 'code' | 'reason' | 'looksLikeHttp' | 'version'>;
  errorAfterBytes: number;
  framesBefore: number;
}

/** The options an invalid vector is decoded with where it names none (the file's description says so). */
export const INVALID_DEFAULTS: Required<DecoderOptions> = { maxFrame: 1048576, expectPreface: true };

export interface Vectors {
  description: string;
  version: number;
  preface: { hex: string; magic: string; version: number };
  frames: FrameVector[];
  nonCanonical: FrameVector[];
  invalid: InvalidVector[];
}

export const vectors: Vectors = JSON.parse(
  readFileSync(new URL('../vectors/frames.json', import.meta.url), 'utf8'),
) as Vectors;

const BYTE_FIELDS = new Set(['token', 'credentials', 'payload']);

export function toJson(frame: Frame): JsonFrame {
  const out: JsonFrame = {};
  for (const [key, value] of Object.entries(frame)) {
    out[key] = Buffer.isBuffer(value) ? value.toString('hex') : (value as string | number | boolean);
  }
  return out;
}

export function fromJson(json: JsonFrame): Frame {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    out[key] = BYTE_FIELDS.has(key) ? Buffer.from(value as string, 'hex') : value;
  }
  return out as unknown as Frame;
}
