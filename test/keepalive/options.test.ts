// Validation, rounding and bound arithmetic of the keepalive options: pure, no sockets.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { boundMs, deriveKeepAlive, validateKeepAliveOptions } from '../../src/keepalive/options.js';

function throwsNaming(
  fn: () => unknown,
  type: typeof TypeError | typeof RangeError,
  ...parts: RegExp[]
): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    assert.equal((err as Error).constructor, type);
    for (const part of parts) assert.match((err as Error).message, part);
    return true;
  });
}

describe('validateKeepAliveOptions', () => {
  test('rejects an options value that is not an object with a TypeError', () => {
    for (const bad of [null, undefined, 5, 'idle', true, [1000]]) {
      throwsNaming(() => validateKeepAliveOptions(bad), TypeError, /keepalive options must be an object/);
    }
  });

  test('rejects values that are not finite numbers with a TypeError naming the option', () => {
    for (const name of ['idle', 'interval', 'count', 'userTimeout']) {
      for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, '1000', null, {}]) {
        const options = { idle: 1000, [name]: bad };
        throwsNaming(
          () => validateKeepAliveOptions(options),
          TypeError,
          new RegExp(`^${name} must be a finite number`),
        );
      }
    }
  });

  test('requires idle', () => {
    throwsNaming(
      () => validateKeepAliveOptions({ interval: 1000 }),
      TypeError,
      /^idle must be a finite number/,
    );
  });

  test('rejects idle and interval outside 1 s..32767 s with a RangeError naming the option and range', () => {
    for (const name of ['idle', 'interval']) {
      for (const bad of [0, -1, -1000, 32_767_001, 40_000_000]) {
        throwsNaming(
          () => validateKeepAliveOptions({ idle: 1000, [name]: bad }),
          RangeError,
          new RegExp(`^${name} must be more than 0 ms and at most 32767000 ms`),
          /1 s to 32767 s/,
          new RegExp(`got ${bad} ms`),
        );
      }
    }
  });

  test('rejects count outside 1..127 or not whole with a RangeError naming the range', () => {
    for (const bad of [0, -3, 128, 1000]) {
      throwsNaming(
        () => validateKeepAliveOptions({ idle: 1000, count: bad }),
        RangeError,
        /^count must be between 1 and 127/,
      );
    }
    throwsNaming(
      () => validateKeepAliveOptions({ idle: 1000, count: 2.5 }),
      RangeError,
      /^count must be a whole number between 1 and 127/,
    );
  });

  test('rejects userTimeout outside 0..2^31-1 ms with a RangeError naming the range', () => {
    for (const bad of [-1, 2 ** 31, 1e12]) {
      throwsNaming(
        () => validateKeepAliveOptions({ idle: 1000, userTimeout: bad }),
        RangeError,
        /^userTimeout must be between 0 ms .* and 2147483647 ms/,
      );
    }
  });

  test('accepts the edges of every range', () => {
    assert.deepEqual(
      validateKeepAliveOptions({ idle: 1, interval: 32_767_000, count: 127, userTimeout: 2 ** 31 - 1 }),
      {
        idleSeconds: 1,
        intervalSeconds: 32767,
        count: 127,
        userTimeoutMs: 2 ** 31 - 1,
      },
    );
    assert.deepEqual(validateKeepAliveOptions({ idle: 1000, count: 1, userTimeout: 0 }), {
      idleSeconds: 1,
      intervalSeconds: undefined,
      count: 1,
      userTimeoutMs: 0,
    });
  });

  test('rounds idle and interval up to whole seconds, never down', () => {
    const cases: [number, number][] = [
      [1, 1],
      [999, 1],
      [1000, 1],
      [1001, 2],
      [1500, 2],
      [59_999.5, 60],
      [60_000, 60],
    ];
    for (const [ms, seconds] of cases) {
      const k = validateKeepAliveOptions({ idle: ms, interval: ms });
      assert.equal(k.idleSeconds, seconds, `idle ${ms} ms`);
      assert.equal(k.intervalSeconds, seconds, `interval ${ms} ms`);
    }
  });

  test('rounds a fractional userTimeout up to whole ms', () => {
    assert.equal(validateKeepAliveOptions({ idle: 1000, userTimeout: 1500.2 }).userTimeoutMs, 1501);
  });

  test('property: the rounded value is never below what was asked and less than a second above', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.001, max: 32_767_000, noNaN: true }), (ms) => {
        const { idleSeconds } = validateKeepAliveOptions({ idle: ms });
        return idleSeconds * 1000 >= ms && idleSeconds * 1000 - ms < 1000 && idleSeconds >= 1;
      }),
    );
  });
});

describe('boundMs (the arithmetic under keepAliveBound)', () => {
  test("the seed's 60 s / 180 s / 5 gives 960 000 ms", () => {
    assert.equal(boundMs(60, 180, 5, 0), 960_000);
  });

  test("Linux's defaults 7200 s / 75 s / 9 give 7 875 000 ms (2 h 11 min 15 s)", () => {
    assert.equal(boundMs(7200, 75, 9, 0), 7_875_000);
    assert.equal(7_875_000, ((2 * 60 + 11) * 60 + 15) * 1000);
  });

  test('with a user timeout, count is ignored and probing ends at the first tick past it', () => {
    // Ticks at 1 s (probe 1), 2 s (probe 2), 3 s: 3 s >= 2.5 s and a probe is out, so the kernel gives up.
    assert.equal(boundMs(1, 1, 1, 2500), 3000);
    // A user timeout shorter than idle still needs one probe: idle + interval.
    assert.equal(boundMs(60, 10, 9, 2000), 70_000);
    // Exactly on a tick.
    assert.equal(boundMs(10, 5, 9, 20_000), 20_000);
  });
});

describe('deriveKeepAlive', () => {
  test('idle = timeout, interval = timeout / 3, count 3, userTimeout = 2 x timeout', () => {
    assert.deepEqual(deriveKeepAlive({ interval: 5000, timeout: 15_000 }), {
      idle: 15_000,
      interval: 5000,
      count: 3,
      userTimeout: 30_000,
    });
  });

  test('rounds up to whole seconds and never below 1 s', () => {
    assert.deepEqual(deriveKeepAlive({ interval: 100, timeout: 1500 }), {
      idle: 2000,
      interval: 1000,
      count: 3,
      userTimeout: 3000,
    });
    assert.deepEqual(deriveKeepAlive({ interval: 10, timeout: 10 }), {
      idle: 1000,
      interval: 1000,
      count: 3,
      userTimeout: 20,
    });
  });

  test('always yields options that validate, and an idle bound of about 2 x timeout', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3000, max: 3_600_000 }), (timeout) => {
        const o = deriveKeepAlive({ interval: timeout / 3, timeout });
        const k = validateKeepAliveOptions(o);
        const bound = boundMs(k.idleSeconds, k.intervalSeconds!, k.count!, k.userTimeoutMs!);
        return bound >= 2 * timeout && bound < 2 * timeout + 4000;
      }),
    );
  });

  test('rejects heartbeat settings that are not positive numbers', () => {
    throwsNaming(
      () => deriveKeepAlive({ interval: 1000, timeout: 0 }),
      RangeError,
      /^heartbeat.timeout must be more than 0 ms/,
    );
    throwsNaming(
      () => deriveKeepAlive({ interval: Number.NaN, timeout: 1000 }),
      TypeError,
      /^heartbeat.interval/,
    );
    throwsNaming(() => deriveKeepAlive(null as never), TypeError, /heartbeat settings/);
  });
});
