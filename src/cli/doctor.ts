// lifeline doctor: this machine's kernel keepalive defaults and what they mean, which path lifeline uses to
// set them, and what to change for a typical NAT. Reads only; never changes a sysctl.
import { readFileSync } from 'node:fs';
import { deriveKeepAlive, keepAliveBackend, systemKeepAlive } from '../keepalive/index.js';
import { HEARTBEAT_DEFAULTS } from '../session/options.js';
import { parse, UsageError } from './args.js';
import { explainKeepAlive, explanationLines } from './explain.js';
import { formatLong, jsonLine } from './output.js';

export const doctorFlags = { json: { type: 'boolean' } } as const;

/** docs/KEEPALIVE.md's recommendation for NAT-heavy networks: noticed within a minute, mapping kept warm. */
export const NAT_RECOMMENDED = { idle: 30_000, interval: 10_000, count: 3, userTimeout: 60_000 } as const;

export async function doctor(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, doctorFlags);
  if (positionals.length > 0) throw new UsageError(`doctor: unexpected argument "${positionals[0]}"`);
  const backend = keepAliveBackend();
  let system: ReturnType<typeof systemKeepAlive> | undefined;
  let systemError: string | undefined;
  try {
    system = systemKeepAlive();
  } catch (err) {
    systemError = (err as Error).message;
  }
  const explained = system ? explainKeepAlive({ ...system, userTimeout: 0 }) : undefined;
  const derived = deriveKeepAlive(HEARTBEAT_DEFAULTS);
  const retries2 = procValue('tcp_retries2');

  if (values.json === true) {
    process.stdout.write(
      jsonLine('doctor', {
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        backend,
        system: system ?? null,
        ...(systemError ? { systemError } : {}),
        boundMs: explained?.boundMs ?? null,
        bound: explained?.bound ?? null,
        warnings: explained?.warnings ?? [],
        tcpRetries2: retries2 ?? null,
        lifelineDefaults: derived,
        natRecommended: NAT_RECOMMENDED,
      }),
    );
    return 0;
  }

  const lines = [
    `Node.js ${process.version} on ${process.platform} ${process.arch}`,
    `keepalive path: ${backend.native ? "Node's native setKeepAlive" : 'FFI (koffi)'}${backend.ffi ? '' : ' — FFI unavailable'}`,
    `  ${backend.detail}`,
    '',
  ];
  if (system && explained) {
    lines.push(
      "this machine's defaults for a new TCP socket (net.ipv4.tcp_keepalive_time, _intvl, _probes;",
      `SO_KEEPALIVE is ${system.enabled ? 'on' : 'off unless a program turns it on'}, TCP_USER_TIMEOUT 0):`,
      '',
      ...explanationLines(explained),
    );
  } else {
    lines.push(`this machine's defaults could not be read: ${systemError}`);
  }
  if (retries2 !== undefined) {
    lines.push(
      '',
      `net.ipv4.tcp_retries2 = ${retries2} (how long unacknowledged data is retransmitted without a user timeout)`,
    );
  }
  const r = NAT_RECOMMENDED;
  const rBound = explainKeepAlive(r).bound;
  lines.push(
    '',
    'behind a NAT or load balancer (idle timeouts of ~5 min, 350 s on an AWS NLB), keep idle well below it:',
    `  in code:      setKeepAlive(socket, { idle: ${r.idle}, interval: ${r.interval}, count: ${r.count}, userTimeout: ${r.userTimeout} })`,
    `  on the CLI:   --keepalive-idle ${r.idle / 1000}s --keepalive-interval ${r.interval / 1000}s --keepalive-count ${r.count} --user-timeout ${r.userTimeout / 1000}s`,
    `  system-wide:  sysctl -w net.ipv4.tcp_keepalive_time=${r.idle / 1000} net.ipv4.tcp_keepalive_intvl=${r.interval / 1000} net.ipv4.tcp_keepalive_probes=${r.count}`,
    `  → a dead peer is noticed within ${rBound}, and the NAT mapping never goes idle long enough to be forgotten.`,
    '',
    `lifeline's own sockets set theirs from the heartbeat (default timeout ${formatLong(HEARTBEAT_DEFAULTS.timeout)}): ` +
      `idle ${formatLong(derived.idle)}, interval ${formatLong(derived.interval)}, count ${derived.count}, ` +
      `user timeout ${formatLong(derived.userTimeout)}.`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

function procValue(name: string): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const n = Number.parseInt(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8'), 10);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}
