#!/usr/bin/env node
// A bulk transfer over a slow link, and the round-trip time the heartbeat sees meanwhile. Two network
// namespaces of this run, joined by a veth cable shaped in both directions by tc tbf (default
// `rate 1mbit burst 32kbit latency 400ms`, then 256kbit). For each rate, in one run, each system in turn on
// a fresh connection: lifeline (interval 1 s / timeout 3 s) sends --bytes in --message-byte messages,
// honouring backpressure, and bare net (4-byte length prefix) and ws send the same bytes on the same link.
// Reported: goodput as % of the link rate, × net, 'dead' events (must be 0 for lifeline), and for the
// systems with a ping (lifeline's measureRtt(), ws's ping) the RTT every ~200 ms — first with the link idle,
// then during the bulk — from both ends: the sender's PING queues behind its own data, the receiver's PONG
// comes back behind it; and what the sender's kernel holds meanwhile (`ss`: unacknowledged and unsent
// bytes, TCP's own RTT). Needs root, iproute2 and the tbf qdisc; deletes its namespaces on every exit
// (a runner killed with SIGKILL leaves `slowa*`/`slowb*`: `ip netns list`, `ip netns del NAME`).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { checkSystems, parseArgs, requireBuiltLifeline } from './lib/args.mjs';
import { machine, resultsDir } from './lib/machine.mjs';
import { createLink, netnsUnavailable, rateBits, spawnNodeIn } from './lib/netns.mjs';
import { fileLimits, killAndWait, log, ready, rpc, sleep } from './lib/proc.mjs';
import { fmt, markdownTable, median, quantile } from './lib/stats.mjs';

const SYSTEMS = ['net', 'lifeline', 'ws'];
const KiB = 1024;
const MiB = 1024 * KiB;
const USAGE = `usage: node bench/slowlink.mjs [--quick] [--systems ${SYSTEMS.join(',')}] [--rates 1mbit,256kbit]
  [--bytes N] [--message 524288] [--idle 10] [--rtt-every 200] [--rtt-timeout 15000]
  [--interval 1000] [--timeout 3000] [--burst 32kbit] [--latency 400ms] [--repeat 1] [--label NAME]
  --bytes      bytes per bulk transfer, a whole number of messages (default: 4 MiB at 1mbit, scaled with
               the rate: 1 MiB at 256kbit, so that each transfer takes about 35 s of link time)
  --idle       seconds of RTT sampling on the idle link before the bulk (0: none)
  --repeat     transfers per (rate, system), interleaved; the table shows medians, RTT samples pooled
  --quick      smoke run: 1mbit only, 512 KiB in 128 KiB messages, 2 s idle`;

const flags = parseArgs(
  process.argv.slice(2),
  {
    quick: 'boolean',
    systems: 'list',
    rates: 'list',
    bytes: 'number',
    message: 'number',
    idle: 'number',
    'rtt-every': 'number',
    'rtt-timeout': 'number',
    interval: 'number',
    timeout: 'number',
    burst: 'string',
    latency: 'string',
    repeat: 'number',
    label: 'string',
  },
  USAGE,
);
const quick = flags.quick ?? false;
const opts = {
  systems: flags.systems ?? SYSTEMS,
  rates: flags.rates ?? (quick ? ['1mbit'] : ['1mbit', '256kbit']),
  bytes: flags.bytes ?? (quick ? 512 * KiB : undefined),
  messageSize: flags.message ?? (quick ? 128 * KiB : 512 * KiB),
  idleS: flags.idle ?? (quick ? 2 : 10),
  rttEveryMs: flags['rtt-every'] ?? 200,
  rttTimeoutMs: flags['rtt-timeout'] ?? 15_000,
  interval: flags.interval ?? 1000,
  timeout: flags.timeout ?? 3000,
  burst: flags.burst ?? '32kbit',
  latency: flags.latency ?? '400ms',
  repeat: Math.max(1, flags.repeat ?? 1),
  label: flags.label ?? (quick ? 'slowlink-quick' : 'slowlink'),
};
checkSystems(opts.systems, SYSTEMS);
requireBuiltLifeline(opts.systems);
if (!Number.isInteger(opts.messageSize) || opts.messageSize < 1)
  usageError('--message needs a positive integer');
