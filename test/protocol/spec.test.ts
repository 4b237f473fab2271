// docs/PROTOCOL.md against the code: its frame-type and GOAWAY tables must list exactly what constants.ts
// defines, so that the document cannot drift from the implementation unnoticed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  FRAME_GRACE_MS,
  FrameType,
  frameCompletionMs,
  GoawayCode,
  MAGIC,
  MIN_FRAME_RATE,
  VERSION,
} from '../../src/protocol/index.js';

const spec = readFileSync(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8');

/** Rows of the markdown table that follows `heading`, as arrays of trimmed cells (header rows skipped). */
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

describe('docs/PROTOCOL.md', () => {
  it('lists every frame type with the code constants.ts gives it', () => {
    const rows = tableAfter('## 2. Frames', /^0x[0-9A-F]{2}$/);
    const documented = Object.fromEntries(rows.map(([code, name]) => [name!, Number.parseInt(code!, 16)]));
    assert.deepEqual(documented, FrameType);
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

  it('gives the minimum transfer rate and grace period of constants.ts', () => {
    const rate = `${MIN_FRAME_RATE / 1024} KiB/s`;
    const grace = `${FRAME_GRACE_MS / 1000} s`;
    assert.ok(spec.includes(`| frame completion rate     | ${rate} after ${grace} |`));
    assert.ok(spec.includes(`within \`${grace} + total / ${rate}\``));
    assert.equal(frameCompletionMs(1024 * 1024 + 5), 74_001);
  });
});
