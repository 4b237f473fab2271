// lifeline demo: within seconds a newcomer sees a hung client declared heartbeat-timeout (peer-unresponsive)
// and a killed one closed; SIGTERM ends it and leaves no child behind. Needs no root.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { cliArgv } from '../helpers/cli.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('the demo shows detection, causes and diagnosis, and cleans up its children', async () => {
  const [cmd, ...rest] = cliArgv(['demo', '--http', '0']);
  const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const waitFor = (re: RegExp, ms: number) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const deadline = performance.now() + ms;
      const poll = () => {
        const m = out.match(re);
        if (m) return resolve(m);
        if (performance.now() > deadline) return reject(new Error(`no ${re} within ${ms} ms:\n${out}`));
        setTimeout(poll, 50);
      };
      poll();
    });
  try {
    const [, url] = await waitFor(/^dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/m, 10_000);
    const page = await fetch(url!, { signal: AbortSignal.timeout(5000) });
    assert.equal(page.status, 200);
    await waitFor(/^▶ \w+ hangs \(kill -STOP \d+\)/m, 10_000);
    await waitFor(/^\[[0-9a-f]{8}\] DEAD heartbeat-timeout \(peer-unresponsive: /m, 6000);
    await waitFor(/^▶ \w+ is killed \(kill -9 \d+\)/m, 6000);
    await waitFor(/^\[[0-9a-f]{8}\] DEAD (closed|reset) /m, 3000);
  } finally {
    child.kill('SIGTERM');
  }
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
  assert.equal(code, 0);
  const pids = [...out.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
  assert.ok(pids.length >= 4, out);
  const deadline = performance.now() + 3000;
  while (pids.some(alive) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(pids.filter(alive), [], 'every client process is gone');
});
