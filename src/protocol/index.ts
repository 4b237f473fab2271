// The wire protocol's public face: numbers, frame shapes, encoder and streaming decoder. Re-exports only.
export * from './constants.js';
export * from './decoder.js';
export * from './encoder.js';
export type * from './frames.js';
export { encodeHttpRefusal } from './refusal.js';
