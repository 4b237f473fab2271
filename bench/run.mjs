#!/usr/bin/env node
// Steady-state cost of holding N idle connections with a heartbeat, for each system, one server process
// (or a node:cluster of them with --cluster) and client processes on loopback. Progress on stderr, the
// markdown table on stdout, everything measured in bench/results/<date>-<label>.json.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkSystems, KNOWN_SYSTEMS, parseArgs, requireBuiltLifeline } from './lib/args.mjs';
import { Fleet } from './lib/fleet.mjs';
import { machine, resultsDir } from './lib/machine.mjs';
import { AddressPool, freePort, maxSocketsPerProcess } from './lib/plan.mjs';
import { childFileLimit, fileLimits, log, rpc, sleep } from './lib/proc.mjs';
import { fitLine, fmt, MB, markdownTable, median, ratio } from './lib/stats.mjs';

const USAGE = `usage: node bench/run.mjs [--quick] [--cluster] [--n 1000,5000,19000] [--systems ${KNOWN_SYSTEMS.join(',')}]
  [--interval 1000] [--timeout 3000] [--window 20] [--warmup 5] [--repeat 1] [--workers 2]
  [--per-process 9000] [--per-address 2000] [--concurrency 200] [--batch 0] [--sched none|rr] [--label NAME] [--host 127.0.0.1]
  --quick      smoke run: N = 200,1000, window 5 s, warm-up 2 s
  --cluster    the server as a node:cluster of --workers processes (default N = 38000, systems net-ping,lifeline,
               connects paced: --batch 400, --concurrency 80)
  --batch B    open at most B connections per round, the next round once the server counted them (0: all at once)
  --sched      the cluster's scheduling policy: none (SCHED_NONE, default; workers capped at their even share)
               or rr (SCHED_RR, the primary deals connections)`;

const flags = parseArgs(
  process.argv.slice(2),
  {
    quick: 'boolean',
    cluster: 'boolean',
    n: 'numbers',
    systems: 'list',
    interval: 'number',
    timeout: 'number',
    window: 'number',
    warmup: 'number',
    repeat: 'number',
    workers: 'number',
    'per-process': 'number',
    'per-address': 'number',
    concurrency: 'number',
    batch: 'number',
    sched: 'string',
    label: 'string',
    host: 'string',
  },
  USAGE,
);

const quick = flags.quick ?? false;
const cluster = flags.cluster ?? false;
const opts = {
  ns: flags.n ?? (quick ? [200, 1000] : cluster ? [38_000] : [1000, 5000, 19_000]),
  systems: flags.systems ?? (cluster ? ['net-ping', 'lifeline'] : KNOWN_SYSTEMS),
  interval: flags.interval ?? 1000,
  timeout: flags.timeout ?? 3000,
  windowS: flags.window ?? (quick ? 5 : 20),
  warmupS: flags.warmup ?? (quick ? 2 : 5),
  repeat: Math.max(1, flags.repeat ?? 1),
  workers: cluster ? Math.max(1, flags.workers ?? 2) : 0,
  perAddress: flags['per-address'] ?? 2000,
  // A node:cluster primary queues every connection the kernel completes until a worker takes it, one IPC
  // hand-off per worker at a time: unpaced, 38 000 connects overran it (see Fleet#connectPaced). In cluster
  // mode the connects go in rounds of 400 (80 per client process at a time), each counted by the server
  // before the next; the single-process runs connect as before.
  concurrency: flags.concurrency ?? (cluster ? 80 : 200),
  batch: flags.batch ?? (cluster ? 400 : 0),
  sched: flags.sched ?? 'none',
  host: flags.host ?? '127.0.0.1',
  label: flags.label ?? (cluster ? 'cluster' : quick ? 'quick' : 'full'),
};
checkSystems(opts.systems);
requireBuiltLifeline(opts.systems);
if (opts.timeout <= opts.interval) {
  process.stderr.write('--timeout must be longer than --interval\n');
  process.exit(2);
}

