// Detection time after a stop, for the default options: the table in docs/DETECTORS.md is this test's
// printout (run `node scripts/run-tests.mjs detection-times`).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createDetector, type DetectorKind } from '../../src/detect/detector.js';
import { arrivals, prng } from './arrivals.js';

const cases = [
  { interval: 200, timeout: 1000, jitter: 0, loss: 0, name: 'regular' },
  { interval: 200, timeout: 1000, jitter: 0.3, loss: 0, name: '±30 % jitter' },
  { interval: 200, timeout: 1000, jitter: 0.3, loss: 0.2, name: '±30 % jitter, 20 % lost' },
  { interval: 1000, timeout: 10_000, jitter: 0, loss: 0, name: 'regular' },
  { interval: 1000, timeout: 10_000, jitter: 0.3, loss: 0, name: '±30 % jitter' },
  { interval: 1000, timeout: 10_000, jitter: 0.3, loss: 0.2, name: '±30 % jitter, 20 % lost' },
];

/** Median and maximum over seeds of the silence after the last heartbeat until the detector declares death. */
function detection(kind: DetectorKind, c: (typeof cases)[number]): { median: number; max: number } {
  const times: number[] = [];
  for (let seed = 1; seed <= 101; seed++) {
    const d = createDetector(kind, { interval: c.interval, timeout: c.timeout }, 0);
    const heard = arrivals({ interval: c.interval, jitter: c.jitter, loss: c.loss, count: 1000 }, prng(seed));
    for (const t of heard) d.heard(t);
    const last = heard.at(-1)!;
    times.push(d.deadlineAt(last) - last);
  }
  times.sort((a, b) => a - b);
  return { median: times[50]!, max: times.at(-1)! };
}

it('detects a stop within the timeout with default options (table in docs/DETECTORS.md)', (t) => {
  const rows = [
    '| interval / timeout | arrivals before the stop | deadline | phi (median) | phi (max) |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const c of cases) {
    const deadline = detection('deadline', c);
    const phi = detection('phi', c);
    assert.equal(deadline.max, c.timeout);
    assert.ok(phi.max <= c.timeout);
    rows.push(
      `| ${c.interval} ms / ${c.timeout} ms | ${c.name} | ${deadline.median} ms | ${phi.median.toFixed(0)} ms | ${phi.max.toFixed(0)} ms |`,
    );
  }
  for (const row of rows) t.diagnostic(row);
});