for (const rate of opts.rates) {
  try {
    rateBits(rate);
  } catch (err) {
    usageError(err.message);
  }
}
const unavailable = netnsUnavailable();
if (unavailable) {
  process.stderr.write(`cannot make a slow link here: ${unavailable}\n`);
  process.exit(2);
}

function usageError(message) {
  process.stderr.write(`${message}\n${USAGE.split('\n')[0]}\n`);
  process.exit(2);
}

/** Bytes for one transfer at `rate`: --bytes, or 4 MiB per 1 Mbit/s; a whole number (≥ 2) of messages. */
function bytesFor(rate) {
  const wanted = opts.bytes ?? (4 * MiB * rateBits(rate)) / 1e6;
  return Math.max(2, Math.round(wanted / opts.messageSize)) * opts.messageSize;
}

// The most a TCP stream of full segments can carry, as a share of what tbf lets through: tbf counts whole
// Ethernet frames (14 + 1500 bytes on veth's 1500-byte MTU), of which 20 (IP) + 32 (TCP with timestamps)
// are headers, so 1448 / 1514 of the rate is payload.
const PAYLOAD_SHARE = 1448 / 1514;
const PORT = 7000;

// Every child and the link are torn down however this process ends (proc.mjs's handlers cover only the
// children spawnNode() made).
const live = new Set();
let link;
process.on('exit', () => {
  for (const child of live) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  link?.destroy();
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    log(`${signal}: stopping the children and deleting the namespaces`);
    process.exit(130);
  });
}
for (const event of ['uncaughtException', 'unhandledRejection']) {
  process.on(event, (err) => {
    log(`fatal: ${err?.stack ?? err}`);
    process.exit(1);
  });
}

const peerScript = fileURLToPath(new URL('./lib/slowlink-peer.mjs', import.meta.url));
const startedAt = new Date().toISOString();
const trials = [];
link = createLink();
log(`link: ${link.a.ns} (${link.a.ip}, receiver) <-> ${link.b.ns} (${link.b.ip}, sender)`);
try {
  for (const rate of opts.rates) {
    const bytes = bytesFor(rate);
    // Repeats interleave the systems, so that a burst of load from elsewhere does not land on one only.
    for (let trial = 1; trial <= opts.repeat; trial++) {
      for (const system of opts.systems) {
        // A fresh qdisc per transfer: an empty queue, and counters of this transfer only.
        link.shape({ rate, burst: opts.burst, latency: opts.latency });
        log(
          `--- ${system} over ${rate}, run ${trial}/${opts.repeat}: ${bytes} bytes in ${opts.messageSize}-byte messages`,
        );
        const r = await measure(system, rate, bytes);
        r.trial = trial;
        trials.push(r);
        if (r.error) log(`${system} over ${rate}: FAILED: ${r.error}`);
        else
          log(`${system} over ${rate}: ${fmt(r.elapsedMs / 1000, 1)} s, ${fmt(r.linkPct, 1)} % of the link`);
      }
    }
  }
} finally {
  link.destroy();
}
for (const r of trials) {
  const base = trials.find((x) => x.system === 'net' && x.rate === r.rate && x.trial === r.trial && !x.error);
  r.vsNet = base && !r.error ? r.goodputBits / base.goodputBits : Number.NaN;
}
const results = opts.rates.flatMap((rate) =>
  opts.systems.map((system) => combine(trials.filter((r) => r.rate === rate && r.system === system))),
);

const dir = resultsDir();
mkdirSync(dir, { recursive: true });
let file = fileURLToPath(new URL(`${startedAt.slice(0, 10)}-${opts.label}.json`, dir));
for (let i = 2; existsSync(file); i++)
  file = fileURLToPath(new URL(`${startedAt.slice(0, 10)}-${opts.label}-${i}.json`, dir));