const limits = fileLimits();
const childLimit = childFileLimit();
const perServer = maxSocketsPerProcess(childLimit);
opts.perProcess = Math.min(flags['per-process'] ?? 9000, perServer);
log(
  `file descriptors: hard limit ${limits.hard}, soft ${limits.soft}; children run with ${childLimit}, so one ` +
    `process holds at most ${perServer} connections; clients at most ${opts.perProcess} per process`,
);

const runnable = opts.ns.filter((n) => {
  const perWorker = opts.workers > 0 ? Math.ceil(n / opts.workers) : n;
  if (perWorker <= perServer) return true;
  log(
    `skipping N=${n}: ${perWorker} connections in one server process exceed the ${perServer} the file ` +
      `limit allows${opts.workers ? '' : ' (use --cluster to spread them)'}`,
  );
  return false;
});

const pool = new AddressPool();
const meta = {
  kind: cluster ? 'cluster' : 'steady',
  label: opts.label,
  startedAt: new Date().toISOString(),
  options: opts,
  machine: machine({ hard: limits.hard, soft: limits.soft, child: childLimit, perServerProcess: perServer }),
};
const trials = [];

for (const n of runnable) {
  for (let r = 0; r < opts.repeat; r++) {
    for (const system of opts.systems) {
      log(
        `--- N=${n} ${system}${opts.workers ? ` (cluster of ${opts.workers})` : ''} run ${r + 1}/${opts.repeat}`,
      );
      const trial = await runTrial(system, n);
      trial.repeat = r;
      trials.push(trial);
      if (trial.error) log(`${system} N=${n}: FAILED: ${trial.error}`);
      else
        log(
          `${system} N=${n}: server CPU ${fmt(trial.server.cpuPct, 2)} %, RSS ${fmt(trial.server.rss / MB)} MB, ` +
            `connect ${fmt(trial.connect.serverMs / 1000, 2)} s, false deaths ${trial.falseDeaths}`,
        );
      await sleep(1000);
    }
  }
}

meta.finishedAt = new Date().toISOString();
meta.machine.loadAverageAtEnd = machine({}).loadAverage;
const summary = summarize(trials);
const out = { meta, summary, trials };
const dir = resultsDir();
mkdirSync(dir, { recursive: true });
let file = fileURLToPath(new URL(`${meta.startedAt.slice(0, 10)}-${opts.label}.json`, dir));
for (let i = 2; existsSync(file); i++) {
  file = fileURLToPath(new URL(`${meta.startedAt.slice(0, 10)}-${opts.label}-${i}.json`, dir));
}
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
process.stdout.write(`${report(out)}\n`);
log(`results written to ${file}`);
process.exit(trials.some((t) => t.error) ? 1 : 0);

