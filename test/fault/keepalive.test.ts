// Kernel keepalive against real silence: a peer in its own network namespace behind a partition that drops
// every packet, so only the kernel's timers can notice. Times are measured from the moment of the fault.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { type TestContext, test } from 'node:test';
import { type KeepAliveOptions, keepAliveBound, setKeepAlive } from '../../src/keepalive/index.js';
import { createNetns, type Netns, needNetns } from '../helpers/netns.js';
import { within } from '../helpers/wait.js';

// The peer: accepts connections and holds them, never sending; prints its port once listening.
const PEER = `
const net = require('node:net');
const server = net.createServer((c) => c.on('error', () => {}));
server.listen(0, process.argv[1], () => console.log(server.address().port));
`;

interface Dialled {
  socket: net.Socket;
  peer: ChildProcess;
}

async function dial(ns: Netns, options: KeepAliveOptions): Promise<Dialled> {
  const peer = ns.spawn([process.execPath, '-e', PEER, ns.peerIp]);
  const [line] = (await within(10_000, 'the peer to listen', once(peer.stdout!, 'data'))) as [Buffer];
  const socket = net.connect(Number(line.toString().trim()), ns.peerIp);
  setKeepAlive(socket, options);
  await within(5000, 'connect', once(socket, 'connect'));
  return { socket, peer };
}

/** Resolves with the error the socket dies of and when, measured with the monotonic clock. */
function death(socket: net.Socket): Promise<{ err: NodeJS.ErrnoException; at: number }> {
  return new Promise((resolve) => socket.once('error', (err) => resolve({ err, at: performance.now() })));
}

/**
 * Dials a silent peer with `options`, partitions it, and asserts the kernel fails the idle connection with
 * ETIMEDOUT within [bound - 500, bound + 1500] ms of the fault, where bound = keepAliveBound(options).
 */
async function expectIdleDeath(
  t: TestContext,
  options: KeepAliveOptions,
  expectedBound: number,
): Promise<void> {
  const ns = createNetns();
  let dialled: Dialled | undefined;
  try {
    const bound = keepAliveBound(options);
    assert.equal(bound, expectedBound);
    dialled = await dial(ns, options);
    const died = death(dialled.socket);
    ns.partition();
    const partitionedAt = performance.now();
    const { err, at } = await within(bound + 5000, 'the kernel to give up', died);
    const elapsed = at - partitionedAt;
    t.diagnostic(`bound ${bound} ms, failed after ${elapsed.toFixed(0)} ms with ${err.code}`);
    assert.equal(err.code, 'ETIMEDOUT');
    // The idle clock starts at the last segment received (the handshake, just before the partition).
    assert.ok(elapsed >= bound - 500, `failed after ${elapsed.toFixed(0)} ms, before the bound ${bound} ms`);
    assert.ok(
      elapsed <= bound + 1500,
      `failed after ${elapsed.toFixed(0)} ms, long after the bound ${bound} ms`,
    );
  } finally {
    dialled?.socket.destroy();
    dialled?.peer.kill('SIGKILL');
    ns.destroy();
  }
}

test('a partitioned idle connection fails with ETIMEDOUT within idle + interval x count', async (t) => {
  if (!needNetns(t)) return;
  await expectIdleDeath(t, { idle: 1000, interval: 1000, count: 2 }, 3000);
});

test('with TCP_USER_TIMEOUT, unacknowledged data fails the connection within the user timeout', async (t) => {
  if (!needNetns(t)) return;
  const ns = createNetns();
  let dialled: Dialled | undefined;
  try {
    // Keepalive alone would take 60 s + 60 s x 9: only the user timeout can explain a failure within seconds.
    const userTimeout = 2000;
    const options = { idle: 60_000, interval: 60_000, count: 9, userTimeout };
    dialled = await dial(ns, options);
    const died = death(dialled.socket);
    ns.partition();
    const writtenAt = performance.now();
    dialled.socket.write('left unacknowledged');
    const { err, at } = await within(userTimeout + 5000, 'the kernel to give up', died);
    const elapsed = at - writtenAt;
    t.diagnostic(`user timeout ${userTimeout} ms, failed after ${elapsed.toFixed(0)} ms with ${err.code}`);
    assert.equal(err.code, 'ETIMEDOUT');
    assert.ok(
      elapsed >= userTimeout - 100,
      `failed after ${elapsed.toFixed(0)} ms, before ${userTimeout} ms`,
    );
    assert.ok(
      elapsed <= userTimeout + 1500,
      `failed after ${elapsed.toFixed(0)} ms, long after ${userTimeout} ms`,
    );
    assert.ok(elapsed < keepAliveBound({ idle: 60_000, interval: 60_000, count: 9 }) / 10);
  } finally {
    dialled?.socket.destroy();
    dialled?.peer.kill('SIGKILL');
    ns.destroy();
  }
});

test('on an idle connection a user timeout replaces count: probing ends at the first tick past it', async (t) => {
  if (!needNetns(t)) return;
  // count 1 alone would give up at 2 s; with userTimeout 2.5 s Linux probes again and gives up at 3 s.
  await expectIdleDeath(t, { idle: 1000, interval: 1000, count: 1, userTimeout: 2500 }, 3000);
});
