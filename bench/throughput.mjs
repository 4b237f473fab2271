#!/usr/bin/env node
// Throughput over one connection, one direction (client -> server), for one message size at a time:
// messages/s and MB/s received by the server, and the CPU of both ends, for bare net with a 4-byte length
// prefix, ws, and lifeline. The difference is the cost of each framing. Every sender honours backpressure
// (net and lifeline: send until write()/send() returns false, then wait for 'drain'). Prints a table per
// (size, system) and one of lifeline's ratio to net per size against the targets (>= 0.9 x at 64 B,
// >= 0.8 x at 64 KiB and 1 MiB); writes every run to bench/results/<date>-<label>.json.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkSystems, parseArgs, requireBuiltLifeline } from './lib/args.mjs';
import { machine, resultsDir } from './lib/machine.mjs';
import { freePort } from './lib/plan.mjs';
import { fileLimits, killAndWait, log, ready, rpc, sleep, spawnNode } from './lib/proc.mjs';
import { fmt, markdownTable, median } from './lib/stats.mjs';

const SYSTEMS = ['net', 'ws', 'lifeline'];
const USAGE = `usage: node bench/throughput.mjs [--quick] [--systems ${SYSTEMS.join(',')}] [--sizes 64,65536,1048576]
  [--window 5] [--warmup 2] [--repeat 3] [--label NAME]
  --quick      smoke run: window 2 s, warm-up 1 s`;
const flags = parseArgs(
  process.argv.slice(2),
  {
    quick: 'boolean',
    systems: 'list',
    sizes: 'numbers',
    window: 'number',
    warmup: 'number',
    repeat: 'number',
    label: 'string',
    host: 'string',
  },
  USAGE,
);
const quick = flags.quick ?? false;
const opts = {
  systems: flags.systems ?? SYSTEMS,
  sizes: flags.sizes ?? [64, 65_536, 1_048_576],
  windowS: flags.window ?? (quick ? 2 : 5),
  warmupS: flags.warmup ?? (quick ? 1 : 2),
  repeat: Math.max(1, flags.repeat ?? (quick ? 1 : 3)),
  host: flags.host ?? '127.0.0.1',
  label: flags.label ?? (quick ? 'throughput-quick' : 'throughput'),
};
checkSystems(opts.systems, SYSTEMS);
requireBuiltLifeline(opts.systems);

/** lifeline's throughput as a share of bare net's that the issue asks for, per message size (bytes). */
const TARGETS = new Map([
  [64, 0.9],
  [65_536, 0.8],
  [1_048_576, 0.8],
]);
/** Most message bytes in one lifeline DATA fragment (protocol v2). */
const FRAGMENT = 16 * 1024;

// Bytes each message costs on the wire besides its payload, client -> server, from each protocol's framing.
function overhead(system, size) {
  if (system === 'net') return '4';
  if (system === 'ws') return String(2 + (size < 126 ? 0 : size < 65_536 ? 2 : 8) + 4);
  // lifeline (protocol v2): each DATA fragment of at most 16 KiB has type (1) + length (4) + sequence (6) +
  // flags (1); ACK and WINDOW frames go back.
  return `${12 * Math.max(1, Math.ceil(size / FRAGMENT))} + ACK/WINDOW`;
}

const peer = fileURLToPath(new URL('./lib/throughput-peer.mjs', import.meta.url));
const results = [];
for (const size of opts.sizes) {
  // Repeats interleave the systems, so that a burst of load from elsewhere does not land on one system only.
  const runs = new Map(opts.systems.map((system) => [system, []]));
  for (let i = 0; i < opts.repeat; i++) {
    for (const system of opts.systems) {
      log(`--- ${system}, ${size}-byte messages, run ${i + 1}/${opts.repeat}`);
      const r = await measure(system, size);
      runs.get(system).push(r);
      if (r.error) log(`${system} ${size} B: FAILED: ${r.error}`);
      else log(`${system} ${size} B: ${fmt(r.messagesPerS, 0)} msg/s, ${fmt(r.mbPerS, 1)} MB/s`);
      await sleep(500);
    }
  }
  for (const [system, list] of runs) results.push(combine(system, size, list));
}
for (const r of results) {
  const base = results.find((x) => x.system === 'net' && x.size === r.size && !x.error);
  r.vsNet = base && !r.error ? r.messagesPerS / base.messagesPerS : Number.NaN;
  if (r.system === 'lifeline') r.target = TARGETS.get(r.size);
}

const startedAt = new Date().toISOString();
const dir = resultsDir();
mkdirSync(dir, { recursive: true });
let file = fileURLToPath(new URL(`${startedAt.slice(0, 10)}-${opts.label}.json`, dir));
for (let i = 2; existsSync(file); i++)
  file = fileURLToPath(new URL(`${startedAt.slice(0, 10)}-${opts.label}-${i}.json`, dir));