async function runTrial(system, n) {
  const port = await freePort(opts.host);
  const fleet = new Fleet({
    system,
    host: opts.host,
    port,
    interval: opts.interval,
    timeout: opts.timeout,
    workers: opts.workers,
    sched: opts.sched,
    // Each worker stops listening at its even share, so the split is exact and under the file limit.
    maxPerWorker: opts.workers > 0 ? Math.min(perServer, Math.ceil(n / opts.workers)) : 0,
  });
  const trial = { system, n, workers: opts.workers };
  try {
    const started = await fleet.startServer();
    trial.baseline = started.baseline;
    const c = await fleet.connect(n, { ...opts, pool });
    trial.connect = {
      processes: c.procs.length,
      addresses: c.plans.flat().length,
      connected: c.connected,
      failed: c.failed,
      errors: c.errors,
      clientMs: c.clientMs,
      serverMs: c.serverMs,
    };
    if (c.failed > 0 || c.connected < n || !c.serverCounted) {
      throw new Error(
        c.failed > 0 || c.connected < n
          ? `${c.failed} of ${n} connections failed ${JSON.stringify(c.errors)}`
          : `all ${n} connected, but the server had not counted them within 15 s`,
      );
    }
    log(`${system}: ${c.connected} connected in ${fmt(c.serverMs / 1000, 2)} s; warm-up ${opts.warmupS} s`);
    await sleep(opts.warmupS * 1000);
    // Deaths before the window are not false deaths of the steady state, but they mean fewer than N are
    // measured: recorded, and said.
    const before = await rpc(fleet.server, 'count');
    trial.deathsBeforeWindow = before.deaths;
    if (before.deaths > 0)
      log(`${system}: ${before.deaths} connection(s) died before the window (live ${before.live})`);
    const everyone = [fleet.server, ...c.procs];
    await Promise.all(everyone.map((p) => rpc(p, 'begin')));
    log(`${system}: measuring for ${opts.windowS} s`);
    await sleep(opts.windowS * 1000);
    const [server, ...clients] = await Promise.all(everyone.map((p) => rpc(p, 'end')));
    const mem = await rpc(fleet.server, 'mem', {}, 30_000);
    const count = await rpc(fleet.server, 'count');
    const clientMem = await Promise.all(c.procs.map((p) => rpc(p, 'mem')));
    trial.server = {
      cpuPct: server.cpuPct,
      cpuMs: server.cpuMs,
      wallMs: server.wallMs,
      eldP50Ms: server.eldP50Ms,
      eldP99Ms: server.eldP99Ms,
      eldMaxMs: server.eldMaxMs,
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      heapTotal: mem.heapTotal,
      external: mem.external,
      arrayBuffers: mem.arrayBuffers,
      rssBy: mem.rssBy,
      heapSpaces: mem.heapSpaces,
      gc: mem.gc,
      deathsInWindow: server.deaths,
      deathCauses: server.causes,
      deathsSinceStart: count.deaths,
      live: count.live,
      perProcess: mem.workers
        ? { cpu: server.workers, primaryCpu: server.primary, mem: mem.workers, primaryMem: mem.primary }
        : undefined,
    };
    trial.clients = {
      cpuPct: clients.reduce((s, x) => s + x.cpuPct, 0),
      deathsInWindow: clients.reduce((s, x) => s + x.deaths, 0),
      rss: clientMem.reduce((s, x) => s + x.rss, 0),
    };
    trial.falseDeaths = server.deaths + trial.clients.deathsInWindow;
    if (server.workers) {
      // Round-robin deals to whichever worker is free, so the split is near, not exactly, even: each
      // worker must stay under its own file limit.
      trial.server.perWorkerLive = server.workers.map((w) => w.live);
      log(
        `${system}: connections per worker ${trial.server.perWorkerLive.join(' / ')} (limit ${perServer} each)`,
      );
    }
    trial.rssPerConnOwn = (mem.rss - started.baseline.rss) / n;
  } catch (err) {
    trial.error = err.message;
  } finally {
    await fleet.stop();
  }
  return trial;
}

/** Median of each figure over the repeats, per N and system. */
function summarize(list) {
  const rows = [];
  for (const n of [...new Set(list.map((t) => t.n))]) {
    for (const system of opts.systems) {
      const ok = list.filter((t) => t.n === n && t.system === system && !t.error);
      const failed = list.filter((t) => t.n === n && t.system === system && t.error);
      if (ok.length === 0) {
        rows.push({ n, system, runs: 0, error: failed[0]?.error ?? 'not run' });
        continue;
      }
      const m = (f) => median(ok.map(f));
      rows.push({
        n,
        system,
        runs: ok.length,
        serverCpuPct: m((t) => t.server.cpuPct),
        serverRss: m((t) => t.server.rss),
        serverHeapUsed: m((t) => t.server.heapUsed),
        rssPerConnOwn: m((t) => t.rssPerConnOwn),
        clientCpuPct: m((t) => t.clients.cpuPct),
        connectMs: m((t) => t.connect.serverMs),
        eldP99Ms: m((t) => t.server.eldP99Ms),
        falseDeaths: Math.max(...ok.map((t) => t.falseDeaths)),
        deathsSinceStart: Math.max(...ok.map((t) => t.server.deathsSinceStart)),
      });
    }
  }
  for (const row of rows) {
    const floor = rows.find((r) => r.n === row.n && r.system === 'net-idle' && r.runs > 0);
    const limit = rows.find((r) => r.n === row.n && r.system === 'net-ping' && r.runs > 0);
    if (!row.runs) continue;
    row.cpuVsPing = ratio(row.serverCpuPct, limit?.serverCpuPct);
    // The floor's CPU is near zero (nothing happens on idle sockets): a ratio to it is shown only when the
    // floor measured at least 0.2 % of a core, else the difference above it is the figure to read.
    row.cpuVsIdle = ratio(row.serverCpuPct, floor?.serverCpuPct, 0.2);
    row.rssVsPing = ratio(row.serverRss, limit?.serverRss);
    row.rssVsIdle = ratio(row.serverRss, floor?.serverRss);
    row.bytesPerConnAboveFloor = floor ? (row.serverRss - floor.serverRss) / row.n : Number.NaN;
  }
  const extrapolation = [];
  if (!cluster) {
    for (const system of opts.systems) {
      const pts = rows.filter((r) => r.system === system && r.runs > 0);
      const cpu = fitLine(pts.map((r) => [r.n, r.serverCpuPct]));
      const rss = fitLine(pts.map((r) => [r.n, r.serverRss]));
      if (!cpu || !rss) continue;
      extrapolation.push({
        system,
        cpuPctPer1000: cpu.slope * 1000,
        bytesPerConn: rss.slope,
        coresFor1M: (cpu.slope * 1e6) / 100,
        gibFor1M: (rss.slope * 1e6) / 2 ** 30,
        processesFor1M: Math.ceil(1e6 / perServer),
      });
    }
  }
  return { rows, extrapolation };
}