const meta = {
  kind: 'slowlink',
  label: opts.label,
  startedAt,
  options: opts,
  payloadShare: PAYLOAD_SHARE,
  machine: machine(fileLimits()),
};
writeFileSync(file, `${JSON.stringify({ meta, results }, null, 2)}\n`);
process.stdout.write(report());
log(`results written to ${file}`);
const lifelineDied = results.some((r) => r.system === 'lifeline' && r.deaths.receiver + r.deaths.sender > 0);
process.exit(results.some((r) => r.failed > 0) || lifelineDied ? 1 : 0);

/** One transfer of `bytes` by `system` on fresh processes and a fresh connection, RTT sampled around it. */
async function measure(system, rate, bytes) {
  const result = { system, rate, rateBits: rateBits(rate), bytes, messageSize: opts.messageSize };
  const procs = [];
  const start = (ns, name) => {
    const child = spawnNodeIn(ns, peerScript, ['--system', system], { name });
    procs.push(child);
    live.add(child);
    child.once('exit', () => live.delete(child));
    return child;
  };
  try {
    const heartbeat = { interval: opts.interval, timeout: opts.timeout };
    const sink = start(link.a.ns, `${system} receiver`);
    await ready(sink);
    const { pings } = await rpc(sink, 'listen', { host: link.a.ip, port: PORT, ...heartbeat });
    const source = start(link.b.ns, `${system} sender`);
    await ready(source);
    await rpc(source, 'connect', { host: link.a.ip, port: PORT, ...heartbeat }, 15_000);
    const ends = pings
      ? [
          ['sender', source],
          ['receiver', sink],
        ]
      : [];
    // lifeline ignores a PONG whose PING is older than its timeout, so waiting longer would only stop the
    // sampling: past timeout + 1 s a PING counts as unanswered.
    result.rttLimitMs =
      system === 'lifeline' ? Math.min(opts.rttTimeoutMs, opts.timeout + 1000) : opts.rttTimeoutMs;
    const sampling = { everyMs: opts.rttEveryMs, timeoutMs: result.rttLimitMs };
    const stopTimeoutMs = result.rttLimitMs + opts.rttEveryMs + 10_000;
    const sample = async (during) => {
      await Promise.all(ends.map(([, child]) => rpc(child, 'rttStart', sampling)));
      await during();
      const lists = await Promise.all(ends.map(([, child]) => rpc(child, 'rttStop', {}, stopTimeoutMs)));
      return Object.fromEntries(ends.map(([side], i) => [side, lists[i]]));
    };
    if (pings && opts.idleS > 0) result.rttIdle = await sample(() => sleep(opts.idleS * 1000));

    await rpc(sink, 'expect', { bytes });
    // Bounded: four times the link time of the payload, plus a minute.
    const bulkTimeoutMs = ((4 * bytes * 8) / result.rateBits) * 1000 + 60_000;
    const kernel = sampleKernel(link.b.ns);
    let bulk;
    const transfer = async () => {
      try {
        bulk = await rpc(source, 'bulk', { bytes, messageSize: opts.messageSize }, bulkTimeoutMs);
      } finally {
        result.kernel = await kernel.stop();
      }
    };
    if (pings) result.rttBulk = await sample(transfer);
    else await transfer();

    const [received, sent] = await Promise.all([rpc(sink, 'stats'), rpc(source, 'stats')]);
    result.qdisc = link.qdiscStats();
    Object.assign(result, bulk, {
      goodputBits: (bytes * 8) / (bulk.elapsedMs / 1000),
      received: { bytes: received.received, messages: received.messages },
      deaths: { receiver: received.deaths, sender: sent.deaths },
    });
    result.linkPct = (100 * result.goodputBits) / result.rateBits;
    if (received.received !== bytes)
      throw new Error(`the receiver counted ${received.received} bytes of ${bytes}`);
  } catch (err) {
    result.error = err.message;
  } finally {
    await killAndWait(procs);
  }
  return result;
}

/**
 * Reads the sender's connection from its kernel (`ss`) every --rtt-every ms until stop(): how many bytes a
 * new write waits behind there, and TCP's own RTT of the data.
 */
