// lifeline ping against a real `lifeline serve` on loopback: a line per answer, the summary, --json.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { summarize } from '../../src/cli/ping.js';
import { createServer } from '../../src/index.js';
import type { DeathReport } from '../../src/session/death.js';
import { jsonLines, runToEnd, type Served, startCli, startServe } from './helpers.js';

describe('lifeline ping', () => {
  let served: Served;
  before(async () => {
    served = await startServe();
  });
  after(() => served.reader.stop());

  test('prints a line per answer and ping(8)-like statistics', async () => {
    const r = await runToEnd(['ping', `127.0.0.1:${served.port}`, '-c', '3', '-i', '100ms']);
    assert.equal(r.code, 0, r.stderr);
    const answers = r.stdout.match(/^pong from 127\.0\.0\.1:\d+: seq=\d+ time=\d+\.\d{3} ms$/gm) ?? [];
    assert.equal(answers.length, 3, r.stdout);
    assert.match(r.stdout, /^3 pings sent, 3 answered, 0% lost, time \d+ ms$/m);
    assert.match(r.stdout, /^rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms$/m);
  });

  test('--json prints an rtt event per answer and a summary', async () => {
    const r = await runToEnd(['ping', `127.0.0.1:${served.port}`, '-c', '4', '-i', '100ms', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const events = jsonLines(r.stdout);
    assert.equal(events[0]!.event, 'connected');
    const rtts = events.filter((e) => e.event === 'rtt');
    assert.deepEqual(
      rtts.map((e) => e.seq),
      [1, 2, 3, 4],
    );
    for (const e of rtts) assert.ok(typeof e.ms === 'number' && e.ms > 0 && e.ms < 1000);
    const summary = events.find((e) => e.event === 'summary')!;
    assert.equal(summary.sent, 4);
    assert.equal(summary.received, 4);
    assert.equal(summary.lost, 0);
    assert.ok(Number(summary.min) <= Number(summary.avg) && Number(summary.avg) <= Number(summary.max));
    assert.equal(events[events.length - 1]!.event, 'closed');
    // Monotonic t: never goes back.
    for (let i = 1; i < events.length; i++) assert.ok(Number(events[i]!.t) >= Number(events[i - 1]!.t));
  });

  test('SIGINT prints the summary', async () => {
    const { spawn } = await import('node:child_process');
    const { cliArgv } = await import('../helpers/cli.js');
    const [cmd, ...rest] = cliArgv(['ping', `127.0.0.1:${served.port}`, '-i', '100ms']);
    const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answers within 10 s: ${out}`)), 10_000);
      child.stdout.on('data', (t: string) => {
        out += t;
        if ((out.match(/^pong /gm) ?? []).length >= 2) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
    assert.equal(code, 0, out);
    assert.match(out, /lifeline ping statistics ---\n\d+ pings sent, \d+ answered/);
  });

  test('a hung server: a line per unanswered PING, and the diagnosis peer-unresponsive', async () => {
    const hung = await startServe();
    const c = startCli(['ping', `127.0.0.1:${hung.port}`, '-c', '5', '-i', '200ms']);
    try {
      await c.stdout.waitLine(/^pong from .*: seq=2 /, 10_000);
      hung.reader.child.kill('SIGSTOP'); // its kernel still acknowledges; its program answers nothing
      assert.equal(await c.exit(10_000), 0, c.stderr.text);
      const unanswered = c.stdout.lines.filter((l) =>
        /^no answer from 127\.0\.0\.1:\d+: seq=\d+ \(\d+ ms\)$/.test(l),
      );
      assert.ok(unanswered.length >= 2, c.stdout.text);
      assert.match(c.stdout.text, /^5 pings sent, [23] answered, [\d.]+% lost/m);
      assert.match(
        c.stdout.text,
        /^diagnosis: peer-unresponsive: its kernel acknowledged every PING, its program did not answer .*; kernel: 0 unacked/m,
      );
    } finally {
      await c.stop();
      await hung.reader.stop();
    }
  });

  test('--json on a hung server: unanswered events and the summary with its diagnosis', async () => {
    const hung = await startServe();
    const c = startCli(['ping', `127.0.0.1:${hung.port}`, '-c', '4', '-i', '200ms', '--json']);
    try {
      await c.stdout.waitLine(/"event":"rtt"/, 10_000);
      hung.reader.child.kill('SIGSTOP');
      assert.equal(await c.exit(10_000), 0, c.stderr.text);
      const events = jsonLines(c.stdout.text);
      const unanswered = events.filter((e) => e.event === 'unanswered');
      assert.ok(unanswered.length >= 2);
      for (const e of unanswered) assert.ok(typeof e.seq === 'number' && typeof e.waitedMs === 'number');
      const summary = events.find((e) => e.event === 'summary')!;
      assert.equal(summary.diagnosis, 'peer-unresponsive');
      assert.equal(summary.lost, unanswered.length);
    } finally {
      await c.stop();
      await hung.reader.stop();
    }
  });

  test('mdev is the standard deviation of the round trips', () => {
    const s = summarize(5, [1, 2, 3, 4]);
    assert.equal(s.lost, 1);
    assert.equal(s.avg, 2.5);
    assert.ok(Math.abs(s.mdev! - Math.sqrt(1.25)) < 1e-12);
    assert.deepEqual(summarize(2, []), { sent: 2, received: 0, lost: 2 });
  });
});

describe('lifeline ping and the PING allowance (issue 11: traffic-honest-pinger-kicked)', () => {
  test('at -i 100ms, the documented minimum, it is never thrown out by a server whose event loop is busy 60 ms every 700 ms', async () => {
    const deaths: DeathReport[] = [];
    const server = createServer({}, (s) => s.on('dead', (r) => deaths.push(r)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // The busy loop runs in this process, the server's: PINGs queue up and are read in bunches.
    const work = setInterval(() => {
      const t = performance.now();
      while (performance.now() - t < 60) {
        // Deliberately blocks the server's event loop.
      }
    }, 700);
    try {
      const port = (server.address() as AddressInfo).port;
      const r = await runToEnd(['ping', `127.0.0.1:${port}`, '-i', '100ms', '-c', '60'], 30_000);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /^60 pings sent, 60 answered, 0% lost/m);
      assert.deepEqual(
        deaths.map((d) => d.goaway),
        [],
      );
    } finally {
      clearInterval(work);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('thrown out with GOAWAY too-many-pings (a server allowing 1 PING a second), it says so and exits non-zero', async () => {
    const server = createServer({ interval: 1000, timeout: 3000, maxPingsPerInterval: 1 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const r = await runToEnd(['ping', `127.0.0.1:${port}`, '-i', '100ms', '-c', '50'], 30_000);
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, /too-many-pings/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
