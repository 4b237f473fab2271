// lifeline keepalive and lifeline doctor: the explanation, the worst-case bound in human units, warnings.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { explainKeepAlive } from '../../src/cli/explain.js';
import { formatLong } from '../../src/cli/output.js';
import { keepAliveBound, systemKeepAlive } from '../../src/keepalive/index.js';
import { jsonLines, runToEnd } from './helpers.js';

const SEED = ['--keepalive-idle', '60s', '--keepalive-interval', '180s', '--keepalive-count', '5'];

describe('lifeline keepalive', { concurrency: 4 }, () => {
  test("explains the seed's 60 s / 180 s / 5 as a worst case of 16 min", async () => {
    const r = await runToEnd(['keepalive', ...SEED]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /noticed 16 min after the last segment/);
    assert.match(r.stdout, /idle 1 min \+ 5 probes × 3 min/);
    for (const knob of ['TCP_KEEPIDLE', 'TCP_KEEPINTVL', 'TCP_KEEPCNT', 'TCP_USER_TIMEOUT'])
      assert.ok(r.stdout.includes(knob), knob);
    assert.match(r.stdout, /! no user timeout/);
  });

  test('--json prints one object with the bound', async () => {
    const r = await runToEnd(['keepalive', '--json', ...SEED]);
    assert.equal(r.code, 0, r.stderr);
    const [e, ...rest] = jsonLines(r.stdout);
    assert.equal(rest.length, 0);
    assert.equal(e!.event, 'keepalive');
    assert.equal(typeof e!.t, 'number');
    assert.equal(e!.boundMs, 960_000);
    assert.equal(e!.bound, '16 min');
    assert.deepEqual([e!.idle, e!.interval, e!.count, e!.userTimeout], [60_000, 180_000, 5, 0]);
    assert.ok(Array.isArray(e!.warnings));
  });

  test('warns about an idle above NAT timeouts, a single probe, and a user timeout that cuts probing short', () => {
    const nat = explainKeepAlive({ idle: 600_000, interval: 10_000, count: 3, userTimeout: 630_000 });
    assert.ok(
      nat.warnings.some((w) => w.includes('NAT') && w.includes('350 s')),
      nat.warnings.join('\n'),
    );
    const single = explainKeepAlive({ idle: 30_000, interval: 10_000, count: 1, userTimeout: 0 });
    assert.ok(
      single.warnings.some((w) => w.startsWith('count 1')),
      single.warnings.join('\n'),
    );
    const cut = explainKeepAlive({ idle: 30_000, interval: 10_000, count: 5, userTimeout: 40_000 });
    assert.equal(cut.probes, 1);
    assert.equal(cut.boundMs, 40_000);
    assert.ok(
      cut.warnings.some((w) => w.includes('cuts probing short')),
      cut.warnings.join('\n'),
    );
  });

  test('the recommended NAT settings raise no warning', () => {
    const e = explainKeepAlive({ idle: 30_000, interval: 10_000, count: 3, userTimeout: 60_000 });
    assert.deepEqual(e.warnings, []);
    assert.equal(e.bound, '1 min');
  });
});

describe('lifeline doctor', () => {
  test("shows the machine's defaults, their bound, the keepalive path, the Node version and the NAT advice", async () => {
    const r = await runToEnd(['doctor']);
    assert.equal(r.code, 0, r.stderr);
    const system = systemKeepAlive();
    const bound = formatLong(keepAliveBound(system));
    assert.ok(r.stdout.includes(`noticed ${bound} after`), r.stdout);
    if (system.idle === 7_200_000 && system.interval === 75_000 && system.count === 9) {
      assert.equal(bound, '2 h 11 min 15 s');
    }
    assert.ok(r.stdout.includes(process.version));
    assert.match(r.stdout, /keepalive path: (Node's native setKeepAlive|FFI \(koffi\))/);
    assert.match(r.stdout, /sysctl -w net\.ipv4\.tcp_keepalive_time=30/);
  });

  test('--json prints one object', async () => {
    const r = await runToEnd(['doctor', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const [e, ...rest] = jsonLines(r.stdout);
    assert.equal(rest.length, 0);
    assert.equal(e!.event, 'doctor');
    assert.equal(e!.node, process.version);
    assert.equal(e!.boundMs, keepAliveBound(systemKeepAlive()));
    assert.equal(typeof (e!.backend as { native: boolean }).native, 'boolean');
  });
});
