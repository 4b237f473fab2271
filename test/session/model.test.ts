// Model-based test of the session layer on the simulated network (test/sim): fast-check draws schedules of
// sends (also while detached and from inside event handlers), cuts, stalls, refusals, pauses, closes, server
// shutdowns with a shared store, slow store answers, expiring resume windows and GOAWAYs; each is played on a
// fresh virtual world and the invariants of DESIGN.md are checked. A failure prints the seed and path that
// replay it and the shrunk schedule as a story.
//   LIFELINE_SIM_RUNS=N        number of schedules (default 10 000)
//   LIFELINE_SIM_SEED=S        the seed of a failure (with LIFELINE_SIM_PATH=P: replays exactly its shrunk case)
//   LIFELINE_SIM_SHRINK=0      report the first failure found without shrinking it
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { play, type Schedule, scheduleArbitrary, story } from '../sim/schedule.js';

const runs = Number(process.env.LIFELINE_SIM_RUNS ?? 10_000);
const seed = process.env.LIFELINE_SIM_SEED === undefined ? undefined : Number(process.env.LIFELINE_SIM_SEED);
const path = process.env.LIFELINE_SIM_PATH;

test(`every message is delivered once and in order or reported unconfirmed, under ${runs} random schedules`, async () => {
  const started = performance.now();
  let played = 0;
  const property = fc.asyncProperty(scheduleArbitrary, async (schedule) => {
    played++;
    const violations = await play(schedule);
    assert.deepEqual(violations, []);
  });
  const result = await fc.check(property, {
    numRuns: runs,
    endOnFailure: process.env.LIFELINE_SIM_SHRINK === '0',
    ...(seed === undefined ? {} : { seed }),
    ...(path === undefined ? {} : { path }),
  });
  const s = (performance.now() - started) / 1000;
  console.log(`model: ${played} schedules in ${s.toFixed(1)} s (${Math.round(played / s)}/s)`);
  if (!result.failed) return;
  const [schedule] = result.counterexample as [Schedule];
  // Played again for its violations; a schedule that throws (a livelock) reports its error instead.
  const violations = await play(schedule).catch((err: unknown) => [String(err)]);
  const replay = `LIFELINE_SIM_SEED=${result.seed} LIFELINE_SIM_PATH=${result.counterexamplePath}`;
  assert.fail(
    `schedule failed after ${result.numRuns} run(s), shrunk ${result.numShrinks} time(s); replay with\n` +
      `  ${replay} node --import tsx --test test/session/model.test.ts\n` +
      `${story(schedule)}\nviolations:\n  ${violations.join('\n  ')}`,
  );
});
