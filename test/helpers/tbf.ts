// A slow link for the fault tests: the token-bucket filter (tc tbf) on both ends of a Netns cable, so that
// each direction carries at most `rate` (netem is not available here, see ../../../shared/TESTING.md). Also
// measures what a bare TCP stream gets through the shaped cable, so that a test can show the shaping is
// real before it draws conclusions from it. Never touches an interface other than this run's own cable.
import { type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TestContext } from 'node:test';
import { EventReader } from './cli.js';
import type { Netns } from './netns.js';
import { netnsUnavailable } from './netns.js';
import { within } from './wait.js';

/**
 * Burst and queue of every shaped end, as TESTING.md checked them: a 4 KiB bucket (a few segments at line
 * speed), and at most 400 ms of bytes queued in the link before it drops.
 */
export const TBF_BURST = '32kbit';
export const TBF_LATENCY_MS = 400;

/** The two ends of a Netns cable: the root namespace's interface and the peer namespace's. */
export interface Cable {
  hostIf: string;
  peerIf: string;
}

function sh(argv: string[], input?: string): string {
  return execFileSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    input,
  });
}

/** The interface holding `ip` in `ip -o addr` output ("5: llh1ab@if4    inet 10.1.2.1/30 ..."). */
function interfaceWith(output: string, ip: string): string {
  const line = output.split('\n').find((l) => l.includes(` ${ip}/`));
  const name = line?.split(/\s+/)[1]?.replace(/@.*$/, '');
  if (!name) throw new Error(`no interface holds ${ip}:\n${output}`);
  return name;
}

/** Finds the interfaces of `ns`'s cable by their addresses (netns.ts keeps the names to itself). */
export function cableOf(ns: Netns): Cable {
  return {
    hostIf: interfaceWith(sh(['ip', '-o', '-4', 'addr', 'show', 'to', ns.hostIp]), ns.hostIp),
    peerIf: interfaceWith(sh(['ip', '-n', ns.name, '-o', '-4', 'addr', 'show', 'to', ns.peerIp]), ns.peerIp),
  };
}

function tc(ns: Netns, end: 'host' | 'peer', args: string[]): string {
  return sh(end === 'host' ? ['tc', ...args] : ['ip', 'netns', 'exec', ns.name, 'tc', ...args]);
}

function tbfArgs(dev: string, rateKbit: number): string[] {
  return [
    'qdisc',
    'replace',
    'dev',
    dev,
    'root',
    'tbf',
    'rate',
    `${rateKbit}kbit`,
    'burst',
    TBF_BURST,
    'latency',
    `${TBF_LATENCY_MS}ms`,
  ];
}

/** Limits both directions of the cable to `rateKbit` (1000 bits/s, tc's unit). Replaces any earlier shaping. */
export function shape(ns: Netns, rateKbit: number): Cable {
  const cable = cableOf(ns);
  tc(ns, 'host', tbfArgs(cable.hostIf, rateKbit));
  tc(ns, 'peer', tbfArgs(cable.peerIf, rateKbit));
  return cable;
}

/** The first "backlog 12345b" (or 12Kb, 1Mb) of `tc -s qdisc show` output, in bytes. */
function parseBacklog(text: string): number {
  const m = /backlog (\d+)([KM]?)b/.exec(text);
  if (!m) return 0;
  return Number(m[1]) * (m[2] === 'K' ? 1000 : m[2] === 'M' ? 1_000_000 : 1);
}

/**
 * A partition of a shaped cable: every packet in and out of the peer namespace is dropped (ns.partition()),
 * and what the peer's end still held in its tbf queue is thrown away with it, as a cut cable loses what was
 * on it — else that queue (up to TBF_LATENCY_MS of bytes) would still reach the root namespace after the
 * cut. What the root end still holds drains into the namespace, whose input drops it. Returns when the drop
 * rule was in place (`ruleAt`, performance.now()), when the queue was emptied (`flushedAt`: from then on
 * nothing crosses the cable either way), and about how many bytes the queue held.
 */
export function cut(
  ns: Netns,
  cable: Cable,
  rateKbit: number,
): { ruleAt: number; flushedAt: number; discarded: number } {
  ns.partition();
  const ruleAt = performance.now();
  // One process for both steps, so that little leaves the queue between the rule and the flush. Deleting
  // the qdisc destroys it and the packets it queued; `replace` with the same kind would only change its
  // parameters (tbf_change) and keep them, which then still reach the peer for up to `latency` (400 ms).
  const shown = sh([
    'ip',
    'netns',
    'exec',
    ns.name,
    'sh',
    '-c',
    `tc -s qdisc show dev ${cable.peerIf} && tc qdisc del dev ${cable.peerIf} root && ` +
      `tc ${tbfArgs(cable.peerIf, rateKbit).join(' ')}`,
  ]);
  return { ruleAt, flushedAt: performance.now(), discarded: parseBacklog(shown) };
}

