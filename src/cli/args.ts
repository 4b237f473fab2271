// Flag parsing shared by the commands: durations with units, host:port, and the heartbeat and keepalive
// flag groups of DESIGN.md. A bad flag is a UsageError naming it; main() turns that into exit status 2.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { KeepAliveOptions } from '../keepalive/index.js';
import { validateKeepAliveOptions } from '../keepalive/options.js';
import { type HeartbeatOptions, resolveHeartbeat } from '../session/options.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration flag: "250ms", "5s", "1.5s", "2m", "1h"; a bare number means milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (m === null)
    throw new UsageError(`${flag}: expected a duration such as 250ms, 5s, 2m or 1h, got "${text}"`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
}

export function parseCount(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag}: expected a whole number, got "${text}"`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${flag}: must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function parsePort(flag: string, text: string): number {
  return parseCount(flag, text, 0, 65535);
}

/** "host:port", "[::1]:port" or ":port" (localhost). */
export function parseHostPort(text: string | undefined): { host: string; port: number } {
  if (text === undefined) throw new UsageError('HOST:PORT: missing (for example localhost:7070)');
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
  if (m === null) throw new UsageError(`HOST:PORT: expected host:port, got "${text}"`);
  const port = parsePort('HOST:PORT', m[3]!);
  if (port === 0) throw new UsageError('HOST:PORT: port must be between 1 and 65535');
  return { host: m[1] ?? (m[2] || 'localhost'), port };
}

export const heartbeatFlags = {
  interval: { type: 'string' },
  timeout: { type: 'string' },
  detector: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export const keepAliveFlags = {
  'keepalive-idle': { type: 'string' },
  'keepalive-interval': { type: 'string' },
  'keepalive-count': { type: 'string' },
  'user-timeout': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

type Values = Record<string, string | boolean | undefined>;

/** Runs a library validation and turns its TypeError/RangeError into a UsageError naming the flag. */
function asFlags(flags: Record<string, string>, validate: () => unknown): void {
  try {
    validate();
  } catch (err) {
    if (!(err instanceof TypeError || err instanceof RangeError)) throw err;
    const option = /^(\w+)/.exec(err.message)?.[1] ?? '';
    const flag = flags[option];
    throw new UsageError(flag ? `${flag}: ${err.message.slice(option.length).trim()}` : err.message);
  }
}

export function heartbeatOptions(values: Values): HeartbeatOptions {
  const out: HeartbeatOptions = {};
  if (typeof values.interval === 'string') out.interval = parseDuration('--interval', values.interval);
  if (typeof values.timeout === 'string') out.timeout = parseDuration('--timeout', values.timeout);
  if (typeof values.detector === 'string') {
    if (values.detector !== 'deadline' && values.detector !== 'phi') {
      throw new UsageError(`--detector: expected deadline or phi, got "${values.detector}"`);
    }
    out.detector = values.detector;
  }
  asFlags({ interval: '--interval', timeout: '--timeout', detector: '--detector' }, () =>
    resolveHeartbeat(out),
  );
  return out;
}

/** The keepalive flags as KeepAliveOptions, or undefined when none was given. */
export function keepAliveOptions(values: Values): KeepAliveOptions | undefined {
  const idle = values['keepalive-idle'];
  const interval = values['keepalive-interval'];
  const count = values['keepalive-count'];
  const userTimeout = values['user-timeout'];
  if ([idle, interval, count, userTimeout].every((v) => v === undefined)) return undefined;
  if (typeof idle !== 'string')
    throw new UsageError('--keepalive-idle: required with the other keepalive flags');
  const out: KeepAliveOptions = { idle: parseDuration('--keepalive-idle', idle) };
  if (typeof interval === 'string') out.interval = parseDuration('--keepalive-interval', interval);
  if (typeof count === 'string') out.count = parseCount('--keepalive-count', count, 1, 127);
  if (typeof userTimeout === 'string') out.userTimeout = parseDuration('--user-timeout', userTimeout);
  asFlags(
    {
      idle: '--keepalive-idle',
      interval: '--keepalive-interval',
      count: '--keepalive-count',
      userTimeout: '--user-timeout',
    },
    () => validateKeepAliveOptions(out),
  );
  return out;
}

/** node:util parseArgs in strict mode, with its errors turned into UsageErrors that name the flag. */
export function parse(
  argv: string[],
  options: NonNullable<ParseArgsConfig['options']>,
): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
    return { values: values as Values, positionals };
  } catch (err) {
    // node:util's first sentence names the flag ("Unknown option '--bogus'"); the advice after it is noise.
    const first = (err as Error).message.split('\n')[0]!;
    throw new UsageError(first.replace(/^(Unknown option '[^']*')\..*$/, '$1'));
  }
}
