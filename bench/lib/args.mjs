// Command-line flags for the runners: --name value, --name=value, or a bare --flag for booleans.
// An unknown flag or a bad value exits with status 2 and a one-line message naming the flag.
import { existsSync } from 'node:fs';
import { lifelineEntry } from '../systems/lifeline/load.mjs';

export function parseArgs(argv, spec, usage) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    }
    if (!arg.startsWith('--')) fail(`unexpected argument '${arg}'`, usage);
    const eq = arg.indexOf('=');
    if (eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const name = arg.slice(2);
    const type = spec[name];
    if (!type) fail(`unknown flag ${arg}`, usage);
    if (type === 'boolean') {
      out[name] = value === undefined ? true : value !== 'false';
      continue;
    }
    if (value === undefined) value = argv[++i];
    if (value === undefined) fail(`flag ${arg} needs a value`, usage);
    out[name] = convert(arg, type, value, usage);
  }
  return out;
}

function convert(flag, type, value, usage) {
  if (type === 'string') return value;
  if (type === 'number') {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) fail(`flag ${flag} needs a non-negative number, got '${value}'`, usage);
    return n;
  }
  if (type === 'list') return value.split(',').filter(Boolean);
  if (type === 'numbers') {
    const list = value.split(',').map((v) => Number(v.replace(/_/g, '')));
    if (list.some((n) => !Number.isInteger(n) || n <= 0))
      fail(`flag ${flag} needs positive integers, got '${value}'`, usage);
    return list;
  }
  throw new Error(`bad spec type ${type}`);
}

function fail(message, usage) {
  process.stderr.write(`${message}\n${usage.split('\n')[0]}\n`);
  process.exit(2);
}

export const KNOWN_SYSTEMS = ['net-idle', 'net-ping', 'ws', 'socketio', 'lifeline'];

export function checkSystems(systems, allowed = KNOWN_SYSTEMS) {
  for (const s of systems) {
    if (!allowed.includes(s)) {
      process.stderr.write(`system '${s}' is not one of: ${allowed.join(', ')}\n`);
      process.exit(2);
    }
  }
}

/** lifeline is measured from its build output: without dist/, say so before starting anything. */
export function requireBuiltLifeline(systems) {
  if (!systems.includes('lifeline')) return;
  if (existsSync(lifelineEntry())) return;
  process.stderr.write(
    `lifeline is not built (${lifelineEntry().pathname} is missing): run \`npm run build\` first, ` +
      'or leave lifeline out of --systems\n',
  );
  process.exit(2);
}