const limits = fileLimits();
writeFileSync(
  file,
  `${JSON.stringify({ meta: { kind: 'throughput', label: opts.label, startedAt, options: opts, machine: machine(limits) }, results }, null, 2)}\n`,
);
const header = [
  'size',
  'system',
  'msg/s',
  'MB/s',
  '× net',
  'server CPU %',
  'client CPU %',
  'framing bytes/msg',
];
const rows = results.map((r) =>
  r.error
    ? [r.size, r.system, `failed: ${r.error}`, '', '', '', '', '']
    : [
        r.size,
        r.system,
        fmt(r.messagesPerS, 0),
        fmt(r.mbPerS, 1),
        fmt(r.vsNet, 2),
        fmt(r.sinkCpuPct, 0),
        fmt(r.sourceCpuPct, 0),
        overhead(r.system, r.size),
      ],
);
process.stdout.write(
  `## Throughput over one connection — ${opts.label} run, ${startedAt.slice(0, 16).replace('T', ' ')} UTC\n\n` +
    `client -> server, ${opts.windowS} s window after ${opts.warmupS} s warm-up, median of ${opts.repeat} run(s); ` +
    'MB = 10^6 bytes of payload.\n\n' +
    `${markdownTable(header, rows)}\n` +
    ratioTable(),
);
log(`results written to ${file}`);
process.exit(results.some((r) => r.error) ? 1 : 0);

/** lifeline (and ws) as a share of net per size, with the target where the issue sets one. */
function ratioTable() {
  if (!opts.systems.includes('net') || !opts.systems.includes('lifeline')) return '';
  const rows = opts.sizes.map((size) => {
    const of = (system) => results.find((r) => r.system === system && r.size === size);
    const lifeline = of('lifeline');
    const target = TARGETS.get(size);
    const met =
      target === undefined || !Number.isFinite(lifeline.vsNet)
        ? '—'
        : lifeline.vsNet >= target
          ? 'yes'
          : 'NO';
    return [
      size,
      fmt(of('net').mbPerS, 1),
      fmt(lifeline.mbPerS, 1),
      fmt(lifeline.vsNet, 2),
      target === undefined ? '—' : `≥ ${target}`,
      met,
      opts.systems.includes('ws') ? fmt(of('ws').vsNet, 2) : '—',
    ];
  });
  const header = ['size', 'net MB/s', 'lifeline MB/s', 'lifeline × net', 'target', 'met', 'ws × net'];
  return `\nlifeline against bare net, same run:\n\n${markdownTable(header, rows)}\n`;
}

/** The median of each figure over the runs that worked, with every run kept. */
function combine(system, size, list) {
  const ok = list.filter((r) => !r.error);
  if (ok.length === 0) return { system, size, error: list[0].error, runs: list };
  const m = (key) => median(ok.map((r) => r[key]));
  return {
    system,
    size,
    messagesPerS: m('messagesPerS'),
    mbPerS: m('mbPerS'),
    sinkCpuPct: m('sinkCpuPct'),
    sourceCpuPct: m('sourceCpuPct'),
    runs: list,
  };
}

async function measure(system, size) {
  const result = { system, size };
  const procs = [];
  try {
    const port = await freePort(opts.host);
    const sink = spawnNode(peer, ['--system', system], { name: `${system} sink` });
    procs.push(sink);
    await ready(sink);
    await rpc(sink, 'sink', { host: opts.host, port });
    const source = spawnNode(peer, ['--system', system], { name: `${system} source` });
    procs.push(source);
    await ready(source);
    await rpc(source, 'source', { host: opts.host, port });
    await rpc(source, 'run', { size, durationMs: (opts.warmupS + opts.windowS + 2) * 1000 });
    await sleep(opts.warmupS * 1000);
    await Promise.all([rpc(sink, 'begin'), rpc(source, 'begin')]);
    await sleep(opts.windowS * 1000);
    // The source may be busy in a send burst: give it time to answer.
    const [s, c] = await Promise.all([rpc(sink, 'end', {}, 15_000), rpc(source, 'end', {}, 15_000)]);
    Object.assign(result, {
      messages: s.messages,
      bytes: s.bytes,
      wallMs: s.wallMs,
      messagesPerS: (s.messages * 1000) / s.wallMs,
      mbPerS: s.bytes / 1e6 / (s.wallMs / 1000),
      sinkCpuPct: s.cpuPct,
      sourceCpuPct: c.cpuPct,
    });
    if (s.messages === 0) throw new Error('no message received in the window');
  } catch (err) {
    result.error = err.message;
  } finally {
    await killAndWait(procs);
  }
  return result;
}
