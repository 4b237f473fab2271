#!/usr/bin/env node
// Detection precision under load: N live connections to one server process, of which a sample is held by a
// dedicated client process from its own source address. The server process itself sends that process
// SIGSTOP (a hung peer whose kernel still answers) or SIGKILL (the kernel closes its sockets at once) and
// times, on its own monotonic clock, how long until it declares each sampled connection dead.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkSystems, parseArgs, requireBuiltLifeline } from './lib/args.mjs';
import { Fleet } from './lib/fleet.mjs';
import { machine, resultsDir } from './lib/machine.mjs';
import { AddressPool, freePort, maxSocketsPerProcess } from './lib/plan.mjs';
import { childFileLimit, fileLimits, log, rpc, sleep, waitFor } from './lib/proc.mjs';
import { fmt, markdownTable, median, quantile } from './lib/stats.mjs';

const DETECTING = ['net-ping', 'ws', 'socketio', 'lifeline'];
const USAGE = `usage: node bench/detect.mjs [--quick] [--n 10000] [--sample 100] [--systems ${DETECTING.join(',')}]
  [--signals STOP,KILL] [--interval 1000] [--timeout 3000] [--warmup 5] [--per-process 9000] [--label NAME]
  --quick      smoke run: N = 500, sample 50, warm-up 3 s`;

const flags = parseArgs(
  process.argv.slice(2),
  {
    quick: 'boolean',
    n: 'number',
    sample: 'number',
    systems: 'list',
    signals: 'list',
    interval: 'number',
    timeout: 'number',
    warmup: 'number',
    'per-process': 'number',
    'per-address': 'number',
    concurrency: 'number',
    label: 'string',
    host: 'string',
  },
  USAGE,
);
const quick = flags.quick ?? false;
const opts = {
  n: flags.n ?? (quick ? 500 : 10_000),
  sample: flags.sample ?? (quick ? 50 : 100),
  systems: flags.systems ?? DETECTING,
  signals: (flags.signals ?? ['STOP', 'KILL']).map((s) => s.toUpperCase().replace(/^SIG/, '')),
  interval: flags.interval ?? 1000,
  timeout: flags.timeout ?? 3000,
  warmupS: flags.warmup ?? (quick ? 3 : 5),
  perAddress: flags['per-address'] ?? 2000,
  concurrency: flags.concurrency ?? 200,
  host: flags.host ?? '127.0.0.1',
  label: flags.label ?? (quick ? 'detect-quick' : 'detect'),
};
checkSystems(opts.systems, DETECTING);
requireBuiltLifeline(opts.systems);
for (const s of opts.signals) {
  if (s !== 'STOP' && s !== 'KILL') {
    process.stderr.write(`--signals takes STOP and/or KILL, got '${s}'\n`);
    process.exit(2);
  }
}
const limits = fileLimits();
const childLimit = childFileLimit();
const perServer = maxSocketsPerProcess(childLimit);
opts.perProcess = Math.min(flags['per-process'] ?? 9000, perServer);
if (opts.n > perServer || opts.sample >= opts.n) {
  process.stderr.write(`--n must be at most ${perServer} (file limit ${childLimit}) and above --sample\n`);
  process.exit(2);
}
log(`file descriptors: hard limit ${limits.hard}; one server process holds at most ${perServer} connections`);

// When each system should declare a silent peer dead, measured from the fault, for a peer that was heard
// from at most one interval before it (pings every interval, answered at once on loopback).
const expected = {
  'net-ping': [opts.timeout - opts.interval, opts.timeout],
  ws: [opts.interval, 2 * opts.interval],
  socketio: [opts.timeout - opts.interval, opts.timeout],
  lifeline: [opts.timeout - opts.interval, opts.timeout],
};

const pool = new AddressPool();
const results = [];
for (const system of opts.systems) {
  for (const signal of opts.signals) {
    log(`--- ${system} SIG${signal}: ${opts.n} connections, sample of ${opts.sample}`);
    const r = await runFault(system, signal);
    results.push(r);
    if (r.error) log(`${system} SIG${signal}: FAILED: ${r.error}`);
    else
      log(
        `${system} SIG${signal}: ${r.detected}/${r.sample} detected, median ${fmt(r.medianMs, 0)} ms, ` +
          `p99 ${fmt(r.p99Ms, 0)} ms, other deaths ${r.otherDeaths}`,
      );
    await sleep(1000);
  }
}

const meta = {
  kind: 'detect',
  label: opts.label,
  startedAt: new Date().toISOString(),
  options: opts,
  machine: machine({ hard: limits.hard, soft: limits.soft, child: childLimit, perServerProcess: perServer }),
};
const dir = resultsDir();
mkdirSync(dir, { recursive: true });
let file = fileURLToPath(new URL(`${meta.startedAt.slice(0, 10)}-${opts.label}.json`, dir));
for (let i = 2; existsSync(file); i++)
  file = fileURLToPath(new URL(`${meta.startedAt.slice(0, 10)}-${opts.label}-${i}.json`, dir));
