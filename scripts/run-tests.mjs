#!/usr/bin/env node
// Runs every test file under test/ with Node's own test runner (TypeScript through tsx).
// Unit tests run concurrently; the fault tests (real network namespaces, timing bounds) run one file
// at a time afterwards so that two cores shared with other tests do not blur their timing.
// Usage: node scripts/run-tests.mjs [--only unit|fault] [path-substring ...]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
let only;
const filters = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--only') only = args[++i];
  else filters.push(args[i]);
}

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out.sort();
}

const all = walk(join(root, 'test')).filter(
  (f) => filters.length === 0 || filters.some((s) => f.includes(s)),
);
const fault = all.filter((f) => f.startsWith('test/fault/'));
const unit = all.filter((f) => !f.startsWith('test/fault/'));

const tapDir = mkdtempSync(join(tmpdir(), 'lifeline-tests-'));
const totals = { pass: 0, fail: 0, skipped: 0 };

function run(name, files, concurrency) {
  if (files.length === 0) return 0;
  const tap = join(tapDir, `${name}.tap`);
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${concurrency}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      ...files,
    ],
    { cwd: root, stdio: 'inherit' },
  );
  const text = readFileSync(tap, 'utf8');
  for (const key of Object.keys(totals)) {
    const m = text.match(new RegExp(`^# ${key} (\\d+)$`, 'm'));
    if (m) totals[key] += Number(m[1]);
  }
  return r.status ?? 1;
}

const unitStatus = only === 'fault' ? 0 : run('unit', unit, 2);
const faultStatus = only === 'unit' ? 0 : run('fault', fault, 1);
// One plain closing line for everything, since the two runs above each print their own summary.
console.log(`\ntests: ${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
process.exit(unitStatus || faultStatus);
