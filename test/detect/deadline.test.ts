import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createDeadlineDetector } from '../../src/detect/deadline.js';

const time = fc.double({ min: 0, max: 1e7, noNaN: true, noDefaultInfinity: true });
const timeout = fc.double({ min: 0.001, max: 1e6, noNaN: true, noDefaultInfinity: true });

describe('deadline detector', () => {
  it('is dead exactly when now - lastHeard >= timeout, for any heard sequence and query time', () => {
    fc.assert(
      fc.property(timeout, fc.array(time, { maxLength: 50 }), time, (t, heardTimes, query) => {
        const times = [...heardTimes].sort((a, b) => a - b);
        const d = createDeadlineDetector({ timeout: t }, 0);
        let last = 0;
        for (const h of times) {
          d.heard(h);
          last = h;
        }
        const now = Math.max(query, last);
        assert.equal(d.isDead(now), now - last >= t);
      }),
    );
  });

  it('never declares death before its deadline and always at it', () => {
    fc.assert(
      fc.property(
        timeout,
        time,
        time,
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (t, heardAt, dt, r) => {
          const d = createDeadlineDetector({ timeout: t }, 0);
          d.heard(heardAt);
          const now = heardAt + (dt % (2 * t));
          const at = d.deadlineAt(now);
          assert.ok(at >= now);
          assert.equal(d.isDead(at), true);
          if (!d.isDead(now)) {
            assert.equal(d.isDead(now + (at - now) * r), false);
            assert.ok(at - heardAt >= t);
          }
        },
      ),
    );
  });

  it('reports silence and time left', () => {
    const d = createDeadlineDetector({ timeout: 1000 }, 100);
    assert.deepEqual(d.state(350), { kind: 'deadline', silentMs: 250, leftMs: 750 });
    assert.deepEqual(d.state(2000), { kind: 'deadline', silentMs: 1900, leftMs: 0 });
    d.reset(2000);
    assert.equal(d.isDead(2999), false);
    assert.equal(d.isDead(3000), true);
  });

  it('rejects a timeout that is not a positive number of ms', () => {
    assert.throws(() => createDeadlineDetector({ timeout: 0 }, 0), {
      name: 'RangeError',
      message: /^timeout must be greater than 0 and at most 2147483647 ms, got 0 ms$/,
    });
    assert.throws(() => createDeadlineDetector({ timeout: Number.NaN }, 0), {
      name: 'TypeError',
      message: /timeout/,
    });
    assert.throws(() => createDeadlineDetector({ timeout: '5' as unknown as number }, 0), {
      name: 'TypeError',
      message: /timeout must be a finite number/,
    });
  });
});
