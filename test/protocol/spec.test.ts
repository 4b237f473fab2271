// docs/PROTOCOL.md against the code and the vectors: its tables must list exactly what constants.ts and
// layout.ts define, its numbers must be theirs, and every hex example must be a vector's bytes, so that the
// document cannot drift from the implementation unnoticed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  DEFAULT_MAX_FRAME,
  DEFAULT_MAX_MESSAGE,
  DEFAULT_WINDOW,
  encodeHttpRefusal,
  FRAGMENT_SIZE,
  FRAME_GRACE_MS,
  FrameType,
  type FrameTypeCode,
  frameCompletionMs,
  GoawayCode,
  MAGIC,
  MIN_FRAME_RATE,
  MIN_MAX_FRAME,
  MIN_MAX_MESSAGE,
  VERSION,
} from '../../src/protocol/index.js';
import { describePayloadLength, HTTP_METHODS } from '../../src/protocol/layout.js';
import { ACK_DELAY_MS } from '../../src/session/endpoint.js';
import { vectors } from './vectors.js';

const spec = readFileSync(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8');
/** The prose with every run of whitespace as one space, so that rewrapping a paragraph breaks no check. */
const prose = spec.replace(/\s+/g, ' ');

/** The text from `heading` to the next heading of the same or a higher level. */
function section(heading: string): string {
  const start = spec.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `PROTOCOL.md has no "${heading}"`);
  const level = /^#+/.exec(heading)![0];
  const rest = spec.slice(start + heading.length + 2);
  const next = rest.search(new RegExp(`^#{1,${level.length}} `, 'm'));
  return next < 0 ? rest : rest.slice(0, next);
}