function sampleKernel(ns) {
  const samples = [];
  const beganAt = performance.now();
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const at = performance.now();
      const state = await link.tcpState(ns, PORT).catch(() => undefined);
      if (state) samples.push({ atMs: at - beganAt, ...state });
      const rest = at + opts.rttEveryMs - performance.now();
      if (rest > 0 && !stopped) await sleep(rest);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      return samples;
    },
  };
}

/** The trials of one (rate, system): medians and ranges, deaths summed, samples pooled, every trial kept. */
function combine(list) {
  const { system, rate, bytes, messageSize } = list[0];
  const ok = list.filter((r) => !r.error);
  const values = (key) => ok.map((r) => r[key]);
  const pool = (key, side) => ok.flatMap((r) => r[key]?.[side]?.samples ?? []);
  const ignored = (key, side) => {
    const counted = ok.map((r) => r[key]?.[side]?.counters?.pongsIgnored).filter((n) => n !== undefined);
    return counted.length === 0 ? undefined : counted.reduce((a, b) => a + b, 0);
  };
  const phase = (key) =>
    Object.fromEntries(
      ['sender', 'receiver'].map((side) => [
        side,
        { samples: pool(key, side), pongsIgnored: ignored(key, side) },
      ]),
    );
  return {
    system,
    rate,
    bytes,
    messageSize,
    runs: list.length,
    rttLimitMs: list[0].rttLimitMs,
    failed: list.length - ok.length,
    errors: list.filter((r) => r.error).map((r) => r.error),
    elapsedMs: median(values('elapsedMs')),
    goodputBits: median(values('goodputBits')),
    linkPct: median(values('linkPct')),
    linkPctMin: Math.min(...values('linkPct')),
    linkPctMax: Math.max(...values('linkPct')),
    vsNet: median(values('vsNet')),
    deaths: {
      receiver: ok.reduce((n, r) => n + r.deaths.receiver.length, 0),
      sender: ok.reduce((n, r) => n + r.deaths.sender.length, 0),
    },
    rtt: { idle: phase('rttIdle'), bulk: phase('rttBulk') },
    kernel: ok.flatMap((r) => r.kernel ?? []),
    trials: list,
  };
}

/** p50 / p99 / max of a list of numbers, in order, Infinity last; shown as "> timeout" if it lands there. */
function spread(values, show) {
  const sorted = [...values].sort((a, b) => a - b);
  return [show(quantile(sorted, 0.5)), show(quantile(sorted, 0.99)), show(sorted.at(-1))];
}

