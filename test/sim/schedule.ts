// Schedules for the simulated world: what may happen (steps), how fast-check draws them (so that a failure
// shrinks to a short story), and how one is played: the steps, then healing and letting the session recover,
// then closing everything and letting time run out; the invariants of DESIGN.md are checked on the records.
import fc from 'fast-check';
import type { GoawayName } from '../../src/protocol/constants.js';
import { check } from './invariants.js';
import { prng } from './scheduler.js';
import { type HookEvent, type Side, TIMEOUT, World, type WorldParams } from './world.js';

export type Step = { after: number } & (
  | { do: 'send'; side: Side; n: number; big?: boolean }
  | { do: 'sendOn'; side: Side; on: HookEvent; n: number }
  | { do: 'cut'; how: 'rst' | 'fin' }
  | { do: 'stall'; way: 'up' | 'down' | 'both'; ms: number }
  | { do: 'refuse'; n: number; blackhole: boolean }
  | { do: 'pause'; who: Side; ms: number }
  | { do: 'close'; side: Side }
  | { do: 'serverClose'; gapMs: number }
  | { do: 'slowStore'; ms: number }
  | { do: 'goaway'; side: Side; name: GoawayName }
  | { do: 'pingFlood' }
  | { do: 'appPause'; side: Side; ms: number }
);

export interface Schedule {
  params: WorldParams;
  steps: Step[];
}

const side = fc.constantFrom<Side>('client', 'server');
/** Virtual time before a step: mostly short, sometimes past the timeout or the resume window. */
const after = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 40 }) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 1500 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1500, max: 9000 }) },
);
const goawayNames: GoawayName[] = [
  'normal',
  'protocol-error',
  'too-many-pings',
  'server-shutdown',
  'internal-error',
  'frame-too-large',
  'buffer-full',
  'too-many-sessions',
];