/** Rows of the first markdown table after `heading`, as arrays of trimmed cells (header rows skipped). */
function tableAfter(heading: string, firstCell: RegExp): string[][] {
  const start = spec.indexOf(heading);
  assert.ok(start >= 0, `PROTOCOL.md has no "${heading}"`);
  const rows: string[][] = [];
  for (const line of spec.slice(start).split('\n').slice(1)) {
    if (!line.startsWith('|')) {
      if (rows.length > 0) break;
      continue;
    }
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim().replace(/`/g, ''));
    if (firstCell.test(cells[0] ?? '')) rows.push(cells);
  }
  return rows;
}

/** The contents of every fenced code block, less the indentation of its fence. */
function fencedBlocks(text: string): string[] {
  const blocks: string[] = [];
  const fence = /^( *)```[a-z]*\n([\s\S]*?)^\1```$/gm;
  for (const m of text.matchAll(fence)) {
    const indent = m[1]!.length;
    blocks.push(
      m[2]!
        .split('\n')
        .map((line) => line.slice(indent))
        .join('\n')
        .replace(/\n$/, ''),
    );
  }
  return blocks;
}

/** "1 MiB (1 048 576)", "16 KiB (16 384)": how the limits table writes a size. */
function size(bytes: number): string {
  const unit = bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
  return `${unit} (${bytes.toLocaleString('en-US').replaceAll(',', ' ')})`;
}

describe('docs/PROTOCOL.md', () => {
  it('is the document of this version', () => {
    assert.ok(spec.startsWith(`# The lifeline wire protocol, version ${VERSION}\n`));
  });

  it('lists every frame type with the code constants.ts gives it and the payload length layout.ts allows', () => {
    const rows = tableAfter('## 2. Frames', /^0x[0-9A-F]{2}$/);
    const documented = Object.fromEntries(rows.map(([code, name]) => [name!, Number.parseInt(code!, 16)]));
    assert.deepEqual(documented, FrameType);
    for (const [code, name, length] of rows) {
      const type = Number.parseInt(code!, 16) as FrameTypeCode;
      assert.equal(length, describePayloadLength(type), `${name}'s payload length`);
    }
  });

  it('lists every GOAWAY code with its name', () => {
    const rows = tableAfter('## 7. GOAWAY codes', /^\d+$/);
    const documented = Object.fromEntries(rows.map(([code, name]) => [name!, Number(code)]));
    assert.deepEqual(documented, GoawayCode);
  });

  it('gives the preface bytes of constants.ts', () => {
    const hex = [...MAGIC, VERSION].map((b) => b.toString(16).toUpperCase().padStart(2, '0'));
    assert.ok(spec.includes(`\`${hex.slice(0, 4).join(' ')}\` (ASCII \`LIFE\`)`));
    assert.ok(spec.includes(`| version | \`${hex[4]}\``));
  });

  it('gives the sizes and floors of constants.ts in its limits table', () => {
    const limits = Object.fromEntries(
      tableAfter('### 6.2 Limits', /^[a-z]/).map(([name, value]) => [name!, value!]),
    );
    assert.equal(limits['max frame (payload bytes)'], `default ${size(DEFAULT_MAX_FRAME)}`);
    assert.equal(limits['max frame floor'], size(MIN_MAX_FRAME));
    assert.equal(limits['fragment size (lifeline)'], `${size(FRAGMENT_SIZE)} of message bytes`);
    assert.equal(limits['max message'], `default ${size(DEFAULT_MAX_MESSAGE)}`);
    assert.equal(limits['max message floor'], size(MIN_MAX_MESSAGE));
    assert.equal(limits['receive window'], `default ${size(DEFAULT_WINDOW)}`);
    assert.equal(
      limits['frame completion rate'],
      `${MIN_FRAME_RATE / 1024} KiB/s after ${FRAME_GRACE_MS / 1000} s`,
    );
  });

  it('gives the minimum transfer rate and grace period of constants.ts, and their examples', () => {
    const rate = `${MIN_FRAME_RATE / 1024} KiB/s`;
    const grace = `${FRAME_GRACE_MS / 1000} s`;
    assert.ok(prose.includes(`within \`${grace} + total / ${rate}\``));
    assert.equal(frameCompletionMs(11), 10_001);
    assert.ok(prose.includes('10.001 s for an ACK (11 bytes)'));
    assert.equal(frameCompletionMs(16_384 + 7 + 5), 11_001);
    assert.ok(prose.includes('11.001 s for a full 16 KiB fragment (16 396 bytes)'));
    assert.equal(frameCompletionMs(1024 * 1024 + 5), 74_001);
    assert.ok(prose.includes('74.001 s for a 1 MiB frame'));
  });

  it('gives the floors where HELLO and WELCOME are described, and the ACK delay of the session', () => {
    assert.ok(prose.includes(`below **${MIN_MAX_FRAME}** (\`MIN_MAX_FRAME\`)`));
    assert.ok(prose.includes(`below **${MIN_MAX_MESSAGE}** (\`MIN_MAX_MESSAGE\`)`));
    assert.ok(prose.includes(`**${FRAGMENT_SIZE / 1024} KiB** (\`FRAGMENT_SIZE\``));
    assert.ok(prose.includes(`**${ACK_DELAY_MS} ms** (\`ACK_DELAY_MS\`)`));
  });

  it('every hex example is the bytes of a vector', () => {
    const known = new Set(
      [vectors.preface, ...vectors.frames, ...vectors.nonCanonical, ...vectors.invalid].map((v) => v.hex),
    );
    const examples = fencedBlocks(spec)
      .filter((b) => /^[0-9A-Fa-f\s]+$/.test(b))
      .map((b) => ({ text: b, hex: b.replace(/\s+/g, '').toLowerCase() }));
    for (const { text, hex } of examples) {
      assert.ok(known.has(hex), `no vector has the bytes of the example\n${text}`);
    }
    const shown = new Set(examples.map(({ hex }) => Number.parseInt(hex.slice(0, 2), 16)));
    for (const [name, code] of Object.entries(FrameType)) assert.ok(shown.has(code), `no example of ${name}`);
    assert.ok(
      examples.some(({ hex }) => hex === vectors.preface.hex),
      'no example of the preface',
    );
  });

  it('gives the HTTP refusal byte for byte, and the methods that count as HTTP', () => {
    const text = section('## 8. What a non-lifeline peer gets');
    const refusal = encodeHttpRefusal().toString('utf8');
    const block = fencedBlocks(text).find((b) => b.startsWith('HTTP/1.1'));
    // The block shows lines; on the wire the head's lines end in CRLF and the body in a bare LF.
    const [head, body] = refusal.split('\r\n\r\n') as [string, string];
    assert.equal(block, `${head.replaceAll('\r\n', '\n')}\n\n${body.replace(/\n$/, '')}`);
    assert.ok(body.endsWith('.\n') && !body.endsWith('\r\n'));
    const flat = text.replace(/\s+/g, ' ');
    assert.ok(flat.includes(`exactly these ${encodeHttpRefusal().length} bytes`));
    assert.ok(flat.includes(`the body is ${Buffer.byteLength(body)} bytes`));
    const methods = [...text.matchAll(/`([A-Z]+) `/g)].map((m) => m[1]);
    assert.deepEqual(methods, HTTP_METHODS);
  });
});
