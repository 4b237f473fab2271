import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IdleClock, type IdleEvent, type IdleKind, validateIdleOptions } from '../../src/idle/clock.js';

type Activity = { at: number; what: 'read' | 'write' };
const period = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 500 }));
const periods = fc
  .tuple(period, period, period)
  .filter(([r, w, a]) => r + w + a > 0)
  .map(([readerIdle, writerIdle, allIdle]) => ({ readerIdle, writerIdle, allIdle }));
const activities = fc
  .array(
    fc.record({
      at: fc.integer({ min: 0, max: 5000 }),
      what: fc.constantFrom('read' as const, 'write' as const),
    }),
  )
  .map((list) => list.sort((a, b) => a.at - b.at));

/** Drives a clock the way a timer would: polls at each nextCheckAt, applies activity at its time. */
function drive(options: ReturnType<typeof validateIdleOptions>, acts: Activity[], horizon: number) {
  const clock = new IdleClock(options, 0);
  const events: (IdleEvent & { at: number })[] = [];
  let i = 0;
  for (;;) {
    const nextActivity = acts[i]?.at ?? Number.POSITIVE_INFINITY;
    const now = Math.min(nextActivity, clock.nextCheckAt());
    if (now > horizon) break;
    while (i < acts.length && acts[i]!.at === now) {
      if (acts[i]!.what === 'read') clock.read(now);
      else clock.wrote(now);
      i++;
    }
    for (const e of clock.poll(now)) events.push({ ...e, at: now });
  }
  return events;
}

/** Netty's semantics stated directly: after activity at L, events at L + kP (k >= 1) until the next activity. */
function expected(kind: IdleKind, p: number, acts: Activity[], horizon: number) {
  if (p === 0) return [];
  const times = [
    0,
    ...acts
      .filter((a) => kind === 'all' || a.what === (kind === 'reader' ? 'read' : 'write'))
      .map((a) => a.at),
  ];
  const out: { kind: IdleKind; at: number; idleMs: number; first: boolean }[] = [];
  for (let j = 0; j < times.length; j++) {
    const from = times[j]!;
    const until = Math.min(times[j + 1] ?? Number.POSITIVE_INFINITY, horizon + 1);
    for (let k = 1; from + k * p < until; k++)
      out.push({ kind, at: from + k * p, idleMs: k * p, first: k === 1 });
  }
  return out;
}

describe('IdleClock', () => {
  it('reports exactly what Netty IdleStateHandler reports, for any activity', () => {
    fc.assert(
      fc.property(periods, activities, (o, acts) => {
        const horizon = 6000;
        const options = validateIdleOptions(o);
        const got = drive(options, acts, horizon);
        for (const [kind, p] of [
          ['reader', options.readerIdle],
          ['writer', options.writerIdle],
          ['all', options.allIdle],
        ] as const) {
          assert.deepEqual(
            got.filter((e) => e.kind === kind).map(({ at, idleMs, first }) => ({ at, idleMs, first })),
            expected(kind, p, acts, horizon).map(({ at, idleMs, first }) => ({ at, idleMs, first })),
          );
        }
      }),
    );
  });

  it('never reports idleness early, whenever it is polled, and always looks ahead', () => {
    const step = fc.record({
      dt: fc.double({ min: 0, max: 300, noNaN: true }),
      act: fc.constantFrom('read', 'write', 'none'),
    });
    fc.assert(
      fc.property(periods, fc.array(step, { maxLength: 200 }), (o, steps) => {
        const clock = new IdleClock(o, 0);
        let now = 0;
        for (const s of steps) {
          now += s.dt;
          if (s.act === 'read') clock.read(now);
          if (s.act === 'write') clock.wrote(now);
          for (const e of clock.poll(now)) {
            const last =
              e.kind === 'reader'
                ? clock.lastReadAt
                : e.kind === 'writer'
                  ? clock.lastWriteAt
                  : Math.max(clock.lastReadAt, clock.lastWriteAt);
            const p = e.kind === 'reader' ? o.readerIdle : e.kind === 'writer' ? o.writerIdle : o.allIdle;
            assert.ok(now - last >= p! - 1e-9 && e.idleMs === now - last);
          }
          assert.ok(clock.nextCheckAt() > now);
        }
      }),
    );
  });

  it('validates options: each off (0) or a positive number of ms, at least one on', () => {
    assert.throws(() => validateIdleOptions({}), {
      name: 'RangeError',
      message: 'at least one of readerIdle, writerIdle, allIdle must be greater than 0 ms',
    });
    assert.throws(() => validateIdleOptions({ readerIdle: -1 }), {
      name: 'RangeError',
      message: 'readerIdle must be between 0 ms and 2147483647 ms, got -1 ms',
    });
    assert.throws(() => validateIdleOptions({ writerIdle: Number.NaN }), {
      name: 'TypeError',
      message: /^writerIdle/,
    });
    assert.deepEqual(validateIdleOptions({ allIdle: 5 }), { readerIdle: 0, writerIdle: 0, allIdle: 5 });
  });
});
