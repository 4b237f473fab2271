// TLS and credentials on the command line: serve --cert/--key/--credentials, and connect and ping reaching
// it with --ca/--insecure/--credentials — or saying why not (certificate not trusted, no TLS, auth refused).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { selfSigned } from '../helpers/certs.js';
import { jsonLines, runToEnd, type Served, startServe } from './helpers.js';

describe('TLS and credential flags', () => {
  let dir: string;
  let ca: string;
  let tls: Served | undefined;
  let plain: Served | undefined;

  before(async () => {
    // Without openssl (outside CI) each test skips itself.
    const pair = selfSigned({ skip: () => {} } as unknown as TestContext);
    if (pair === undefined) return;
    dir = mkdtempSync(join(tmpdir(), 'lifeline-cli-tls-'));
    ca = join(dir, 'cert.pem');
    writeFileSync(ca, pair.cert);
    writeFileSync(join(dir, 'key.pem'), pair.key);
    tls = await startServe([
      '--cert',
      ca,
      '--key',
      join(dir, 'key.pem'),
      '--credentials',
      's3cret',
      '--echo',
    ]);
    plain = await startServe();
  });
  after(async () => {
    await tls?.reader.stop();
    await plain?.reader.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('connect --ca --credentials: connected over TLS, the message echoed', async (t) => {
    if (!tls) return t.skip('no certificate (openssl missing)');
    const r = await runToEnd(
      ['connect', `localhost:${tls.port}`, '--ca', ca, '--credentials', 's3cret', '--json'],
      15_000,
      'over tls\n',
    );
    assert.equal(r.code, 0, r.stderr);
    const events = jsonLines(r.stdout);
    assert.equal(events[0]!.event, 'connected');
    assert.ok(events.some((e) => e.event === 'message' && e.text === 'over tls'));
  });

  test('ping --insecure --credentials: answered', async (t) => {
    if (!tls) return t.skip('no certificate (openssl missing)');
    const r = await runToEnd([
      'ping',
      `localhost:${tls.port}`,
      '--insecure',
      '--credentials',
      's3cret',
      '-c',
      '2',
      '-i',
      '100ms',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^2 pings sent, 2 answered, 0% lost/m);
  });

  const refusals: Array<[string, (port: () => number) => string[], RegExp]> = [
    [
      'a certificate not trusted',
      (port) => ['connect', `localhost:${port()}`, '--tls'],
      /: TLS refused: the server's certificate is not trusted \(self-signed certificate\): pass its CA with --ca FILE, or --insecure/,
    ],
    [
      'credentials refused',
      (port) => ['connect', `localhost:${port()}`, '--ca', ca, '--credentials', 'wrong'],
      /: authentication refused by the server \(auth-failed\): check --credentials$/,
    ],
    [
      'no TLS on the client',
      (port) => ['connect', `localhost:${port()}`, '--no-reconnect'],
      /: the server closed the connection before answering HELLO: not a lifeline server\? \(or one that speaks TLS: try --tls\)$/,
    ],
    [
      'ping with credentials refused',
      (port) => ['ping', `localhost:${port()}`, '--ca', ca, '-c', '1'],
      /^lifeline ping: cannot connect to .*: authentication refused by the server/,
    ],
  ];
  for (const [name, args, expected] of refusals) {
    test(`${name}: exit 1, one line that says so`, async (t) => {
      if (!tls) return t.skip('no certificate (openssl missing)');
      const r = await runToEnd(args(() => tls!.port));
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, expected);
    });
  }

  test('connect --tls to a server without TLS: it does not speak TLS', async (t) => {
    if (!plain) return t.skip('no certificate (openssl missing)');
    const r = await runToEnd(['connect', `localhost:${plain.port}`, '--tls']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^lifeline connect: cannot connect to .*: TLS refused: the server does not speak TLS/,
    );
  });
});
