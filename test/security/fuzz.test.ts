// A stateful adversarial fuzzer (issue 12, item 5). Hostile peers choose, step by step, valid and invalid
// frames, splits, trickles, pauses, floods, lies (ACKs ahead of what they read, a false lastReceived in a
// resume HELLO) and hang-ups, against a real lifeline server (its own process, on loopback) whose
// application echoes with backpressure honoured, while well-behaved clients talk to it alongside. What must
// hold: no uncaught exception ends the server, its memory stays under the bound its limits imply
// (fuzz-limits.ts), and no well-behaved client is declared dead.
//
//   LIFELINE_FUZZ_STEPS=N   steps (default 100 000)
//   LIFELINE_FUZZ_SEED=S    replays the steps of a failure's seed (the order of events on real sockets may
//                           still differ: the seed fixes what the peers do, not when the kernel delivers it)
//   LIFELINE_FUZZ_REASONS=1 counts the server's GOAWAYs by reason, not only by name (which checks fired)
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { connect, type HeartbeatClient } from '../../src/index.js';
import { within } from '../helpers/wait.js';
import { FUZZ_LIMITS, memoryBound } from './fuzz-limits.js';
import { type Act, HostilePeer } from './hostile-peer.js';

const STEPS = Number(process.env.LIFELINE_FUZZ_STEPS ?? 100_000);
const SEED =
  process.env.LIFELINE_FUZZ_SEED === undefined
    ? Date.now() ^ (process.pid << 8)
    : Number(process.env.LIFELINE_FUZZ_SEED);
/** Steps between two turns of the event loop (the queued output is written then): batching reaches 10^5. */
const BATCH = 24;
/** ms between two memory samples of the server. */
const SAMPLE_MS = 2000;

const steps: fc.Arbitrary<{ conn: number; act: Act }> = fc.record({
  conn: fc.nat(FUZZ_LIMITS.hostileConnections - 1),
  act: fc.oneof(
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('hello' as const),
        token: fc.constantFrom(
          'none' as const,
          'none' as const,
          'known' as const,
          'known' as const,
          'random' as const,
        ),
        lastReceived: fc.constantFrom('true' as const, 'ahead' as const, 'behind' as const),
        credentials: fc.oneof(
          { weight: 20, arbitrary: fc.nat(64) },
          fc.constantFrom(4096, 8192, 9000, 65_000),
        ),
      }),
    },
    {
      weight: 30,
      arbitrary: fc.record({
        kind: fc.constant('data' as const),
        length: fc.oneof({ weight: 30, arbitrary: fc.nat(2000) }, fc.nat(FUZZ_LIMITS.maxFrame - 6)),
        seq: fc.oneof(
          { weight: 30, arbitrary: fc.constant('next' as const) },
          fc.constantFrom('repeat' as const, 'skip' as const),
        ),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('flood' as const),
        frames: fc.integer({ min: 1, max: 50 }),
        length: fc.nat(1000),
      }),
    },
    {
      weight: 8,
      arbitrary: fc.record({
        kind: fc.constant('ack' as const),
        lie: fc.oneof(
          { weight: 8, arbitrary: fc.constant('true' as const) },
          { weight: 4, arbitrary: fc.constant('echoed' as const) },
          fc.constantFrom('ahead' as const, 'zero' as const),
        ),
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('ping' as const),
        count: fc.oneof({ weight: 10, arbitrary: fc.integer({ min: 1, max: 2 }) }, fc.constant(40)),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('pong' as const) }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('goaway' as const), code: fc.nat(20), reason: fc.nat(8) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('garbage' as const),
        bytes: fc.array(fc.nat(255), { maxLength: 32 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('bad-header' as const),
        which: fc.constantFrom(
          'unknown-type' as const,
          'too-large' as const,
          'bad-length' as const,
          'bad-token' as const,
        ),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('preface' as const), version: fc.constantFrom(1, 1, 2, 0) }),
    },
    {
      weight: 15,
      arbitrary: fc.record({
        kind: fc.constant('flush' as const),
        how: fc.constantFrom(...(['whole', 'whole', 'whole', 'split', 'split', 'trickle'] as const)),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('pause' as const) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('resume' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.nat(10) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('end' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('destroy' as const) }) },
  ),
});

