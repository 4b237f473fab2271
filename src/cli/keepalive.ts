// lifeline keepalive: explains a set of kernel keepalive settings (the flags; omitted ones are the
// machine's defaults, as setKeepAlive leaves them) and their worst-case detection time.
import { systemKeepAlive } from '../keepalive/index.js';
import { keepAliveFlags, parse, parseCount, parseDuration, UsageError } from './args.js';
import { explainKeepAlive, explanationLines, type KeepAliveFacts } from './explain.js';
import { jsonLine } from './output.js';

export const keepaliveFlags = { ...keepAliveFlags, json: { type: 'boolean' } } as const;

export async function keepalive(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, keepaliveFlags);
  if (positionals.length > 0) throw new UsageError(`keepalive: unexpected argument "${positionals[0]}"`);
  const given = (name: string) => typeof values[name] === 'string';
  const anyGiven = Object.keys(keepAliveFlags).some(given);
  const system = systemDefaults();
  const k: KeepAliveFacts = {
    idle: given('keepalive-idle')
      ? positive('--keepalive-idle', values['keepalive-idle'] as string)
      : system.idle,
    interval: given('keepalive-interval')
      ? positive('--keepalive-interval', values['keepalive-interval'] as string)
      : system.interval,
    count: given('keepalive-count')
      ? parseCount('--keepalive-count', values['keepalive-count'] as string, 1, 127)
      : system.count,
    userTimeout: given('user-timeout')
      ? parseDuration('--user-timeout', values['user-timeout'] as string)
      : 0,
  };
  const e = explainKeepAlive(k);
  if (values.json === true) {
    process.stdout.write(jsonLine('keepalive', { source: anyGiven ? 'flags' : 'system', ...e }));
    return 0;
  }
  process.stdout.write(
    `${anyGiven ? 'kernel TCP keepalive with these settings' : "this machine's default kernel TCP keepalive (no flags given)"}` +
      ` (durations are whole seconds, rounded up):\n\n${explanationLines(e).join('\n')}\n`,
  );
  return 0;
}

function positive(flag: string, text: string): number {
  const value = parseDuration(flag, text);
  if (value <= 0) throw new UsageError(`${flag}: must be more than 0, got "${text}"`);
  if (value > 32_767_000) throw new UsageError(`${flag}: must be at most 32767s, got "${text}"`);
  return value;
}

/** The machine's defaults, or Linux's stock values when they cannot be read. */
function systemDefaults(): { idle: number; interval: number; count: number } {
  try {
    return systemKeepAlive();
  } catch {
    return { idle: 7_200_000, interval: 75_000, count: 9 };
  }
}
