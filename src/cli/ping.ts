// lifeline ping: like ping(8) over a lifeline session. Connects once (no reconnect), sends a PING every
// -i, prints each answer's round-trip time and, at the end or on Ctrl-C, the summary.
import { connect as dial, type HeartbeatClient } from '../client/client.js';
import { parse, parseCount, parseDuration, parseHostPort, UsageError } from './args.js';
import { describeConnectError } from './failure.js';
import { createOutput } from './output.js';
import { deathLine } from './table.js';

export const pingFlags = {
  count: { type: 'string', short: 'c' },
  interval: { type: 'string', short: 'i' },
  json: { type: 'boolean' },
} as const;

/** A lifeline peer accepts at most 10 PINGs per second on a connection (maxPingsPerInterval). */
export const MIN_PING_INTERVAL = 100;

export interface PingSummary {
  sent: number;
  received: number;
  lost: number;
  /** ms; undefined without answers. */
  min?: number;
  avg?: number;
  max?: number;
  mdev?: number;
}

/** ping(8)'s statistics: mdev is the standard deviation of the RTTs (sqrt(mean(x²) - mean(x)²)). */
export function summarize(sent: number, rtts: number[]): PingSummary {
  const received = rtts.length;
  const summary: PingSummary = { sent, received, lost: sent - received };
  if (received === 0) return summary;
  const avg = rtts.reduce((a, b) => a + b, 0) / received;
  const meanSq = rtts.reduce((a, b) => a + b * b, 0) / received;
  summary.min = Math.min(...rtts);
  summary.avg = avg;
  summary.max = Math.max(...rtts);
  summary.mdev = Math.sqrt(Math.max(0, meanSq - avg * avg));
  return summary;
}

export async function ping(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, pingFlags);
  const { host, port } = parseHostPort(positionals[0]);
  if (positionals.length > 1) throw new UsageError(`ping: unexpected argument "${positionals[1]}"`);
  const count = typeof values.count === 'string' ? parseCount('-c', values.count, 1, 1_000_000) : Infinity;
  const every = typeof values.interval === 'string' ? parseDuration('-i', values.interval) : 1000;
  if (every < MIN_PING_INTERVAL) {
    throw new UsageError(
      `-i: must be at least ${MIN_PING_INTERVAL}ms (a lifeline server allows 10 PINGs per second), got ${every}ms`,
    );
  }
  const json = values.json === true;
  const out = createOutput(json, () => undefined);
  const say = (line: string) => {
    if (!json) process.stdout.write(`${line}\n`);
  };

  // No heartbeat of our own: every PING on the wire is one we count, as ping(8) counts its packets. The
  // server still pings a silent client, and we answer.
  const client = dial({ host, port, reconnect: false, heartbeat: false });
  const rtts: number[] = [];
  let sent = 0;
  let failure: string | undefined;
  let startedAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let finished = false;

  const done = new Promise<number>((resolve) => {
    const finish = () => {
      if (finished) return;
      finished = true;
      if (timer) clearInterval(timer);
      if (sent > 0 || failure === undefined) report();
      client.close();
      resolve(failure !== undefined && rtts.length === 0 ? 1 : rtts.length > 0 ? 0 : 1);
    };
    const report = () => {
      const s = summarize(sent, rtts);
      const elapsed = Math.round(performance.now() - startedAt);
      const r3 = (n: number | undefined) => (n === undefined ? undefined : Math.round(n * 1000) / 1000);
      out.event('summary', {
        sent: s.sent,
        received: s.received,
        lost: s.lost,
        ...(s.received > 0 ? { min: r3(s.min), avg: r3(s.avg), max: r3(s.max), mdev: r3(s.mdev) } : {}),
        timeMs: elapsed,
      });
      say('');
      say(`--- ${host}:${port} lifeline ping statistics ---`);
      const lostPct = s.sent === 0 ? 0 : Math.round((s.lost / s.sent) * 1000) / 10;
      say(`${s.sent} pings sent, ${s.received} answered, ${lostPct}% lost, time ${elapsed} ms`);
      if (s.received > 0) {
        const f = (n: number | undefined) => (n ?? 0).toFixed(3);
        say(`rtt min/avg/max/mdev = ${f(s.min)}/${f(s.avg)}/${f(s.max)}/${f(s.mdev)} ms`);
      }
    };

    client.on('connected', (c) => {
      out.event('connected', { local: c.local, remote: c.remote, id: c.sessionId });
      say(`PING ${host}:${port} (${c.remote}): lifeline session ${c.sessionId}, every ${every} ms`);
      startedAt = performance.now();
      const tick = () => {
        if (sent >= count) {
          // All sent: wait for the last answers, as long as one more interval (at least a second).
          clearInterval(timer);
          timer = setTimeout(finish, Math.max(1000, every));
          return;
        }
        sent++;
        client.ping();
      };
      tick();
      timer = setInterval(tick, every);
    });
    client.on('rtt', (rtt) => {
      rtts.push(rtt);
      const seq = rtts.length;
      out.event('rtt', { ms: Math.round(rtt * 1000) / 1000, seq });
      say(`pong from ${host}:${port}: seq=${seq} time=${rtt.toFixed(3)} ms`);
      if (rtts.length >= count) finish();
    });
    client.on('dead', (r) => {
      out.event('dead', {
        cause: r.cause,
        silentMs: Math.round(r.silentMs),
        ...(r.diagnosis ? { diagnosis: r.diagnosis } : {}),
      });
      if (!json) process.stderr.write(`lifeline ping: ${host}:${port}: peer ${deathLine(r)}\n`);
      failure = r.cause;
      finish();
    });
    client.on('error', (err) => {
      failure = describeConnectError(err, host, port);
      out.event('error', { message: failure });
      if (!json) process.stderr.write(`lifeline ping: ${failure}\n`);
      finish();
    });
    client.on('close', finish);
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
  });
  const status = await done;
  await closed(client);
  out.event('closed', {});
  return status;
}

function closed(client: HeartbeatClient): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 2000);
    timer.unref();
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    if (!client.connected) resolve();
  });
}
