#!/usr/bin/env node
// Heap per connection, exactly: each system's own server module holds N connections from its own client
// module (in a child process), and the server's V8 heap after two full collections is measured before and
// after. Two N give a slope (bytes per connection) free of fixed costs such as code, which RSS figures mix
// in. Quicker and steadier than bench/run.mjs for judging a change to what one connection holds; the
// optional heap snapshot (--snapshot) shows which objects those bytes are.
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import { checkSystems, parseArgs, requireBuiltLifeline } from './lib/args.mjs';
import { machine, resultsDir } from './lib/machine.mjs';
import { freePort } from './lib/plan.mjs';
import { log } from './lib/proc.mjs';
import { markdownTable } from './lib/stats.mjs';

const SYSTEMS = ['net-idle', 'net-ping', 'ws', 'socketio', 'lifeline'];
const USAGE = `usage: node bench/memory.mjs [--systems net-ping,lifeline] [--n 2000,6000] [--settle 4]
  [--snapshot] [--label NAME]
  --settle     seconds between the last connection and the measurement (heartbeats run meanwhile)
  --snapshot   also write a heap snapshot per (system, N) next to the results file`;
const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') await child(process.argv.slice(3));
else await main();

async function main() {
  const flags = parseArgs(
    process.argv.slice(2),
    { systems: 'list', n: 'numbers', settle: 'number', snapshot: 'boolean', label: 'string' },
    USAGE,
  );
  const opts = {
    systems: flags.systems ?? ['net-ping', 'lifeline'],
    ns: flags.n ?? [2000, 6000],
    settleS: flags.settle ?? 4,
    snapshot: flags.snapshot ?? false,
    label: flags.label ?? 'memory',
  };
  checkSystems(opts.systems, SYSTEMS);
  requireBuiltLifeline(opts.systems);
  if (opts.ns.length < 2) log('one N: the bytes per connection include the fixed costs');
  const dir = fileURLToPath(resultsDir()).replace(/\/$/, '');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().slice(0, 10);
  const trials = [];
  for (const system of opts.systems) {
    for (const n of opts.ns) {
      log(`${system}: ${n} connections`);
      const snapshot = opts.snapshot ? `${dir}/${stamp}-${opts.label}-${system}-${n}.heapsnapshot` : '';
      trials.push({ system, n, ...(await measure(system, n, opts.settleS, snapshot)) });
    }
  }
  const rows = opts.systems.map((system) => {
    const t = trials.filter((x) => x.system === system).sort((a, b) => a.n - b.n);
    const first = t[0];
    const last = t.at(-1);
    const slope =
      t.length > 1 ? (last.heapDelta - first.heapDelta) / (last.n - first.n) : last.heapDelta / last.n;
    return { system, slope, fixed: first.heapDelta - slope * first.n, trials: t };
  });
  const base = rows.find((r) => r.system === 'net-ping');
  const table = markdownTable(
    [
      'system',
      'heap B/conn (slope)',
      '× net-ping',
      'fixed heap MB',
      ...opts.ns.map((n) => `heap Δ MB at ${n}`),
    ],
    rows.map((r) => [
      r.system,
      Math.round(r.slope),
      base ? (r.slope / base.slope).toFixed(2) : '—',
      (r.fixed / 1e6).toFixed(2),
      ...r.trials.map((t) => (t.heapDelta / 1e6).toFixed(1)),
    ]),
  );
  process.stdout.write(`## Heap per connection — ${opts.label}, ${stamp}\n\n${table}\n`);
  const file = `${dir}/${stamp}-${opts.label}.json`;
  writeFileSync(
    file,
    `${JSON.stringify({ meta: { kind: 'memory', options: opts, machine: machine() }, rows }, null, 1)}\n`,
  );
  log(`results written to ${file}`);
}

/** One (system, N): a server process that measures itself (--expose-gc) and reports over IPC. */
function measure(system, n, settleS, snapshot) {
  return new Promise((resolve, reject) => {
    const proc = fork(self, ['--child', 'server', system, String(n), String(settleS), snapshot], {
      execArgv: ['--expose-gc'],
    });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${system} at ${n} connections took over 120 s`));
    }, 120_000);
    proc.once('message', (m) => {
      clearTimeout(timer);
      if (m.error) reject(new Error(`${system}: ${m.error}`));
      else resolve(m);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${system} server exited with ${code} before reporting`));
    });
  });
}

async function child([role, system, nArg, a, b]) {
  const n = Number(nArg);
  if (role === 'client') {
    const { openClient } = await import(`./systems/${system}/client.mjs`);
    let connected = 0;
    const port = Number(a);
    for (let i = 0; i < n; i++) {
      openClient({ host: '127.0.0.1', port, interval: 1000, timeout: 3000, onDeath() {} }).then(
        () => ++connected === n && process.send('connected'),
        (err) => process.send({ error: err.message }),
      );
      if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    process.on('disconnect', () => process.exit(0));
    return;
  }
  const settleS = Number(a);
  const snapshot = b;
  try {
    const module = await import(`./systems/${system}/server.mjs`);
    const port = await freePort('127.0.0.1');
    const before = await heapAfterGc();
    await module.createBenchServer({
      host: '127.0.0.1',
      port,
      backlog: 4096,
      interval: 1000,
      timeout: 3000,
      onOpen() {},
      onDeath() {},
    });
    const clients = fork(self, ['--child', 'client', system, String(n), String(port)], { execArgv: [] });
    const [m] = await new Promise((resolve) => clients.once('message', (msg) => resolve([msg])));
    if (m?.error) throw new Error(`client: ${m.error}`);
    await new Promise((resolve) => setTimeout(resolve, settleS * 1000));
    const after = await heapAfterGc();
    if (snapshot) writeHeapSnapshot(snapshot);
    process.send({ heapDelta: after - before, heapBefore: before, heapAfter: after });
    clients.kill();
  } catch (err) {
    process.send({ error: err.message });
  }
  setTimeout(() => process.exit(0), 100);
}

async function heapAfterGc() {
  global.gc();
  await new Promise((resolve) => setImmediate(resolve));
  global.gc();
  return process.memoryUsage().heapUsed;
}
