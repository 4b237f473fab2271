#!/usr/bin/env node
// Runs every test file under test/ with Node's own test runner (TypeScript through tsx).
// Unit tests run concurrently; the fault tests (real network namespaces, timing bounds) run one file
// at a time afterwards so that two cores shared with other tests do not blur their timing.
// Usage: node scripts/run-tests.mjs [--only unit|fault] [path-substring ...]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
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

const all = walk(join(root, 'test')).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
const fault = all.filter((f) => f.startsWith('test/fault/'));
const unit = all.filter((f) => !f.startsWith('test/fault/'));

function run(files, concurrency) {
  if (files.length === 0) return 0;
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
    { cwd: root, stdio: 'inherit' },
  );
  return r.status ?? 1;
}

let status = 0;
if (only !== 'fault') status ||= run(unit, 2);
if (only !== 'unit') status ||= run(fault, 1);
process.exit(status);
