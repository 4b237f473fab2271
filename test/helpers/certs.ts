// A self-signed certificate for localhost, made once per test process with openssl (installed by .ci/run).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

let certificate: { key: Buffer; cert: Buffer } | undefined;

/** A self-signed certificate for localhost made with openssl, or undefined (with the test skipped). */
export function selfSigned(t: TestContext): { key: Buffer; cert: Buffer } | undefined {
  if (certificate) return certificate;
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-tls-'));
  try {
    const r = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'].concat([
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ]),
      { stdio: 'ignore' },
    );
    if (r.error || r.status !== 0) {
      if (process.env.CI === 'true') throw new Error('openssl is needed in CI to make a test certificate');
      t.skip('skipped: openssl is not installed, so no certificate for the TLS test');
      return undefined;
    }
    certificate = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
    return certificate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
