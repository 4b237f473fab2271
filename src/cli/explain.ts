// What a set of kernel keepalive settings means: the worst-case detection time, how it is reached, and
// warnings for values known to hurt. Pure (the machine's defaults are passed in); `keepalive` and
// `doctor` print it. Kernel facts: man 7 tcp, net/ipv4/tcp_timer.c; see docs/KEEPALIVE.md.
import { keepAliveBound } from '../keepalive/index.js';
import { formatLong } from './output.js';

export interface KeepAliveFacts {
  idle: number;
  interval: number;
  count: number;
  userTimeout: number;
}

export interface Explanation extends KeepAliveFacts {
  /** Worst-case ms until the kernel gives up on a silent, idle connection (keepAliveBound). */
  boundMs: number;
  /** "16 min" */
  bound: string;
  /** How the bound is reached, for people. */
  formula: string;
  /** Probes actually sent before giving up (fewer than count when a user timeout cuts probing short). */
  probes: number;
  warnings: string[];
}

/** NAT and load-balancer idle timeouts people meet: AWS NLB 350 s; many home routers and CGNATs ~5 min. */
export const NAT_IDLE_MS = 300_000;
export const AWS_NLB_IDLE_MS = 350_000;
/** ~15 min: what tcp_retries2 = 15 allows for unacknowledged data without TCP_USER_TIMEOUT (man 7 tcp). */
const RETRIES2_MS = 924_600;

export function explainKeepAlive(k: KeepAliveFacts): Explanation {
  const boundMs = keepAliveBound(k);
  const idleS = Math.ceil(k.idle / 1000) * 1000;
  const intervalS = Math.ceil(k.interval / 1000) * 1000;
  const probes = k.userTimeout > 0 ? Math.max(1, Math.ceil((k.userTimeout - idleS) / intervalS)) : k.count;
  const formula =
    k.userTimeout > 0
      ? `idle ${formatLong(idleS)} + ${probes} probe${probes === 1 ? '' : 's'} × ${formatLong(intervalS)}, ` +
        `ended by the user timeout of ${formatLong(k.userTimeout)} (Linux ignores count once a user timeout is set)`
      : `idle ${formatLong(idleS)} + ${k.count} probe${k.count === 1 ? '' : 's'} × ${formatLong(intervalS)}`;
  return {
    ...k,
    boundMs,
    bound: formatLong(boundMs),
    formula,
    probes,
    warnings: warnings(k, boundMs, probes),
  };
}

function warnings(k: KeepAliveFacts, boundMs: number, probes: number): string[] {
  const w: string[] = [];
  if (k.idle >= NAT_IDLE_MS) {
    w.push(
      `idle ${formatLong(k.idle)} is at or above common NAT and firewall idle timeouts (~5 min on many home ` +
        `routers and carrier-grade NATs, ${AWS_NLB_IDLE_MS / 1000} s on an AWS NLB): the mapping can be ` +
        'forgotten before the first probe and the connection dies silently; use an idle of 30 s to 4 min',
    );
  }
  if (k.count === 1 && k.userTimeout === 0) {
    w.push(
      'count 1: a single lost probe ends the connection, so one dropped packet is a false death; use 3 or more',
    );
  }
  if (k.userTimeout > 0 && probes < k.count) {
    w.push(
      `user timeout ${formatLong(k.userTimeout)} is shorter than idle + interval × count ` +
        `(${formatLong(k.idle + k.interval * k.count)}): it cuts probing short, the kernel gives up after ` +
        `${probes} unanswered probe${probes === 1 ? '' : 's'} instead of ${k.count}`,
    );
  }
  if (k.userTimeout > 0 && k.userTimeout < 5000) {
    w.push(
      `user timeout ${formatLong(k.userTimeout)} is short: data unacknowledged that long ends the connection, ` +
        'so a merely slow or lossy link will be cut; keep it well above the worst RTT plus a few retransmissions',
    );
  }
  if (k.userTimeout === 0) {
    w.push(
      'no user timeout: keepalive only probes an idle connection; if the peer dies while data is in flight, ' +
        `the kernel retransmits for about ${formatLong(RETRIES2_MS)} (tcp_retries2) before giving up; ` +
        `set --user-timeout to about the bound (${formatLong(boundMs)})`,
    );
  }
  if (boundMs > 30 * 60_000) {
    w.push(
      `a silently dead peer holds the connection (and what it costs) for up to ${formatLong(boundMs)}; ` +
        'for anything interactive aim for a minute or two',
    );
  }
  return w;
}

/** The explanation for people: what each knob does, the bound, warnings. */
export function explanationLines(e: Explanation): string[] {
  const ut = e.userTimeout > 0 ? formatLong(e.userTimeout) : 'off';
  const rows: Array<[string, string, string]> = [
    ['idle', formatLong(e.idle), 'silence (nothing received) before the first probe  (TCP_KEEPIDLE)'],
    ['interval', formatLong(e.interval), 'time between unanswered probes  (TCP_KEEPINTVL)'],
    ['count', String(e.count), 'unanswered probes before the kernel gives up  (TCP_KEEPCNT)'],
    ['user timeout', ut, 'longest time sent data may stay unacknowledged  (TCP_USER_TIMEOUT)'],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const lines = rows.map(([k, v, what]) => `  ${k.padEnd(w0)}  ${v.padEnd(w1)}  ${what}`);
  lines.push(
    '',
    `worst case: a peer that vanished silently is noticed ${e.bound} after the last segment received`,
    `  = ${e.formula}`,
    e.userTimeout > 0
      ? `  data left unacknowledged ends the connection after ${formatLong(e.userTimeout)} (the user timeout)`
      : `  data left unacknowledged: ~${formatLong(RETRIES2_MS)} of retransmissions (tcp_retries2), keepalive stays silent`,
  );
  if (e.warnings.length > 0) {
    lines.push('', 'warnings:');
    for (const w of e.warnings) lines.push(`  ! ${w}`);
  } else {
    lines.push('', 'no warnings: these values are sound.');
  }
  return lines;
}
