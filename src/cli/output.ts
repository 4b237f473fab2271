// Where the commands' events go: with --json, one JSON object per line on stdout with `event` and a
// monotonic `t` (ms since the program started) and nothing else there; without, a line for people, its
// control characters escaped (a line may quote a peer: escape.ts).
import { performance } from 'node:perf_hooks';
import { escapeControls } from './escape.js';

export type Fields = Record<string, unknown>;

export interface Output {
  readonly json: boolean;
  /** One event (DESIGN.md's table): a JSON line, or a human line on stdout. */
  event(event: string, fields: Fields): void;
  /** A status line for people: stderr, so that stdout stays data (connect) or JSON. */
  status(text: string): void;
}

/** ms since this program started, monotonic, to 0.1 ms. */
export function since(): number {
  return Math.round(performance.now() * 10) / 10;
}

export function jsonLine(event: string, fields: Fields): string {
  return `${JSON.stringify({ event, t: since(), ...fields })}\n`;
}

export function createOutput(
  json: boolean,
  human: (event: string, fields: Fields) => string | undefined,
): Output {
  return {
    json,
    event(event, fields) {
      if (json) {
        process.stdout.write(jsonLine(event, fields));
        return;
      }
      const line = human(event, fields);
      if (line !== undefined) process.stdout.write(humanText(line));
    },
    status(text) {
      if (!json) process.stderr.write(humanText(text));
    },
  };
}

/** One line for people, as written: control characters escaped, then the newline that ends it. */
export function humanText(line: string): string {
  return `${escapeControls(line)}\n`;
}

/** "12.3 ms", "1.20 s": a duration for people. */
export function ms(value: number): string {
  if (value < 1000) return `${value.toFixed(value < 10 ? 2 : 1)} ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(2)} s`;
  return formatLong(value);
}

/** "16 min", "2 h 11 min 15 s": a long duration for people. */
export function formatLong(value: number): string {
  let s = Math.round(value / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts: string[] = [];
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (s || parts.length === 0) parts.push(`${s} s`);
  return parts.join(' ');
}

/** A message payload as DESIGN.md's `message` event fields: bytes, and text when valid UTF-8. */
export function messageFields(payload: Buffer): Fields {
  const fields: Fields = { bytes: payload.length };
  try {
    fields.text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    // not UTF-8: bytes only
  }
  return fields;
}
