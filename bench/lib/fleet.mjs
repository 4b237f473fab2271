// One system's server process and its client processes, started, connected and torn down with bounded waits.
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { planClients } from './plan.mjs';
import { killAndWait, log, ready, rpc, spawnNode, waitFor } from './proc.mjs';

const serverHost = fileURLToPath(new URL('./server-host.mjs', import.meta.url));
const clientHost = fileURLToPath(new URL('./client-host.mjs', import.meta.url));

export class Fleet {
  constructor({ system, host, port, interval, timeout, workers = 0, backlog = 4096 }) {
    Object.assign(this, { system, host, port, interval, timeout, workers, backlog });
    this.clients = [];
    this.connectedTotal = 0;
  }

  async startServer() {
    const args = ['--system', this.system];
    if (this.workers > 0) args.push('--workers', String(this.workers));
    this.server = spawnNode(serverHost, args, { nodeArgs: ['--expose-gc'], name: `${this.system} server` });
    await ready(this.server, 20_000);
    const { host, port, backlog, interval, timeout } = this;
    this.started = await rpc(this.server, 'start', { host, port, backlog, interval, timeout }, 30_000);
    return this.started;
  }

  /** Spawns client processes for n connections and connects them all; resolves with the connect figures. */
  async connect(n, { perProcess, perAddress, pool, concurrency, label = 'clients' }) {
    const plans = planClients(n, { perProcess, perAddress, pool });
    const procs = plans.map((_, i) =>
      spawnNode(clientHost, ['--system', this.system], { name: `${label} ${i}` }),
    );
    this.clients.push(...procs);
    await Promise.all(procs.map((p) => ready(p, 20_000)));
    const phaseMs = 30_000 + n * 5;
    log(
      `${this.system}: connecting ${n} over ${procs.length} process(es) (at most ${Math.round(phaseMs / 1000)} s)`,
    );
    const { host, port, interval, timeout } = this;
    const startedAt = performance.now();
    const results = await Promise.all(
      procs.map((p, i) =>
        rpc(p, 'connect', { host, port, plan: plans[i], interval, timeout, concurrency }, phaseMs),
      ),
    );
    const clientMs = performance.now() - startedAt;
    const connected = results.reduce((s, r) => s + r.connected, 0);
    const failed = results.reduce((s, r) => s + r.failed, 0);
    const errors = {};
    for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    this.connectedTotal += connected;
    // Every client is connected; now the server must have counted them too (its accept may lag).
    const count = await waitFor(async () => {
      const c = await rpc(this.server, 'count');
      return c.opened >= this.connectedTotal ? c : false;
    }, 15_000);
    const serverMs = performance.now() - startedAt;
    return { procs, plans, connected, failed, errors, clientMs, serverMs, serverCounted: count !== false };
  }

  async stop() {
    await killAndWait([this.server, ...this.clients].filter(Boolean));
  }
}