function report() {
  const many = opts.repeat > 1;
  const goodputHeader = ['link', 'system', 'bytes', 'message', 'time s', 'goodput kbit/s', '% of link'];
  goodputHeader.push(...(many ? ['min–max %'] : []), '× net', "'dead' (receiver / sender)", 'failed');
  const goodputRows = results.map((r) =>
    r.failed === r.runs
      ? [
          r.rate,
          r.system,
          r.bytes,
          r.messageSize,
          `failed: ${r.errors[0]}`,
          '',
          '',
          ...(many ? [''] : []),
          '',
          '',
          `${r.failed}/${r.runs}`,
        ]
      : [
          r.rate,
          r.system,
          r.bytes,
          r.messageSize,
          fmt(r.elapsedMs / 1000, 1),
          fmt(r.goodputBits / 1000, 0),
          fmt(r.linkPct, 1),
          ...(many ? [`${fmt(r.linkPctMin, 1)}–${fmt(r.linkPctMax, 1)}`] : []),
          fmt(r.vsNet, 2),
          `${r.deaths.receiver} / ${r.deaths.sender}`,
          `${r.failed}/${r.runs}`,
        ],
  );

  const ms = (limit) => (v) => (Number.isFinite(v) ? fmt(v, 0) : `> ${limit}`);
  const rttHeader = [
    'link',
    'system',
    'link state',
    'PING from',
    'answered',
    'unanswered',
    'p50 ms',
    'p99 ms',
    'max ms',
    'call p50 / p99 / max ms',
    'PONGs ignored',
  ];
  const rttRows = [];
  for (const r of results) {
    for (const state of ['idle', 'bulk']) {
      for (const side of ['sender', 'receiver']) {
        const { samples, pongsIgnored } = r.rtt[state][side];
        if (samples.length === 0) continue;
        const answered = samples.filter((s) => s.ms !== undefined).length;
        const values = samples.map((s) => s.ms ?? Number.POSITIVE_INFINITY);
        const calls = samples.map((s) => (s.ms === undefined ? Number.POSITIVE_INFINITY : s.callMs));
        rttRows.push([
          r.rate,
          r.system,
          state,
          side,
          answered,
          samples.length - answered,
          ...spread(values, ms(r.rttLimitMs)),
          spread(calls, ms(r.rttLimitMs)).join(' / '),
          pongsIgnored ?? '—',
        ]);
      }
    }
  }

  const kB = (v) => fmt(v / 1000, 1);
  const kernelHeader = [
    'link',
    'system',
    'cc',
    'samples',
    'Send-Q p50 / max kB',
    'unsent p50 / max kB',
    'TCP srtt p50 / p99 / max ms',
  ];
  const kernelRows = results
    .filter((r) => r.kernel.length > 0)
    .map((r) => {
      const [q50, , qMax] = spread(
        r.kernel.map((k) => k.sendQ),
        kB,
      );
      const [n50, , nMax] = spread(
        r.kernel.map((k) => k.notsent),
        kB,
      );
      return [
        r.rate,
        r.system,
        r.kernel[0].cc,
        r.kernel.length,
        `${q50} / ${qMax}`,
        `${n50} / ${nMax}`,
        spread(
          r.kernel.map((k) => k.rttMs),
          (v) => fmt(v, 0),
        ).join(' / '),
      ];
    });

  const when = startedAt.slice(0, 16).replace('T', ' ');
  return (
    `## Bulk over a slow link — ${opts.label} run, ${when} UTC\n\n` +
    `veth between two namespaces, both directions \`tbf rate R burst ${opts.burst} latency ${opts.latency}\`; ` +
    `one connection per system and run, sender -> receiver; lifeline interval ${opts.interval} ms / timeout ` +
    `${opts.timeout} ms. Time: first send() until the receiver's 'done' came back${many ? ` (median of ${opts.repeat} runs)` : ''}. ` +
    `TCP can carry at most ${fmt(100 * PAYLOAD_SHARE, 1)} % of the link as payload (1448 of every 1514 bytes ` +
    `tbf counts); tbf's bucket starts full (${opts.burst}), so a short transfer can read a little above that. ` +
    "'dead': lifeline's 'dead' events; for net and ws, connections that closed by themselves.\n\n" +
    `${markdownTable(goodputHeader, goodputRows)}\n\n` +
    (rttRows.length === 0
      ? ''
      : `Round-trip times, one ping at a time every ${opts.rttEveryMs} ms (lifeline: measureRtt(); ws: ` +
        `ws.ping()), ${opts.idleS} s on the idle link, then throughout the bulk; the sender's PING waits ` +
        `behind its own data, the receiver's PONG comes back behind it. p50/p99/max: the RTT measureRtt() ` +
        "resolved with (it takes the next 'rtt' event, which may be another PING's, e.g. the heartbeat's); " +
        'call: how long the application waited for it. Unanswered (shown as "> limit"): no answer within ' +
        `${opts.rttTimeoutMs} ms for ws; for lifeline within its timeout + 1 s (${opts.timeout + 1000} ms), ` +
        'since it ignores a PONG whose PING is older than its timeout (PONGs ignored); or not connected.\n\n' +
        `${markdownTable(rttHeader, rttRows)}\n\n`) +
    `The sender's kernel during the bulk (\`ss -tin\` every ${opts.rttEveryMs} ms): Send-Q is every byte ` +
    'written and not yet acknowledged, which a ping written now waits behind; unsent the part of it not yet ' +
    "sent; srtt TCP's own RTT of the data segments, the floor for a ping that travels with the data.\n\n" +
    `${markdownTable(kernelHeader, kernelRows)}\n`
  );
}