const action: fc.Arbitrary<Omit<Step, 'after'>> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      do: fc.constant('send' as const),
      side,
      n: fc.integer({ min: 1, max: 6 }),
      // Some messages span several DATA fragments (16 KiB each), so that a break can fall between them.
      big: fc.oneof(
        { weight: 4, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      do: fc.constant('sendOn' as const),
      side,
      on: fc.constantFrom<HookEvent>('drain', 'resumed', 'connected', 'session', 'dead'),
      n: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      do: fc.constant('cut' as const),
      how: fc.constantFrom('rst' as const, 'fin' as const),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      do: fc.constant('stall' as const),
      way: fc.constantFrom('up' as const, 'down' as const, 'both' as const),
      ms: fc.oneof(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 500, max: 8000 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      do: fc.constant('refuse' as const),
      n: fc.integer({ min: 1, max: 4 }),
      blackhole: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      do: fc.constant('pause' as const),
      who: side,
      ms: fc.integer({ min: 50, max: 5000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ do: fc.constant('close' as const), side }) },
  {
    weight: 1,
    arbitrary: fc.record({
      do: fc.constant('serverClose' as const),
      gapMs: fc.integer({ min: 0, max: 3000 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      do: fc.constant('slowStore' as const),
      ms: fc.constantFrom(0, 5, 200, 1500, 4000),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ do: fc.constant('goaway' as const), side, name: fc.constantFrom(...goawayNames) }),
  },
  { weight: 1, arbitrary: fc.record({ do: fc.constant('pingFlood' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      do: fc.constant('appPause' as const),
      side,
      ms: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 300, max: 6000 })),
    }),
  },
);

const step: fc.Arbitrary<Step> = fc.tuple(after, action).map(([a, s]) => ({ after: a, ...s }) as Step);

export const scheduleArbitrary: fc.Arbitrary<Schedule> = fc.record({
  params: fc.record({
    seed: fc.integer({ min: 0, max: 0x7fff_ffff }),
    link: fc.record({
      latencyMs: fc.integer({ min: 1, max: 40 }),
      jitterMs: fc.constantFrom(0, 3, 20),
      window: fc.constantFrom(64, 300, 65536),
      highWaterMark: fc.constantFrom(16, 100, 16384),
      splitChance: fc.constantFrom(0, 0.3, 0.8),
    }),
    sharedStore: fc.boolean(),
    resumeWindow: fc.constantFrom(0, 2500, 6000),
    maxBuffered: fc.constantFrom(40, 400, 8 * 1024 * 1024),
  }),
  steps: fc.array(step, { minLength: 1, maxLength: 24 }),
});

/** After the steps: long enough for stale sessions and records to expire and the client to be back. */
const SETTLE_MS = 6000 + 2 * TIMEOUT + 8000;
/** After closing everything: long enough for every linger and time to live to run out. */
const WIND_DOWN_MS = 60_000;

/** Plays a schedule on a fresh world and returns the violations of the invariants found. */
export async function play(schedule: Schedule): Promise<string[]> {
  const random = Math.random;
  // The client's backoff jitter draws from Math.random: from the schedule's seed, so that it replays.
  Math.random = prng(schedule.params.seed ^ 0x5eed);
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  try {
    const world = new World(schedule.params);
    const { scheduler } = world;
    await scheduler.runUntil(0);
    for (const s of schedule.steps) {
      await scheduler.runUntil(scheduler.now + s.after);
      apply(world, s);
      await scheduler.runUntil(scheduler.now);
    }
    // Heal everything and let the session recover: stale sessions expire, the client resumes, acks flow.
    world.net.heal();
    if (world.store !== undefined) world.store.takeDelayMs = 0;
    await scheduler.runUntil(scheduler.now + SETTLE_MS);
    const settled = check(world, 'settled');
    // Then close everything: the client says goodbye, every server closes, and time runs out.
    world.hooks.client.clear();
    world.hooks.server.clear();
    world.closeCalled = true;
    world.client.close();
    await scheduler.runUntil(scheduler.now + 10_000, () => world.client.state === 'closed');
    for (const node of world.servers) if (node.listening) node.server.close();
    for (const node of world.servers) node.listening = false;
    await scheduler.runUntil(scheduler.now + WIND_DOWN_MS);
    await new Promise((resolve) => setImmediate(resolve));
    const ended = check(world, 'ended');
    for (const r of rejections) ended.push(`unhandled rejection: ${String(r)}`);
    return [...settled, ...ended];
  } finally {
    process.off('unhandledRejection', onRejection);
    Math.random = random;
  }
}

/** Steps that break something: a message in flight across one may be delivered and its ACK lost. */
const FAULTS: ReadonlySet<Step['do']> = new Set([
  'cut',
  'stall',
  'refuse',
  'pause',
  'serverClose',
  'goaway',
  'pingFlood',
  // A paused application's waiting messages are not acknowledged: if the session ends meanwhile (even by an
  // orderly close), they are reported unconfirmed, and rightly so.
  'appPause',
]);

function apply(world: World, s: Step): void {
  if (FAULTS.has(s.do)) world.faultsAt.push(world.scheduler.now);
  switch (s.do) {
    case 'send':
      return world.send(s.side, s.n, undefined, s.big === true);
    case 'sendOn':
      world.hooks[s.side].set(s.on, (world.hooks[s.side].get(s.on) ?? 0) + s.n);
      return;
    case 'cut':
      return world.net.cut(s.how);
    case 'stall':
      return world.net.stall(s.way, s.ms);
    case 'refuse':
      if (s.blackhole) world.net.blackholes += s.n;
      else world.net.refusals += s.n;
      return;
    case 'pause': {
      const process = s.who === 'client' ? world.clientProcess : world.listening?.process;
      if (process !== undefined)
        process.pausedUntil = Math.max(process.pausedUntil, world.scheduler.now + s.ms);
      return;
    }
    case 'close':
      world.closeCalled = true;
      if (s.side === 'client') world.client.close();
      else world.current?.close();
      return;
    case 'serverClose':
      return world.closeServer(s.gapMs);
    case 'slowStore':
      if (world.store !== undefined) world.store.takeDelayMs = s.ms;
      return;
    case 'goaway':
      return world.goaway(s.side, s.name);
    case 'pingFlood':
      return world.pingFlood();
    case 'appPause':
      return world.appPause(s.side, s.ms);
  }
}

/** A schedule as a short story, one step a line (what a failure prints once shrunk). */
export function story(schedule: Schedule): string {
  const lines = [`world ${JSON.stringify(schedule.params)}`];
  let t = 0;
  for (const s of schedule.steps) {
    t += s.after;
    const { after: _after, do: what, ...rest } = s;
    lines.push(
      `  t=${t} ms: ${what} ${Object.entries(rest)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
  }
  return lines.join('\n');
}
