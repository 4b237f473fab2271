// lifeline ping: like ping(8) over a lifeline session. Connects once (no reconnect), sends a PING every
// -i, prints each answer's round-trip time and each PING left unanswered and, at the end or on Ctrl-C, the
// summary, with a diagnosis from the kernel's view when PINGs went unanswered on a connection still up.
import { connect as dial, type HeartbeatClient } from '../client/client.js';
import { type TcpInfo, tcpInfo } from '../keepalive/index.js';
import type { Diagnosis } from '../session/death.js';
import { noMorePositionals, parse, parseCount, parseDuration, parseHostPort, UsageError } from './args.js';
import { type AttemptContext, finalFailure } from './failure.js';
import { createOutput, humanText } from './output.js';
import { deathLine } from './table.js';
import { clientSecurity, tlsFlags } from './tls.js';

export const pingFlags = {
  count: { type: 'string', short: 'c' },
  interval: { type: 'string', short: 'i' },
  json: { type: 'boolean' },
  ...tlsFlags,
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
  noMorePositionals('ping', positionals, 1);
  const count = typeof values.count === 'string' ? parseCount('-c', values.count, 1, 1_000_000) : Infinity;
  const every = typeof values.interval === 'string' ? parseDuration('-i', values.interval) : 1000;
  if (every < MIN_PING_INTERVAL) {
    throw new UsageError(
      `-i: must be at least ${MIN_PING_INTERVAL}ms (a lifeline server allows 10 PINGs per second), got ${every}ms`,
    );
  }
  const json = values.json === true;
  const security = clientSecurity(values);
  const out = createOutput(json, () => undefined);
  const say = (line: string) => {
    if (!json) process.stdout.write(humanText(line));
  };
  const where = `${host}:${port}`;

  // No heartbeat of our own: every PING on the wire is one we count, as ping(8) counts its packets. The
  // server still pings a silent client, and we answer.
  const client = dial({ host, port, reconnect: false, heartbeat: false, ...security });
  const attempt: AttemptContext = { host, port, tls: security.tls !== undefined, handshaking: true };
  const rtts: number[] = [];
  /** When each PING was sent (performance.now()), by seq - 1. PONGs come back in order (one TCP stream). */
  const sentAt: number[] = [];
  /** The PINGs up to this seq are answered or were reported unanswered. */
  let reportedUpTo = 0;
  let failure: string | undefined;
  let startedAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let finished = false;

  /** A line for each PING still unanswered `every` ms after it was sent (or at the end). */
  const overdue = (now: number, all: boolean) => {
    for (let seq = Math.max(reportedUpTo, rtts.length) + 1; seq <= sentAt.length; seq++) {
      const waitedMs = now - sentAt[seq - 1]!;
      if (!all && waitedMs < every) break;
      reportedUpTo = seq;
      out.event('unanswered', { seq, waitedMs: Math.round(waitedMs) });
      say(`no answer from ${where}: seq=${seq} (${Math.round(waitedMs)} ms)`);
    }
  };

  const done = new Promise<number>((resolve) => {
    const finish = () => {
      if (finished) return;
      finished = true;
      if (timer) clearInterval(timer);
      if (sentAt.length > 0) overdue(performance.now(), true);
      if (sentAt.length > 0 || failure === undefined) report();
      client.close();
      // Non-zero when nothing was answered, or the peer died or threw us out (GOAWAY too-many-pings...)
      // before every PING was: a script must not read a cut-short run as a success.
      resolve(failure !== undefined || rtts.length === 0 ? 1 : 0);
    };
    const report = () => {
      const s = summarize(sentAt.length, rtts);
      const elapsed = Math.round(performance.now() - startedAt);
      const diagnosis = s.lost > 0 && failure === undefined ? diagnose(client) : undefined;
      const r3 = (n: number | undefined) => (n === undefined ? undefined : Math.round(n * 1000) / 1000);
      out.event('summary', {
        sent: s.sent,
        received: s.received,
        lost: s.lost,
        ...(s.received > 0 ? { min: r3(s.min), avg: r3(s.avg), max: r3(s.max), mdev: r3(s.mdev) } : {}),
        timeMs: elapsed,
        ...(diagnosis ? { diagnosis: diagnosis.diagnosis } : {}),
      });
      say('');
      say(`--- ${where} lifeline ping statistics ---`);
      const lostPct = s.sent === 0 ? 0 : Math.round((s.lost / s.sent) * 1000) / 10;
      say(`${s.sent} pings sent, ${s.received} answered, ${lostPct}% lost, time ${elapsed} ms`);
      if (s.received > 0) {
        const f = (n: number | undefined) => (n ?? 0).toFixed(3);
        say(`rtt min/avg/max/mdev = ${f(s.min)}/${f(s.avg)}/${f(s.max)}/${f(s.mdev)} ms`);
      }
      if (diagnosis) say(`diagnosis: ${diagnosis.diagnosis}: ${diagnosis.text}`);
    };

    client.on('connected', (c) => {
      attempt.handshaking = false;
      out.event('connected', { local: c.local, remote: c.remote, id: c.sessionId });
      say(`PING ${where} (${c.remote}): lifeline session ${c.sessionId}, every ${every} ms`);
      startedAt = performance.now();
      const tick = () => {
        const now = performance.now();
        overdue(now, false);
        if (sentAt.length >= count) {
          // All sent: wait for the last answers, as long as one more interval (at least a second).
          clearInterval(timer);
          timer = setTimeout(finish, Math.max(1000, every));
          return;
        }
        sentAt.push(now);
        client.ping();
      };
      tick();
      timer = setInterval(tick, every);
    });
    client.on('rtt', (rtt) => {
      rtts.push(rtt);
      const seq = rtts.length;
      out.event('rtt', { ms: Math.round(rtt * 1000) / 1000, seq });
      say(`pong from ${where}: seq=${seq} time=${rtt.toFixed(3)} ms${seq <= reportedUpTo ? ' (late)' : ''}`);
      if (rtts.length >= count) finish();
    });
    client.on('dead', (r) => {
      out.event('dead', {
        cause: r.cause,
        silentMs: Math.round(r.silentMs),
        ...(r.diagnosis ? { diagnosis: r.diagnosis } : {}),
      });
      if (!json) process.stderr.write(humanText(`lifeline ping: ${where}: peer ${deathLine(r)}`));
      failure = r.cause;
      finish();
    });
    client.on('error', (err) => {
      failure = finalFailure(err, attempt, !attempt.handshaking);
      const code = (err as NodeJS.ErrnoException).code;
      out.event('error', { message: failure, ...(code ? { code } : {}) });
      if (!json) process.stderr.write(humanText(`lifeline ping: ${failure}`));
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

/**
 * Why PINGs went unanswered on a connection that is still up, from the kernel's view of it (TCP_INFO):
 * nothing unacknowledged means the peer's kernel took every PING, so its program is not answering.
 */
function diagnose(client: HeartbeatClient): { diagnosis: Diagnosis; text: string } | undefined {
  const socket = client.socket;
  if (socket === undefined) return undefined;
  let info: TcpInfo | undefined;
  try {
    info = tcpInfo(socket);
  } catch {
    info = undefined;
  }
  if (info === undefined) {
    return { diagnosis: 'unknown', text: 'no kernel view of the connection on this platform' };
  }
  const kernel = `${info.unacked} unacked, ${info.retransmits} retransmits, last ACK ${info.lastAckReceivedMs} ms ago`;
  if (info.unacked === 0) {
    return {
      diagnosis: 'peer-unresponsive',
      text: `its kernel acknowledged every PING, its program did not answer (hung, stopped, long pause); kernel: ${kernel}`,
    };
  }
  return {
    diagnosis: 'network',
    text: `PINGs are not getting through (partition, dead host, pulled cable); kernel: ${kernel}`,
  };
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