/** The probe's answer, once known: why tbf is unavailable, or '' when it is available. */
let tbfProbe: string | undefined;

/** Why a tbf slow link cannot be made here (besides namespaces), or undefined when it can. Probed once. */
export function tbfUnavailable(): string | undefined {
  tbfProbe ??= probeTbf();
  return tbfProbe === '' ? undefined : tbfProbe;
}

function probeTbf(): string {
  const r = spawnSync('tc', ['-V'], { stdio: 'ignore' });
  if (r.error || r.status !== 0) return 'tc is not installed (apt-get install -y iproute2)';
  const name = `lltbf${process.pid.toString(36)}${randomInt(36 ** 3).toString(36)}`;
  try {
    sh(['ip', 'netns', 'add', name]);
    const added = spawnSync('ip', ['netns', 'exec', name, 'tc', ...tbfArgs('lo', 1000)], {
      encoding: 'utf8',
    });
    return added.status === 0 ? '' : `tc tbf is not available: ${added.stderr.trim()}`;
  } catch (err) {
    return `cannot make a namespace to probe tc tbf: ${(err as Error).message}`;
  } finally {
    spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  }
}

/**
 * Skips the test with the reason when namespaces or tbf are unavailable — except in CI (CI=true), where a
 * missing capability is a failure, not a skip. Returns true when the test may go on.
 */
export function needSlowLink(t: TestContext): boolean {
  const why = netnsUnavailable() ?? tbfUnavailable();
  if (why === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`fault tests must run in CI but cannot: ${why}`);
  t.skip(`skipped: ${why}`);
  return false;
}

/**
 * What a bare net.Socket stream gets through the cable: `bytes` sent one way, `up` from this process to the
 * peer namespace, `down` back. Rate in kbit/s (1000 bits), measured by the receiver from its first byte to
 * its last, so that connection set-up does not count.
 */
export async function bareRate(ns: Netns, direction: 'up' | 'down', bytes: number): Promise<number> {
  // The peer namespace's end, a plain Node program: `sink` listens and reports what it received and when,
  // `source` connects back to this process and writes `bytes`.
  const program = `
    const net = require('node:net');
    const [role, host, port, total] = process.argv.slice(1);
    const say = (o) => process.stdout.write(JSON.stringify({ t: performance.now(), ...o }) + '\\n');
    if (role === 'sink') {
      const server = net.createServer((s) => {
        let got = 0, first;
        s.on('data', (c) => { first ??= performance.now(); got += c.length; });
        s.on('end', () => say({ event: 'received', bytes: got, ms: performance.now() - first }));
      });
      server.listen(0, host, () => say({ event: 'listening', port: server.address().port }));
    } else {
      const s = net.connect(Number(port), host, () => { s.end(Buffer.alloc(Number(total), 0x61)); });
      s.on('close', () => say({ event: 'sent' }));
    }
  `;
  const run = (args: string[]): EventReader =>
    new EventReader(ns.spawn([process.execPath, '-e', program, ...args]) as ChildProcess);

  if (direction === 'up') {
    const sink = run(['sink', ns.peerIp, '0', '0']);
    try {
      const listening = await sink.waitFor((e) => e.event === 'listening', 10_000);
      const socket = net.connect(Number(listening.port), ns.peerIp);
      socket.on('error', () => {});
      await within(5000, 'a TCP connection to the sink', once(socket, 'connect'));
      socket.end(Buffer.alloc(bytes, 0x61));
      const done = await sink.waitFor((e) => e.event === 'received', 60_000);
      socket.destroy();
      if (done.bytes !== bytes) throw new Error(`sink received ${done.bytes} of ${bytes} bytes`);
      return (bytes * 8) / Number(done.ms);
    } finally {
      await sink.stop();
    }
  }

  const server = net.createServer();
  server.listen(0, ns.hostIp);
  await within(5000, 'a listener', once(server, 'listening'));
  const received = new Promise<{ got: number; ms: number }>((resolve) => {
    server.once('connection', (s) => {
      let got = 0;
      let first: number | undefined;
      s.on('data', (c: Buffer) => {
        first ??= performance.now();
        got += c.length;
      });
      s.on('end', () => resolve({ got, ms: performance.now() - (first ?? performance.now()) }));
    });
  });
  const source = run([
    'source',
    ns.hostIp,
    String((server.address() as net.AddressInfo).port),
    String(bytes),
  ]);
  try {
    const { got, ms } = await within(60_000, 'the bare stream from the namespace', received);
    if (got !== bytes) throw new Error(`received ${got} of ${bytes} bytes`);
    return (bytes * 8) / ms;
  } finally {
    await source.stop();
    server.close();
  }
}