interface MemorySample {
  heap: number;
  arrayBuffers: number;
  rss: number;
  peakRss: number;
  live: number;
  sessions: number;
  echoed: number;
  dropped: number;
  sendErrors: number;
}

/** The server process: its port, its memory on request, and how it ended if it did. */
class Target {
  readonly child: ChildProcess;
  exit: { code: number | null; signal: string | null } | undefined;
  uncaught: string | undefined;
  private waiters: Array<(m: MemorySample) => void> = [];

  constructor() {
    const script = fileURLToPath(new URL('./fuzz-server.ts', import.meta.url));
    this.child = fork(script, [], {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: { type: string; stack?: string } & MemorySample) => {
      if (m.type === 'uncaught') this.uncaught = m.stack;
      if (m.type === 'memory') this.waiters.shift()?.(m);
    });
    this.child.on('exit', (code, signal) => {
      this.exit = { code, signal };
      for (const w of this.waiters.splice(0)) w(undefined as unknown as MemorySample);
    });
  }

  async port(): Promise<number> {
    const [m] = (await within(20_000, 'the fuzz server to listen', once(this.child, 'message'))) as [
      { type: string; port: number },
    ];
    assert.equal(m.type, 'listening');
    return m.port;
  }

  memory(): Promise<MemorySample | undefined> {
    if (this.exit !== undefined) return Promise.resolve(undefined);
    return within(
      20_000,
      'a memory sample from the fuzz server',
      new Promise<MemorySample>((resolve) => {
        this.waiters.push(resolve);
        this.child.send({ type: 'memory' });
      }),
    );
  }
}

/** A client that follows the protocol, sends a little every 100 ms, and counts its deaths and echoes. */
class HonestClient {
  readonly client: HeartbeatClient;
  deaths: string[] = [];
  echoes = 0;
  private timer: NodeJS.Timeout;

  constructor(port: number) {
    this.client = connect({
      host: '127.0.0.1',
      port,
      interval: FUZZ_LIMITS.interval,
      timeout: FUZZ_LIMITS.timeout,
    });
    this.client.on('dead', (r) => this.deaths.push(`${r.cause}: ${r.detail ?? ''}`));
    this.client.on('message', () => this.echoes++);
    this.client.on('error', (err) => this.deaths.push(`error: ${err.message}`));
    this.timer = setInterval(() => {
      if (this.client.connected && this.client.buffered < 64 * 1024)
        this.client.send(Buffer.alloc(100, 0x68));
    }, 100);
  }

