import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { backoffCap, backoffDelay, DEFAULT_BACKOFF, validateBackoff } from '../../src/client/backoff.js';

const options = fc.record({
  initialDelay: fc.double({ min: 1, max: 10_000, noNaN: true }),
  extra: fc.double({ min: 0, max: 100_000, noNaN: true }),
  factor: fc.double({ min: 1, max: 10, noNaN: true }),
});
const attempt = fc.integer({ min: 1, max: 10_000 });
const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('backoff', () => {
  it('draws every delay from [0, cap] with the cap at most maxDelay', () => {
    fc.assert(
      fc.property(options, attempt, unit, ({ initialDelay, extra, factor }, n, r) => {
        const o = { initialDelay, maxDelay: initialDelay + extra, factor };
        const cap = backoffCap(n, o);
        const delay = backoffDelay(n, o, () => r);
        assert.ok(cap >= initialDelay && cap <= o.maxDelay);
        assert.ok(delay >= 0 && delay <= cap);
        assert.equal(delay, r * cap);
      }),
    );
  });

  it('grows the cap by factor per attempt until it saturates at maxDelay', () => {
    fc.assert(
      fc.property(options, attempt, ({ initialDelay, extra, factor }, n) => {
        const o = { initialDelay, maxDelay: initialDelay + extra, factor };
        const a = backoffCap(n, o);
        const b = backoffCap(n + 1, o);
        assert.ok(b >= a);
        if (b < o.maxDelay) assert.ok(Math.abs(b - a * factor) <= 1e-9 * b);
      }),
    );
    const caps = [1, 2, 3, 4, 8, 9, 10, 1000].map((n) => backoffCap(n));
    assert.deepEqual(caps, [250, 500, 1000, 2000, 30_000, 30_000, 30_000, 30_000]);
  });

  it('has documented defaults and uses Math.random by default', () => {
    assert.deepEqual(validateBackoff(), {
      initialDelay: 250,
      maxDelay: 30_000,
      factor: 2,
      maxAttempts: Number.POSITIVE_INFINITY,
    });
    assert.equal(DEFAULT_BACKOFF.maxAttempts, Number.POSITIVE_INFINITY);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(3);
      assert.ok(d >= 0 && d < 1000);
    }
    assert.equal(validateBackoff({ initialDelay: 60_000 }).maxDelay, 60_000);
  });

  it('rejects bad options and attempts with errors naming them', () => {
    assert.throws(() => validateBackoff({ initialDelay: 0 }), {
      name: 'RangeError',
      message: /^initialDelay must be/,
    });
    assert.throws(() => validateBackoff({ initialDelay: Number.NaN }), {
      name: 'TypeError',
      message: /^initialDelay/,
    });
    assert.throws(() => validateBackoff({ initialDelay: 500, maxDelay: 100 }), {
      name: 'RangeError',
      message: 'maxDelay must be between 500 ms and 2147483647 ms, got 100 ms',
    });
    assert.throws(() => validateBackoff({ factor: 0.5 }), {
      name: 'RangeError',
      message: /^factor must be between 1 and 1000/,
    });
    assert.throws(() => validateBackoff({ maxAttempts: 0 }), { name: 'RangeError', message: /^maxAttempts/ });
    assert.throws(() => validateBackoff({ maxAttempts: 2.5 }), {
      name: 'RangeError',
      message: /^maxAttempts/,
    });
    assert.equal(validateBackoff({ maxAttempts: 5 }).maxAttempts, 5);
    assert.throws(() => backoffDelay(0), { name: 'RangeError', message: /^attempt/ });
    assert.throws(() => backoffDelay(1.5), { name: 'RangeError', message: /^attempt/ });
  });
});