function report({ meta: m, summary: s }) {
  const lines = [];
  const o = m.options;
  lines.push(
    `## ${m.kind === 'cluster' ? `Cluster of ${o.workers} server processes` : 'One server process'} — ` +
      `${m.label} run, ${m.startedAt.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `interval ${o.interval} ms, timeout ${o.timeout} ms, warm-up ${o.warmupS} s, window ${o.windowS} s, ` +
      `${o.repeat} run(s) each (median); Node ${m.machine.node}, ${m.machine.cpus} CPUs, ` +
      `${m.machine.memoryGiB} GiB; load average at start ${m.machine.loadAverage.join(' ')}; ` +
      `file limit ${m.machine.fileLimit.child} per process, so at most ${m.machine.fileLimit.perServerProcess} ` +
      'connections per server process.',
    '',
  );
  const header = [
    'N',
    'system',
    'server CPU %',
    '× (b)',
    '× (a)',
    'RSS MB',
    '× (b)',
    '× (a)',
    'heap MB',
    'B/conn over (a)',
    'B/conn own',
    'client CPU %',
    'connect s',
    'false deaths',
    'ELD p99 ms',
  ];
  const rows = s.rows.map((r) =>
    r.runs
      ? [
          r.n,
          r.system,
          fmt(r.serverCpuPct, 2),
          fmt(r.cpuVsPing, 2),
          fmt(r.cpuVsIdle, 1),
          fmt(r.serverRss / MB),
          fmt(r.rssVsPing, 2),
          fmt(r.rssVsIdle, 2),
          fmt(r.serverHeapUsed / MB),
          fmt(r.bytesPerConnAboveFloor, 0),
          fmt(r.rssPerConnOwn, 0),
          fmt(r.clientCpuPct, 1),
          fmt(r.connectMs / 1000, 2),
          r.falseDeaths === 0 ? '0' : `**${r.falseDeaths}**`,
          fmt(r.eldP99Ms, 1),
        ]
      : [r.n, r.system, `failed: ${r.error}`, ...Array(header.length - 3).fill('')],
  );
  lines.push(markdownTable(header, rows));
  if (s.extrapolation.length) {
    lines.push(
      '',
      'From the slopes (least squares over N): what 1 000 000 connections would need for the server.',
      '',
      markdownTable(
        [
          'system',
          'CPU % per 1 000 conns',
          'bytes per conn',
          'cores for 1 M',
          'GiB for 1 M',
          'processes (fd limit)',
        ],
        s.extrapolation.map((e) => [
          e.system,
          fmt(e.cpuPctPer1000, 3),
          fmt(e.bytesPerConn, 0),
          fmt(e.coresFor1M, 2),
          fmt(e.gibFor1M, 1),
          e.processesFor1M,
        ]),
      ),
    );
  }
  return lines.join('\n');
}
