import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDetector, type DetectorKind } from '../../src/detect/detector.js';

describe('createDetector', () => {
  it('builds either kind from the same options, both bounded by timeout', () => {
    for (const kind of ['deadline', 'phi'] as const) {
      const d = createDetector(kind, { interval: 200, timeout: 1000 }, 0);
      assert.equal(d.state(0).kind, kind);
      assert.ok(d.deadlineAt(0) <= 1000);
      assert.equal(d.isDead(1000), true);
    }
  });

  it('needs the interval for phi, and a known kind', () => {
    assert.throws(() => createDetector('phi', { timeout: 1000 }, 0), {
      name: 'TypeError',
      message: /interval/,
    });
    assert.throws(() => createDetector('chi' as DetectorKind, { timeout: 1000 }, 0), {
      name: 'RangeError',
      message: 'detector must be one of deadline, phi, got chi',
    });
  });
});
