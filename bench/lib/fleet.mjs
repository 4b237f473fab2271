// One system's server process and its client processes, started, connected and torn down with bounded waits.
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { planClients } from './plan.mjs';
import { killAndWait, log, ready, rpc, spawnNode, waitFor } from './proc.mjs';

const serverHost = fileURLToPath(new URL('./server-host.mjs', import.meta.url));
const clientHost = fileURLToPath(new URL('./client-host.mjs', import.meta.url));

export class Fleet {
  constructor({
    system,
    host,
    port,
    interval,
    timeout,
    workers = 0,
    sched,
    maxPerWorker = 0,
    backlog = 4096,
  }) {
    Object.assign(this, { system, host, port, interval, timeout, workers, sched, maxPerWorker, backlog });
    this.clients = [];
    this.connectedTotal = 0;
  }

  async startServer() {
    const args = ['--system', this.system];
    if (this.workers > 0) args.push('--workers', String(this.workers));
    if (this.workers > 0 && this.sched) args.push('--sched', this.sched);
    this.server = spawnNode(serverHost, args, { nodeArgs: ['--expose-gc'], name: `${this.system} server` });
    await ready(this.server, 20_000);
    const { host, port, backlog, interval, timeout } = this;
    const maxLive = this.workers > 0 ? this.maxPerWorker : 0;
    this.started = await rpc(
      this.server,
      'start',
      { host, port, backlog, interval, timeout, maxLive },
      30_000,
    );
    return this.started;
  }

  /**
   * Spawns client processes for n connections and connects them all; resolves with the connect figures.
   * With batch > 0 the connects are paced: at most `batch` connections (over all client processes) are
   * opened per round, and the next round starts only once the server has counted every connection so far
   * (see connectPaced). batch = 0 opens them all at once, each client process `concurrency` at a time.
   */
  async connect(n, { perProcess, perAddress, pool, concurrency, batch = 0, label = 'clients' }) {
    const plans = planClients(n, { perProcess, perAddress, pool });
    const procs = plans.map((_, i) =>
      spawnNode(clientHost, ['--system', this.system], { name: `${label} ${i}` }),
    );
    this.clients.push(...procs);
    await Promise.all(procs.map((p) => ready(p, 20_000)));
    const phaseMs = 30_000 + n * 5;
    log(
      `${this.system}: connecting ${n} over ${procs.length} process(es)` +
        `${batch > 0 ? `, paced ${batch} per round` : ''} (at most ${Math.round(phaseMs / 1000)} s)`,
    );
    const startedAt = performance.now();
    const figures =
      batch > 0
        ? await this.connectPaced(procs, plans, { batch, concurrency, phaseMs, startedAt })
        : await this.connectAll(procs, plans, { concurrency, phaseMs });
    const clientMs = performance.now() - startedAt;
    this.connectedTotal += figures.connected;
    // Every client is connected; now the server must have counted them too (its accept may lag).
    const count = await waitFor(async () => {
      const c = await rpc(this.server, 'count');
      return c.opened >= this.connectedTotal ? c : false;
    }, 15_000);
    const serverMs = performance.now() - startedAt;
    return { procs, plans, ...figures, clientMs, serverMs, serverCounted: count !== false };
  }

  async connectAll(procs, plans, { concurrency, phaseMs }) {
    const { host, port, interval, timeout } = this;
    const results = await Promise.all(
      procs.map((p, i) =>
        rpc(p, 'connect', { host, port, plan: plans[i], interval, timeout, concurrency }, phaseMs),
      ),
    );
    return sumResults(results);
  }

  /**
   * Paced connects, for a node:cluster server. Its primary accepts every connection the kernel completes
   * and queues it until a worker takes it (one hand-off over IPC per worker at a time, a round trip that
   * slows to ~100/s when the two cores are busy with the heartbeats of ~35 000 connections). Unpaced, the
   * queue grew without bound: with net-ping (whose client is "connected" at the TCP handshake) the primary
   * reached its own 20 000-descriptor limit within 3 s and libuv then accepted-and-closed connections
   * (EMFILE), and queued connections waited past the clients' 3 s heartbeat deadline; with lifeline (whose
   * client is connected only at WELCOME) 1 000 handshakes sat in the queue, and late in the phase they waited
   * past the 10 s handshake timeout (LIFELINE_CONNECTION_LOST). So a round opens at most `batch` connections
   * and the next round waits until the server has counted them all: the primary never queues more than one
   * round, and no connection waits long in it. The timeouts of the systems are left as they are.
   */
  async connectPaced(procs, plans, { batch, concurrency, phaseMs, startedAt }) {
    const { host, port, interval, timeout } = this;
    const deadline = startedAt + phaseMs;
    const perRound = Math.max(1, Math.ceil(batch / procs.length));
    const done = plans.map(() => 0);
    const sizes = plans.map((plan) => plan.reduce((s, x) => s + x.count, 0));
    const totals = { connected: 0, failed: 0, errors: {} };
    let lastLog = performance.now();
    while (done.some((d, i) => d < sizes[i])) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`connect phase over ${Math.round(phaseMs / 1000)} s`);
      const results = await Promise.all(
        procs.map((p, i) => {
          const count = Math.min(perRound, sizes[i] - done[i]);
          const plan = slicePlan(plans[i], done[i], count);
          done[i] += count;
          if (count === 0) return { connected: 0, failed: 0, errors: {} };
          return rpc(
            p,
            'connect',
            { host, port, plan, interval, timeout, concurrency: Math.min(concurrency, count) },
            left,
          );
        }),
      );
      const round = sumResults(results);
      totals.connected += round.connected;
      totals.failed += round.failed;
      for (const [k, v] of Object.entries(round.errors)) totals.errors[k] = (totals.errors[k] ?? 0) + v;
      // A failure is reported, not retried: the trial fails with it.
      if (round.failed > 0) break;
      const expected = this.connectedTotal + totals.connected;
      const counted = await waitFor(
        async () => (await rpc(this.server, 'count')).opened >= expected,
        Math.max(1, Math.min(20_000, deadline - performance.now())),
        20,
      );
      if (!counted) break;
      if (performance.now() - lastLog >= 5_000) {
        lastLog = performance.now();
        log(`  ${this.system}: ${totals.connected} connected and counted by the server`);
      }
    }
    return totals;
  }
  async stop() {
    await killAndWait([this.server, ...this.clients].filter(Boolean));
  }
}

function sumResults(results) {
  const errors = {};
  for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  return {
    connected: results.reduce((s, r) => s + r.connected, 0),
    failed: results.reduce((s, r) => s + r.failed, 0),
    errors,
  };
}

/** The part of a plan [{ address, count }] from its skip-th connection, count connections long. */
export function slicePlan(plan, skip, count) {
  const out = [];
  for (const { address, count: c } of plan) {
    if (count <= 0) break;
    if (skip >= c) {
      skip -= c;
      continue;
    }
    const take = Math.min(c - skip, count);
    out.push({ address, count: take });
    count -= take;
    skip = 0;
  }
  return out;
}
