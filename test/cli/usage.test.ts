// The CLI's contract with people and scripts: --help for every command, bad flags answered with exit status 2
// and one stderr line naming the flag, and a connection that cannot be made answered with one clear line.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runToEnd } from './helpers.js';

const COMMANDS = ['serve', 'connect', 'ping', 'keepalive', 'doctor', 'demo'];

describe('lifeline --help', { concurrency: 4 }, () => {
  test('lists every command', async () => {
    const r = await runToEnd(['--help']);
    assert.equal(r.code, 0);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
  });

  for (const command of COMMANDS) {
    test(`${command} --help prints its usage and exits 0`, async () => {
      const r = await runToEnd([command, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^usage: lifeline ${command}`));
      assert.equal(r.stderr, '');
    });
  }
});

describe('bad flags exit 2 with one line naming the flag', { concurrency: 4 }, () => {
  const cases: Array<[string[], RegExp]> = [
    [['serve', '--bogus'], /--bogus/],
    [['serve', '--port', 'x'], /--port/],
    [['serve', '--interval', '5q'], /--interval/],
    [['serve', '--detector', 'magic'], /--detector/],
    [['serve', '--http', '70000'], /--http/],
    [['connect', 'localhost'], /HOST:PORT/],
    [['connect', 'localhost:7070', '--timeout', 'soon'], /--timeout/],
    [['connect', 'localhost:7070', '--keepalive-count', '0', '--keepalive-idle', '1s'], /--keepalive-count/],
    [['ping', 'localhost:7070', '-c', 'many'], /-c/],
    [['ping', 'localhost:7070', '-i', '10ms'], /-i/],
    [['ping'], /HOST:PORT/],
    [['keepalive', '--keepalive-idle', '2x'], /--keepalive-idle/],
    [['keepalive', '--user-timeout', '-1'], /--user-timeout/],
    [['doctor', '--verbose'], /--verbose/],
    [['frobnicate'], /frobnicate/],
  ];
  for (const [args, flag] of cases) {
    test(args.join(' '), async () => {
      const r = await runToEnd(args);
      assert.equal(r.code, 2, `exit status; stderr: ${r.stderr}`);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
      assert.match(lines[0]!, flag);
      assert.equal(r.stdout, '');
    });
  }
});

describe('a connection that cannot be made: one clear line, non-zero exit', { concurrency: 4 }, () => {
  test('connect --no-reconnect to a port nobody listens on', async () => {
    const r = await runToEnd(['connect', '127.0.0.1:1', '--no-reconnect']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'lifeline connect: cannot connect to 127.0.0.1:1: connection refused (is a lifeline server listening there?)\n',
    );
  });

  test('connect --no-reconnect --json reports the refusal as an error event', async () => {
    const r = await runToEnd(['connect', '127.0.0.1:1', '--no-reconnect', '--json']);
    assert.equal(r.code, 1);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(events[0].event, 'error');
    assert.match(events[0].message, /connection refused/);
    assert.equal(typeof events[0].t, 'number');
  });

  test('ping a name that does not resolve', async () => {
    const r = await runToEnd(['ping', 'no-such-host.invalid:7070', '-c', '1']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^lifeline ping: cannot connect to no-such-host\.invalid:7070: unknown host: the name "no-such-host\.invalid" does not resolve/,
    );
    assert.equal(r.stderr.trimEnd().split('\n').length, 1);
  });

  test('ping a refused port', async () => {
    const r = await runToEnd(['ping', '127.0.0.1:1', '-c', '1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /connection refused/);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1);
  });
});
