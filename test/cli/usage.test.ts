// The CLI's contract with people and scripts: --help and --version for every command, bad flags answered
// with exit status 2 and one stderr line naming the flag (with "did you mean" when one is close), a port that
// cannot be had answered with exit status 1 and one line, and a connection that cannot be made with one
// clear line.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { ROOT } from '../helpers/cli.js';
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

describe('lifeline --version', { concurrency: 4 }, () => {
  const { version } = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string };
  for (const args of [['--version'], ...COMMANDS.map((c) => [c, '--version'])]) {
    test(`${args.join(' ')} prints the version and exits 0`, async () => {
      const r = await runToEnd(args);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `lifeline ${version}\n`);
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
    [['serv'], /^lifeline: unknown command "serv" \(did you mean serve\?\)/],
    [['help', 'nope'], /^lifeline: unknown command "nope"/],
    [['help', 'pnig'], /did you mean ping\?/],
    [['serve', '--intreval', '1s'], /^lifeline: unknown option --intreval \(did you mean --interval\?\)$/],
    [['ping', 'localhost:7070', '--cuont', '3'], /did you mean --count\?/],
    [['serve', '--interval', '-1s'], /^lifeline: --interval: must not be negative, got "-1s"$/],
    [['ping', 'localhost:7070', '-i', '-1s'], /^lifeline: -i: must not be negative/],
    [['connect', 'localhost:7070', 'extra'], /^lifeline: connect: unexpected argument "extra"/],
    [['ping', 'localhost:7070', 'extra'], /^lifeline: ping: unexpected argument "extra"/],
    [['serve', 'extra'], /^lifeline: serve: unexpected argument "extra"/],
    [['serve', '--port'], /^lifeline: --port: needs a value$/],
    [['serve', '--tls'], /^lifeline: --tls: serve needs --cert FILE and --key FILE/],
    [['serve', '--cert', 'cert.pem'], /^lifeline: --cert: needs --key FILE too$/],
    [
      ['connect', 'localhost:7070', '--ca', '/no/such/ca.pem'],
      /^lifeline: --ca: cannot read "\/no\/such\/ca.pem" \(no such file\)$/,
    ],
    [['serve', '--insecure'], /^lifeline: --insecure: /],
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

describe('a port that cannot be had: exit 1 and one line on stderr', { concurrency: 2 }, () => {
  for (const flag of ['--port', '--http']) {
    test(`serve ${flag} on a port in use`, async () => {
      const taken = createServer().listen(0, '127.0.0.1');
      await new Promise((resolve) => taken.once('listening', resolve));
      const { port } = taken.address() as AddressInfo;
      try {
        const ports = flag === '--port' ? ['--port', String(port)] : ['--port', '0', '--http', String(port)];
        const r = await runToEnd(['serve', '--host', '127.0.0.1', ...ports]);
        assert.equal(r.code, 1, `exit status; stderr: ${r.stderr}`);
        assert.equal(
          r.stderr,
          `lifeline: ${flag}: 127.0.0.1:${port} is already in use (pick another port)\n`,
        );
        assert.doesNotMatch(r.stdout, /in use|error/);
      } finally {
        taken.close();
      }
    });
  }

  test('serve --json --port in use: one error event on stdout, nothing on stderr', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => taken.once('listening', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const r = await runToEnd(['serve', '--host', '127.0.0.1', '--port', String(port), '--json']);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, '');
      const events = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.equal(events.length, 1);
      assert.equal(events[0].event, 'error');
      assert.match(events[0].message, /already in use/);
    } finally {
      taken.close();
    }
  });
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
