// lifeline connect says why: every reconnect attempt carries the reason the last one failed, a server that
// does not speak lifeline is named as such, and Ctrl-C says goodbye (GOAWAY normal) and exits with nothing
// reported unconfirmed that the server had received.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { eventually } from '../helpers/wait.js';
import { jsonLines, runToEnd, type Served, startCli, startServe } from './helpers.js';

describe('lifeline connect', () => {
  const stops: Array<() => unknown> = [];
  after(async () => {
    for (const stop of stops) await stop();
  });

  test('standard input faster than the server acknowledges: every line is sent, in order, none dropped (backpressure, not LIFELINE_BUFFER_FULL)', async () => {
    const served = await startServe();
    stops.push(() => served.reader.stop());
    const LINES = 120_000; // 12 MB of 100-byte lines: past the 8 MiB replay buffer if nothing waited
    const input = `${Array.from({ length: LINES }, (_, i) => String(i).padEnd(100, '.')).join('\n')}\n`;
    const done = await runToEnd(
      ['connect', `127.0.0.1:${served.port}`, '--json', '--no-reconnect'],
      60_000,
      input,
    );
    assert.equal(done.code, 0, done.stderr);
    const events = jsonLines(done.stdout);
    assert.deepEqual(
      events.filter((e) => e.event === 'error' || e.event === 'unconfirmed'),
      [],
    );
    const messages = () => served.reader.events.filter((e) => e.event === 'message').length;
    await eventually(30_000, `${LINES} messages at the server`, () => messages() >= LINES, 100);
    const texts = served.reader.events.filter((e) => e.event === 'message').map((e) => String(e.text));
    assert.equal(texts.length, LINES);
    assert.ok(
      texts.every((t, i) => t.startsWith(`${i}.`)),
      'lines arrived out of order',
    );
  });

  test('each reconnect line says why the attempt failed (refused)', async () => {
    const c = startCli(['connect', '127.0.0.1:1']);
    stops.push(() => c.stop());
    const [line] = await c.stderr.waitLine(/^reconnecting in .* \(attempt 1\): .*$/, 10_000);
    assert.match(
      line!,
      /^reconnecting in [\d.]+ m?s \(attempt 1\): connection refused \(is a lifeline server listening there\?\)$/,
    );
    await c.stderr.waitLine(/\(attempt 2\): connection refused/, 10_000);
    await c.stop();
  });

  test('--json: reconnecting events carry the reason and the error code', async () => {
    const c = startCli(['connect', 'no-such-host.invalid:7070', '--json']);
    stops.push(() => c.stop());
    const [line] = await c.stdout.waitLine(/^{.*"event":"reconnecting".*}$/, 10_000);
    const event = JSON.parse(line!);
    assert.equal(event.attempt, 1);
    assert.equal(typeof event.delayMs, 'number');
    assert.equal(typeof event.t, 'number');
    assert.equal(event.code, 'ENOTFOUND');
    assert.match(event.reason, /^unknown host: the name "no-such-host\.invalid" does not resolve/);
    await c.stop();
  });

  test('an HTTP server is named as not a lifeline server, once, on stderr', async () => {
    const server = http.createServer((_, res) => res.end('hello\n')).listen(0, '127.0.0.1');
    await once(server, 'listening');
    stops.push(() => server.close());
    const { port } = server.address() as AddressInfo;
    const r = await runToEnd(['connect', `127.0.0.1:${port}`, '--no-reconnect']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `lifeline connect: cannot connect to 127.0.0.1:${port}: not a lifeline server: it answered "HTTP/1.1…" (an HTTP server)\n`,
    );
    assert.equal(r.stdout, '');
  });

  describe('Ctrl-C', () => {
    let served: Served;
    test('the first one says goodbye and exits; what the server received is not reported unconfirmed', async () => {
      served = await startServe(['--echo']);
      stops.push(() => served.reader.stop());
      const c = startCli(['connect', `127.0.0.1:${served.port}`]);
      stops.push(() => c.stop());
      await c.stderr.waitLine(/^connected to /, 10_000);
      c.child.stdin!.write('one\ntwo\n');
      await c.stdout.waitLine(/^two$/, 5000); // echoed: the server has both
      // stdin stays open, as on a terminal: only the signal ends it.
      const sentAt = performance.now();
      c.child.kill('SIGINT');
      assert.equal(await c.exit(3000), 0, c.stderr.text);
      assert.ok(performance.now() - sentAt < 2500, `exited after ${performance.now() - sentAt} ms`);
      assert.match(c.stderr.text, /^closed: said goodbye \(GOAWAY normal\)$/m);
      assert.doesNotMatch(c.stderr.text, /may not have arrived/);
      // The server saw a goodbye, not a death.
      const closed = await served.reader.waitFor((e) => e.event === 'closed' && e.id !== undefined, 5000);
      assert.equal(
        served.reader.events.some((e) => e.event === 'dead' && e.id === closed.id),
        false,
        'no death on the server',
      );
    });

    test('--json: no unconfirmed event, and closed last', async () => {
      const c = startCli(['connect', `127.0.0.1:${served.port}`, '--json']);
      stops.push(() => c.stop());
      await c.stdout.waitLine(/"event":"connected"/, 10_000);
      c.child.stdin!.write('three\n');
      await c.stdout.waitLine(/"text":"three"/, 5000);
      c.child.kill('SIGINT');
      assert.equal(await c.exit(3000), 0, c.stderr.text);
      const events = jsonLines(c.stdout.text);
      assert.equal(events.filter((e) => e.event === 'unconfirmed').length, 0);
      assert.equal(events.at(-1)!.event, 'closed');
    });
  });
});
