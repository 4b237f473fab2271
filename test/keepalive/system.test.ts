// systemKeepAlive and keepAliveBound against this machine's real sysctls.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { keepAliveBound, systemKeepAlive } from '../../src/keepalive/index.js';
import { freshSocketKeepAlive } from '../../src/keepalive/system.js';

const linux = process.platform === 'linux';
const proc = (name: string) => Number(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8'));

describe('systemKeepAlive', { skip: !linux && 'only Linux is tested' }, () => {
  test('reports net.ipv4.tcp_keepalive_time, _intvl and _probes in ms, off, with no user timeout', () => {
    assert.deepEqual(systemKeepAlive(), {
      enabled: false,
      idle: proc('tcp_keepalive_time') * 1000,
      interval: proc('tcp_keepalive_intvl') * 1000,
      count: proc('tcp_keepalive_probes'),
      userTimeout: 0,
    });
  });

  test('agrees with what a fresh socket holds (the path used where there is no /proc/sys)', () => {
    assert.deepEqual(freshSocketKeepAlive(), systemKeepAlive());
  });
});

describe('keepAliveBound', () => {
  test("gives 960 000 ms for the seed's 60 s / 180 s / 5", () => {
    assert.equal(keepAliveBound({ idle: 60_000, interval: 180_000, count: 5 }), 960_000);
  });

  test("gives 7 875 000 ms (2 h 11 min 15 s) for Linux's defaults 7200 s / 75 s / 9", () => {
    assert.equal(keepAliveBound({ idle: 7_200_000, interval: 75_000, count: 9 }), 7_875_000);
  });

  test('rounds up to whole seconds as the kernel will', () => {
    assert.equal(keepAliveBound({ idle: 1, interval: 1001, count: 2 }), 1000 + 2000 * 2);
    assert.equal(keepAliveBound({ idle: 1000, interval: 1000, count: 2 }), 3000);
  });

  test('follows Linux with a user timeout: count is ignored, probing ends at the first tick past it', () => {
    assert.equal(keepAliveBound({ idle: 1000, interval: 1000, count: 1, userTimeout: 2500 }), 3000);
    assert.equal(keepAliveBound({ idle: 1000, interval: 1000, count: 9, userTimeout: 2500 }), 3000);
    assert.equal(keepAliveBound({ idle: 60_000, interval: 10_000, count: 9, userTimeout: 2000 }), 70_000);
    assert.equal(keepAliveBound({ idle: 60_000, interval: 10_000, count: 9, userTimeout: 0 }), 150_000);
  });

  test('fills omitted interval and count with the machine defaults, and accepts settings objects', {
    skip: !linux,
  }, () => {
    const system = systemKeepAlive();
    assert.equal(keepAliveBound({ idle: 1000 }), 1000 + system.interval * system.count);
    assert.equal(keepAliveBound(systemKeepAlive()), system.idle + system.interval * system.count);
  });

  test('validates like setKeepAlive', () => {
    assert.throws(() => keepAliveBound({ idle: 0 }), RangeError);
    assert.throws(() => keepAliveBound({ idle: 1000, count: Number.NaN }), TypeError);
  });
});