writeFileSync(file, `${JSON.stringify({ meta, results }, null, 2)}\n`);
process.stdout.write(`${report()}\n`);
log(`results written to ${file}`);
process.exit(results.some((r) => r.error) ? 1 : 0);

async function runFault(system, signal) {
  const port = await freePort(opts.host);
  const { interval, timeout, host } = opts;
  const fleet = new Fleet({ system, host, port, interval, timeout });
  const result = { system, signal, n: opts.n, sample: opts.sample, expectedMs: expected[system] };
  try {
    await fleet.startServer();
    const bulk = await fleet.connect(opts.n - opts.sample, { ...opts, pool, label: 'clients' });
    // The sample: one process, one source address, so that the server can tell its connections apart.
    const held = await fleet.connect(opts.sample, {
      ...opts,
      perProcess: opts.sample,
      perAddress: opts.sample,
      pool,
      label: 'sample',
    });
    if (bulk.failed + held.failed > 0 || !bulk.serverCounted || !held.serverCounted) {
      throw new Error(`connections failed: ${JSON.stringify({ ...bulk.errors, ...held.errors })}`);
    }
    const [victim] = held.procs;
    const address = held.plans[0][0].address;
    log(
      `${system}: ${opts.n} connected; warm-up ${opts.warmupS} s, then SIG${signal} to pid ${victim.pid} (${address})`,
    );
    await sleep(opts.warmupS * 1000);
    await rpc(fleet.server, 'fault', { pid: victim.pid, signal: `SIG${signal}`, address });
    const boundMs = Math.max(timeout, 2 * interval) + 5_000;
    const final = await waitFor(
      async () => {
        const d = await rpc(fleet.server, 'detections');
        return d.detections.length >= opts.sample ? d : false;
      },
      boundMs,
      100,
    );
    const d = final || (await rpc(fleet.server, 'detections'));
    // Let the other connections run a little past the last detection: deaths among them are false.
    await sleep(interval);
    const after = await rpc(fleet.server, 'detections');
    const ms = d.detections.map((x) => x.ms).sort((a, b) => a - b);
    const silent = d.detections.map((x) => x.silentMs).filter((v) => typeof v === 'number');
    Object.assign(result, {
      detected: ms.length,
      undetectedWithinMs: ms.length < opts.sample ? boundMs : undefined,
      minMs: ms[0],
      medianMs: median(ms),
      p99Ms: quantile(ms, 0.99),
      maxMs: ms.at(-1),
      causes: countBy(d.detections.map((x) => x.cause)),
      silentMinMs: silent.length ? Math.min(...silent) : undefined,
      silentMedianMs: silent.length ? median(silent) : undefined,
      silentMaxMs: silent.length ? Math.max(...silent) : undefined,
      otherDeaths: after.otherDeaths,
      latenciesMs: ms.map((v) => +v.toFixed(2)),
    });
  } catch (err) {
    result.error = err.message;
  } finally {
    await fleet.stop();
  }
  return result;
}

function countBy(list) {
  const out = {};
  for (const k of list) out[k] = (out[k] ?? 0) + 1;
  return out;
}

function report() {
  const lines = [
    `## Detection precision — ${opts.label} run, ${meta.startedAt.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `${opts.n} live connections to one server process, a sample of ${opts.sample} in one client process that the ` +
      `server stops (SIGSTOP) or kills (SIGKILL); interval ${opts.interval} ms, timeout ${opts.timeout} ms. ` +
      "Latency from the signal to the server declaring each sampled connection dead, on the server's clock; " +
      '"expected" is the window a correct detector lands in for a peer last heard at most one interval before the fault.',
    '',
  ];
  const header = [
    'system',
    'signal',
    'detected',
    'min ms',
    'median ms',
    'p99 ms',
    'max ms',
    'expected ms',
    'cause',
    'other deaths',
  ];
  const rows = results.map((r) =>
    r.error
      ? [r.system, `SIG${r.signal}`, `failed: ${r.error}`, '', '', '', '', '', '', '']
      : [
          r.system,
          `SIG${r.signal}`,
          `${r.detected}/${r.sample}`,
          fmt(r.minMs, 0),
          fmt(r.medianMs, 0),
          fmt(r.p99Ms, 0),
          fmt(r.maxMs, 0),
          r.signal === 'KILL' ? '≈ 0 (FIN)' : `${r.expectedMs[0]}–${r.expectedMs[1]}`,
          Object.entries(r.causes)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
          r.otherDeaths === 0 ? '0' : `**${r.otherDeaths}**`,
        ],
  );
  lines.push(markdownTable(header, rows));
  return lines.join('\n');
}