  connected(): Promise<unknown> {
    return within(10_000, 'an honest client to connect', once(this.client, 'connected'));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await within(10_000, 'an honest client to close', this.client.close());
  }
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

describe('adversarial fuzzer', { timeout: 240_000 }, () => {
  let target: Target;
  let port: number;
  before(async () => {
    target = new Target();
    port = await target.port();
  });
  after(() => {
    if (target.exit === undefined) target.child.kill('SIGKILL');
  });

  it(`${STEPS} hostile steps: no uncaught exception, memory under the limits' bound, no honest client harmed`, async () => {
    const seedLine = `seed ${SEED} (replay the steps: LIFELINE_FUZZ_SEED=${SEED} LIFELINE_FUZZ_STEPS=${STEPS})`;
    console.log(`fuzz: ${seedLine}`);
    const plan = fc.sample(steps, { seed: SEED, numRuns: STEPS });
    const honest = Array.from({ length: FUZZ_LIMITS.honestClients }, () => new HonestClient(port));
    await Promise.all(honest.map((h) => h.connected()));
    const baseline = (await target.memory())!;
    const bound = memoryBound();
    let peakHeld = 0;
    let peakRss = baseline.rss;
    const problems: string[] = [];
    const check = async (when: string) => {
      const m = await target.memory();
      if (m === undefined) {
        problems.push(`${when}: the server ended (${JSON.stringify(target.exit)}): ${target.uncaught ?? ''}`);
        return undefined;
      }
      const held = m.heap + m.arrayBuffers - (baseline.heap + baseline.arrayBuffers);
      peakHeld = Math.max(peakHeld, held);
      peakRss = Math.max(peakRss, m.peakRss);
      if (held > bound.heap)
        problems.push(`${when}: heap + buffers ${mib(held)} over baseline, bound ${mib(bound.heap)}`);
      if (m.peakRss - baseline.rss > bound.rss) {
        problems.push(
          `${when}: RSS peaked ${mib(m.peakRss - baseline.rss)} over baseline, bound ${mib(bound.rss)}`,
        );
      }
      return m;
    };

    // A RNG for the peers' own small choices (random tokens, split points), from the same seed.
    let state = SEED >>> 0 || 1;
    const random = () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 2 ** 32;
    };
    const peers = Array.from({ length: FUZZ_LIMITS.hostileConnections }, () => new HostilePeer(port, random));
    const startedAt = performance.now();
    let sampledAt = startedAt;
    let done = 0;
    try {
      for (const { conn, act } of plan) {
        await peers[conn]!.step(act);
        done++;
        if (done % BATCH === 0) {
          for (const p of peers) await p.flush('whole');
          await new Promise((resolve) => setImmediate(resolve));
        }
        if (performance.now() - sampledAt >= SAMPLE_MS) {
          sampledAt = performance.now();
          await check(`after step ${done}`);
          if (target.exit !== undefined || problems.length > 0) break;
        }
      }
    } finally {
      for (const p of peers) p.close();
    }
    const seconds = (performance.now() - startedAt) / 1000;
    const during = await check(`at the end (step ${done})`);
    const connections = peers.reduce((n, p) => n + p.connections, 0);
    const goaways = new Map<string, number>();
    for (const p of peers) for (const [name, n] of p.goaways) goaways.set(name, (goaways.get(name) ?? 0) + n);
    const deaths = honest.flatMap((h, i) => h.deaths.map((d) => `honest client ${i}: ${d}`));
    const echoes = honest.map((h) => h.echoes);
    await Promise.all(honest.map((h) => h.close()));

    // Once the window of the hostile sessions has run out, what they held must be given back.
    await new Promise((resolve) => setTimeout(resolve, FUZZ_LIMITS.resumeWindow + FUZZ_LIMITS.timeout));
    const settled = await target.memory();
    const leftOver =
      settled === undefined
        ? Number.NaN
        : settled.heap + settled.arrayBuffers - (baseline.heap + baseline.arrayBuffers);
    console.log(
      `fuzz: ${done} steps in ${seconds.toFixed(1)} s over ${connections} hostile connections; server: ` +
        `${during?.sessions ?? '?'} sessions, ${during?.echoed ?? '?'} echoed, ${during?.dropped ?? '?'} dropped by the echo, ` +
        `${during?.sendErrors ?? '?'} refused sends; peak heap+buffers ${mib(peakHeld)} over baseline ` +
        `(bound ${mib(bound.heap)}), peak RSS ${mib(peakRss - baseline.rss)} over baseline (bound ${mib(bound.rss)}); ` +
        `${mib(leftOver)} left after the window; honest echoes ${echoes.join('/')}; GOAWAYs ${JSON.stringify(Object.fromEntries(goaways))}`,
    );
    if (settled !== undefined && leftOver > 16 * 1048576)
      problems.push(`${mib(leftOver)} still held once every hostile session expired`);
    if (target.uncaught !== undefined) problems.push(`uncaught exception in the server: ${target.uncaught}`);
    problems.push(...deaths);
    if (echoes.some((n) => n === 0)) problems.push(`an honest client got no echo: ${echoes.join('/')}`);
    assert.deepEqual(problems, [], `fuzz failed with ${seedLine}`);
    assert.equal(done, STEPS);
  });
});
