// Flag parsing shared by the commands: durations with units, host:port, and the heartbeat, keepalive and TLS
// flag groups of DESIGN.md. A bad flag is a UsageError naming it (with a "did you mean" when the name is
// close to a real one); main() turns that into exit status 2.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { KeepAliveOptions } from '../keepalive/index.js';
import { deriveKeepAlive, validateKeepAliveOptions } from '../keepalive/options.js';
import { type HeartbeatOptions, resolveHeartbeat } from '../session/options.js';

/** A bad command line: exit status 2 and one line on stderr. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Something that stops the command for a reason that is not a flag (a port in use): exit status 1. */
export class FatalError extends Error {
  override name = 'FatalError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration flag: "250ms", "5s", "1.5s", "2m", "1h"; a bare number means milliseconds. */
export function parseDuration(flag: string, text: string): number {
  if (/^-\d/.test(text.trim())) throw new UsageError(`${flag}: must not be negative, got "${text}"`);
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (m === null)
    throw new UsageError(`${flag}: expected a duration such as 250ms, 5s, 2m or 1h, got "${text}"`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
}

export function parseCount(flag: string, text: string, min: number, max: number): number {
  if (/^-\d+$/.test(text)) throw new UsageError(`${flag}: must be between ${min} and ${max}, got ${text}`);
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

/**
 * The keepalive flags as KeepAliveOptions, or undefined when none was given. A flag not given keeps the value
 * lifeline would use without any (derived from the heartbeat: `deriveKeepAlive`), as `lifeline keepalive`
 * keeps the machine's default for a flag not given.
 */
export function keepAliveOptions(values: Values, heartbeat: HeartbeatOptions): KeepAliveOptions | undefined {
  const idle = values['keepalive-idle'];
  const interval = values['keepalive-interval'];
  const count = values['keepalive-count'];
  const userTimeout = values['user-timeout'];
  if ([idle, interval, count, userTimeout].every((v) => v === undefined)) return undefined;
  const out: Required<KeepAliveOptions> = { ...deriveKeepAlive(resolveHeartbeat(heartbeat)) };
  if (typeof idle === 'string') out.idle = parseDuration('--keepalive-idle', idle);
  if (typeof interval === 'string') out.interval = parseDuration('--keepalive-interval', interval);
  if (typeof count === 'string') out.count = parseCount('--keepalive-count', count, 1, 127);
  if (typeof userTimeout === 'string') out.userTimeout = parseDuration('--user-timeout', userTimeout);
  else if (idle !== undefined || interval !== undefined || count !== undefined) {
    // TCP_USER_TIMEOUT also decides when failed keepalive probes end the connection (man 7 tcp): one derived
    // from the heartbeat could hold it well past the probes asked for. It follows the flags instead.
    out.userTimeout = out.idle + out.interval * out.count;
  }
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

/**
 * node:util parseArgs in strict mode, with its errors turned into UsageErrors that name the flag, and a
 * negative value taken as a value (`--interval -1s` is refused by the duration's own check, not as "ambiguous").
 */
export function parse(argv: string[], options: Options): { values: Values; positionals: string[] } {
  const args = joinNegativeValues(argv, options);
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true });
    return { values: values as Values, positionals };
  } catch (err) {
    const message = (err as Error).message;
    const unknown = /^Unknown option '([^']*)'/.exec(message);
    if (unknown)
      throw new UsageError(`unknown option ${unknown[1]}${didYouMean(unknown[1]!, flagNames(options))}`);
    const missing = /^Option '(-\w, )?(--[\w-]+) <value>' argument missing/.exec(message);
    if (missing) throw new UsageError(`${missing[2]}: needs a value`);
    const bool = /^Option '(-\w, )?(--[\w-]+)' does not take an argument/.exec(message);
    if (bool) throw new UsageError(`${bool[2]}: takes no value`);
    // node:util's first sentence names the flag; the advice after it is noise.
    throw new UsageError(message.split('\n')[0]!.replace(/\. .*$/, ''));
  }
}

/** Throws a UsageError for positional arguments past the `expected` ones. */
export function noMorePositionals(command: string, positionals: string[], expected: number): void {
  const extra = positionals[expected];
  if (extra === undefined) return;
  const takes = expected === 0 ? 'flags only' : 'one HOST:PORT and flags';
  throw new UsageError(`${command}: unexpected argument "${extra}" (${command} takes ${takes})`);
}

/** `--interval -1s` as `--interval=-1s`: a value that looks like a negative number is a value, not a flag. */
function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = longName(arg, options);
    if (name !== undefined && options[name]!.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

function longName(arg: string, options: Options): string | undefined {
  if (arg.startsWith('--')) return options[arg.slice(2)] ? arg.slice(2) : undefined;
  if (/^-\w$/.test(arg)) return Object.keys(options).find((k) => options[k]!.short === arg.slice(1));
  return undefined;
}

function flagNames(options: Options): string[] {
  return Object.keys(options).map((k) => `--${k}`);
}

/** ", did you mean --interval?" when one candidate is close to `word` (an edit or two, or a prefix). */
export function didYouMean(word: string, candidates: string[]): string {
  const best = closest(word, candidates);
  return best === undefined ? '' : ` (did you mean ${best}?)`;
}

export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = c.startsWith(word) && word.replace(/^-+/, '').length >= 2 ? 0.5 : distance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const allowed = Math.max(1, Math.min(2, Math.floor(word.length / 3)));
  return bestDistance <= allowed ? best : undefined;
}

/** Levenshtein distance (insertions, deletions, substitutions), with a transposition counted as one. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...Array<number>(b.length).fill(0),
  ]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
