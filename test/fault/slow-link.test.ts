// Bulk transfers over slow links, on real sockets: a veth cable to a network namespace shaped with tc tbf
// on both ends (1 Mbit/s and 256 kbit/s each way), a lifeline server in the namespace (bulk-peer.ts) and a
// client in this process. A heartbeat must never wait behind a megabyte of data (no false death while
// bytes crawl), yet a partition or a stopped reader during a transfer must still be found and named; and a
// fast sender facing a slow application must be held back by the receiver's window, not buffered without
// end. Heartbeat interval 1 s, timeout 3 s.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { connect, type HeartbeatClient } from '../../src/client/client.js';
import type { DeathReport } from '../../src/session/death.js';
import { BulkPeer, indexOf, messages, sendAll, sha } from '../helpers/bulk.js';
import type { JsonEvent } from '../helpers/cli.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { next, until } from '../helpers/peer.js';
import { bareRate, type Cable, cut, needSlowLink, shape, TBF_LATENCY_MS } from '../helpers/tbf.js';
import { eventually, within } from '../helpers/wait.js';

const INTERVAL = 1000;
const TIMEOUT = 3000;
/** Honest slack for detection: one timer tick, the setImmediate that lets pending input be read, jitter. */
const SLACK = 250;
const KiB = 1024;

/**
 * Bytes a receiver may hold beyond its window: one DATA fragment being decoded (16 KiB + 12), the frame
 * headers of everything read (12 bytes per 16 KiB fragment, 0.07 %) and control frames (WELCOME, PINGs,
 * WINDOWs: tens of bytes each). A receiver that let in one 64 KiB message more than its window breaks it.
 */
const HELD_ALLOWANCE = 64 * KiB;

/** Figures measured by this file, printed at the end. */
const measured: string[] = [];
function record(line: string): void {
  measured.push(line);
}

/** The links: each rate with a transfer that takes about 17 s on it (2 MiB at 1 Mbit/s, 512 KiB at 256 kbit/s). */
const LINKS = [
  { kbit: 1000, count: 4, size: 512 * KiB },
  { kbit: 256, count: 4, size: 128 * KiB },
] as const;

interface Rig {
  ns: Netns;
  /** The cable's interfaces, when shaped. */
  cable: Cable | undefined;
  peer: BulkPeer;
  client: HeartbeatClient;
  deaths: DeathReport[];
  /** Round-trip times the client measured (a PING that waits behind data shows here). */
  rtts: number[];
  unconfirmed: number;
  /** What the client's application received ('message' events), in order. */
  received: Array<{ index: number; sha: string }>;
  /** Payload bytes consumed by the client's application (set by whoever consumes). */
  consumed: number;
  /** The most bytes the client's process read from its socket and its application had not consumed. */
  heldMax: number;
}

/** A namespace (shaped to `kbit` if given), the server in it, and a connected client. */
async function startRig(
  kbit: number | undefined,
  peerOptions: { receiveWindow?: number; maxMessageSize?: number } = {},
  clientOptions: { receiveWindow?: number; maxMessageSize?: number } = {},
): Promise<Rig> {
  const ns = createNetns();
  let peer: BulkPeer | undefined;
  try {
    const cable = kbit === undefined ? undefined : shape(ns, kbit);
    peer = await BulkPeer.start(ns, { interval: INTERVAL, timeout: TIMEOUT, ...peerOptions });
    const client = connect({
      host: ns.peerIp,
      port: peer.port,
      interval: INTERVAL,
      timeout: TIMEOUT,
      reconnect: false,
      ...clientOptions,
    });
    const rig: Rig = {
      ns,
      cable,
      peer,
      client,
      deaths: [],
      rtts: [],
      unconfirmed: 0,
      received: [],
      consumed: 0,
      heldMax: 0,
    };
    client.on('dead', (r) => rig.deaths.push(r));
    client.on('rtt', (ms) => rig.rtts.push(ms));
    client.on('unconfirmed', (list) => {
      rig.unconfirmed += list.length;
    });
    client.on('error', () => {});
    await within(10_000, 'the client to connect', client.ready);
    await peer.reader.waitFor((e) => e.event === 'session', 5000);
    // Sampled after every chunk the socket delivers: what the process holds is largest just after one.
    client.socket!.on('data', () => sampleHeld(rig));
    return rig;
  } catch (err) {
    await peer?.stop();
    ns.destroy();
    throw err;
  }
}

function sampleHeld(rig: Rig): void {
  const read = rig.client.socket?.bytesRead;
  if (read !== undefined) rig.heldMax = Math.max(rig.heldMax, read - rig.consumed);
}

/** Records every 'message' of the client (hash, index) and counts it consumed. */
function collect(rig: Rig): void {
  rig.client.on('message', (m) => {
    rig.received.push({ index: indexOf(m), sha: sha(m) });
    rig.consumed += m.length;
    sampleHeld(rig);
  });
}

/**
 * `promise`, unless either side declares a death, or the client's session ends, first: then it fails at
 * once, saying who and why.
 */
function unlessDeath<T>(rig: Rig, promise: Promise<T>): Promise<T> {
  let onClient: ((r: DeathReport) => void) | undefined;
  let onClose: (() => void) | undefined;
  let onPeer: ((e: JsonEvent) => void) | undefined;
  const fail = (side: string, report: object) =>
    new Error(`the ${side} declared a death: ${JSON.stringify(report)}; ${rtts(rig)} so far`);
  const death = new Promise<never>((_, reject) => {
    const peerDeath = rig.peer.events('dead')[0];
    if (rig.deaths[0] !== undefined) reject(fail('client', rig.deaths[0]));
    if (peerDeath !== undefined) reject(fail('server', peerDeath));
    onClient = (r) => reject(fail('client', r));
    onClose = () =>
      reject(
        new Error(
          `the client's session ended: ${JSON.stringify(rig.client.lastEnd)}; the server said ` +
            JSON.stringify(
              rig.peer.reader.events.filter((e) => !['message', 'sent', 'rtt'].includes(e.event)),
            ),
        ),
      );
    if (rig.client.state === 'closed') onClose();
    onPeer = (e) => {
      if (e.event === 'dead') reject(fail('server', e));
    };
    rig.client.on('dead', onClient);
    rig.client.on('close', onClose);
    rig.peer.on('event', onPeer);
  });
  return Promise.race([promise, death]).finally(() => {
    rig.client.off('dead', onClient!);
    rig.client.off('close', onClose!);
    rig.peer.off('event', onPeer!);
  });
}

async function stopRig(rig: Rig | undefined): Promise<void> {
  if (rig === undefined) return;
  await within(5000, 'the client to close', rig.client.close()).catch(() => {});
  await rig.peer.stop();
  rig.ns.destroy();
}

/** Ends a healthy session with a goodbye and checks that neither side saw a death or lost a message. */
async function closeCleanly(rig: Rig): Promise<void> {
  const from = rig.peer.reader.events.length;
  await within(5000, 'the client to close', rig.client.close());
  await rig.peer.reader.waitFor((e) => e.event === 'close', 5000, from);
  assert.deepEqual(rig.deaths, [], 'the client declared a death');
  assert.deepEqual(rig.peer.events('dead'), [], 'the server declared a death');
  assert.equal(rig.unconfirmed, 0, "the client reported messages 'unconfirmed'");
  assert.deepEqual(rig.peer.events('unconfirmed'), [], "the server reported messages 'unconfirmed'");
}

/** The longest round trip each side measured: how long a PING waited behind data. */
function rtts(rig: Rig): string {
  const longest = (list: number[]) => (list.length === 0 ? 'none' : `${Math.round(Math.max(...list))} ms`);
  return (
    `longest RTT: client ${longest(rig.rtts)}, ` +
    `server ${longest(rig.peer.events('rtt').map((e) => Number(e.ms)))}`
  );
}

function kbitPerS(bytes: number, ms: number): number {
  return Math.round((bytes * 8) / ms);
}

/**
 * Every one of the `count` messages reached `who` exactly once and in order (indexes 0..count-1), each with
 * the content that was sent (`sent`: their sha256, in order).
 */
function assertDeliveredOnce(
  who: string,
  got: ReadonlyArray<{ [key: string]: unknown }>,
  count: number,
  sent: readonly unknown[],
): void {
  assert.deepEqual(
    got.map((e) => e.index),
    [...Array(count).keys()],
    `${who} received messages lost, duplicated or out of order`,
  );
  assert.deepEqual(
    got.map((e) => e.sha),
    sent,
    `${who} received messages whose content differs from what was sent`,
  );
}

describe('slow links (tc tbf), heartbeat interval 1 s / timeout 3 s', { concurrency: false }, () => {
  after(() => {
    if (measured.length) console.log(`# slow-link figures\n${measured.map((l) => `#   ${l}`).join('\n')}`);
  });

  for (const { kbit } of LINKS) {
    test(`the shaped cable carries a bare TCP stream at about ${kbit} kbit/s each way (the harness shapes for real)`, {
      timeout: 30_000,
    }, async (t) => {
      if (!needSlowLink(t)) return;
      const ns = createNetns();
      try {
        shape(ns, kbit);
        // About 2 s of bytes each way.
        const bytes = (kbit * 1000 * 2) / 8;
        const up = await bareRate(ns, 'up', bytes);
        const down = await bareRate(ns, 'down', bytes);
        record(`bare TCP through tbf ${kbit} kbit/s: up ${Math.round(up)}, down ${Math.round(down)} kbit/s`);
        for (const [way, rate] of [
          ['up', up],
          ['down', down],
        ] as const) {
          // Above the rate by more than the 4 KiB bucket explains: not shaped. Far below: the harness is broken.
          assert.ok(rate <= kbit * 1.1, `${way}: ${Math.round(rate)} kbit/s through a ${kbit} kbit/s link`);
          assert.ok(
            rate >= kbit * 0.6,
            `${way}: only ${Math.round(rate)} kbit/s through a ${kbit} kbit/s link`,
          );
        }
      } finally {
        ns.destroy();
      }
    });
  }

  for (const { kbit, count, size } of LINKS) {
    const amount = `${count} × ${size / KiB} KiB`;

    test(`upload of ${amount} over ${kbit} kbit/s with backpressure: no death either side, each message once and in order, nothing unconfirmed`, {
      timeout: 60_000,
    }, async (t) => {
      if (!needSlowLink(t)) return;
      const rig = await startRig(kbit);
      try {
        const sent: string[] = [];
        const started = performance.now();
        const progress = await unlessDeath(
          rig,
          within(
            40_000,
            `the client to send ${amount}`,
            sendAll(rig.client, messages(count, size), {
              onSent: (_, m) => sent.push(sha(m)),
              drainMs: 30_000,
            }),
          ),
        );
        await unlessDeath(
          rig,
          rig.peer.reader.waitFor((e) => e.event === 'message' && e.index === count - 1, 40_000),
        );
        await unlessDeath(
          rig,
          eventually(5000, 'the client to hear every message acknowledged', () => rig.client.buffered === 0),
        );
        const ms = performance.now() - started;
        record(
          `upload ${amount} at ${kbit} kbit/s: ${(ms / 1000).toFixed(1)} s, ${kbitPerS(count * size, ms)} kbit/s of ` +
            `messages, send() returned false ${progress.blocked} times, ${rtts(rig)}`,
        );
        assertDeliveredOnce('the server', rig.peer.events('message'), count, sent);
        assert.ok(progress.blocked >= 1, `send() never returned false while ${amount} crawled over the link`);
        await closeCleanly(rig);
      } finally {
        await stopRig(rig);
      }
    });

    test(`download of ${amount} over ${kbit} kbit/s with backpressure: no death either side, each message once and in order, nothing unconfirmed`, {
      timeout: 60_000,
    }, async (t) => {
      if (!needSlowLink(t)) return;
      const rig = await startRig(kbit);
      try {
        collect(rig);
        const started = performance.now();
        rig.peer.command({ cmd: 'send', count, size });
        await unlessDeath(
          rig,
          until(rig.client, 'message', () => rig.received.length >= count, 40_000),
        );
        const done = await unlessDeath(
          rig,
          rig.peer.reader.waitFor((e) => e.event === 'send-done', 5000),
        );
        await unlessDeath(
          rig,
          rig.peer.reader.waitFor((e) => e.event === 'acked', 5000),
        );
        const ms = performance.now() - started;
        record(
          `download ${amount} at ${kbit} kbit/s: ${(ms / 1000).toFixed(1)} s, ${kbitPerS(count * size, ms)} kbit/s of ` +
            `messages, send() returned false ${done.blocked} times, ${rtts(rig)}`,
        );
        assertDeliveredOnce(
          'the client',
          rig.received,
          count,
          rig.peer.events('sent').map((e) => e.sha),
        );
        assert.ok(
          Number(done.blocked) >= 1,
          `send() never returned false while ${amount} crawled over the link`,
        );
        await closeCleanly(rig);
      } finally {
        await stopRig(rig);
      }
    });
  }

  for (const direction of ['upload', 'download'] as const) {
    test(`a partition during a bulk ${direction} at 1 Mbit/s is declared heartbeat-timeout/network by both ends within timeout + ${SLACK} ms`, {
      timeout: 60_000,
    }, async (t) => {
      if (!needSlowLink(t)) return;
      const kbit = 1000;
      const size = 64 * KiB;
      const rig = await startRig(kbit);
      let streaming = true;
      try {
        if (direction === 'upload') {
          // Streams until the connection dies; its rejection then is the expected end.
          sendAll(rig.client, messages(1_000_000, size), {
            drainMs: 30_000,
            stopped: () => !streaming,
          }).catch(() => {});
          await unlessDeath(
            rig,
            rig.peer.reader.waitFor((e) => e.event === 'message' && e.index === 3, 15_000),
          );
        } else {
          collect(rig);
          rig.peer.command({ cmd: 'send', count: 1_000_000, size });
          await unlessDeath(
            rig,
            until(rig.client, 'message', () => rig.received.length >= 4, 15_000),
          );
        }
        const clientDeath = next<[DeathReport]>(rig.client, 'dead', TIMEOUT + 5000);
        const from = rig.peer.reader.events.length;
        // Measured from the moment the drop rule is in place. Until the peer's end of the link has been
        // emptied too (flushedAt, a few ms later), bytes the server sent before the rule may still reach
        // the client: its bound allows for that gap.
        const { ruleAt, flushedAt, discarded } = cut(rig.ns, rig.cable!, kbit);
        const [report] = await clientDeath;
        const clientMs = performance.now() - ruleAt;
        const peerDead = await rig.peer.reader.waitFor((e) => e.event === 'dead', TIMEOUT + 5000, from);
        // The server's line reaches this process through a pipe: a millisecond or so late.
        const peerMs = peerDead.receivedAt - ruleAt;
        const flushMs = flushedAt - ruleAt;
        record(
          `partition during a ${direction} at 1 Mbit/s (link queue of ~${discarded} bytes emptied ` +
            `${Math.round(flushMs)} ms after the rule): client dead after ${Math.round(clientMs)} ms ` +
            `(silent ${Math.round(report.silentMs)} ms, ${report.diagnosis}), server after ${Math.round(peerMs)} ms ` +
            `(silent ${Math.round(Number(peerDead.silentMs))} ms, ${peerDead.diagnosis})`,
        );
        const receiver = direction === 'upload' ? 'server' : 'client';
        for (const [side, r, ms, bound] of [
          ['client', report, clientMs, TIMEOUT + SLACK + flushMs],
          ['server', peerDead as unknown as DeathReport, peerMs, TIMEOUT + SLACK],
        ] as const) {
          assert.equal(r.cause, 'heartbeat-timeout', `${side}: ${JSON.stringify(r)}`);
          assert.equal(r.diagnosis, 'network', `${side}: ${r.detail}`);
          assert.ok(Number(r.silentMs) >= TIMEOUT, `${side} declared after only ${r.silentMs} ms of silence`);
          assert.ok(
            ms <= bound,
            `${side} declared the death ${Math.round(ms)} ms after the partition (bound ${Math.round(bound)} ms)`,
          );
          // The receiving side heard the stream until shortly before the cut (a 16 KiB fragment takes 131 ms
          // at 1 Mbit/s; a sender's TCP may pause for 200 ms, as BBR's ProbeRTT does): its death cannot come
          // an interval before a timeout after the cut.
          if (side === receiver)
            assert.ok(
              ms >= TIMEOUT - INTERVAL,
              `${side} declared the death only ${Math.round(ms)} ms after the partition`,
            );
        }
      } finally {
        streaming = false;
        await stopRig(rig);
      }
    });
  }

  test('a server stopped (SIGSTOP) while a client streams to it at 1 Mbit/s is declared heartbeat-timeout/peer-unresponsive', {
    timeout: 60_000,
  }, async (t) => {
    if (!needSlowLink(t)) return;
    const rig = await startRig(1000);
    let streaming = true;
    try {
      sendAll(rig.client, messages(1_000_000, 64 * KiB), {
        drainMs: 30_000,
        stopped: () => !streaming,
      }).catch(() => {});
      await unlessDeath(
        rig,
        rig.peer.reader.waitFor((e) => e.event === 'message' && e.index === 3, 15_000),
      );
      const death = next<[DeathReport]>(rig.client, 'dead', TIMEOUT + 5000);
      rig.peer.reader.child.kill('SIGSTOP');
      const stoppedAt = performance.now();
      const [report] = await death;
      const ms = performance.now() - stoppedAt;
      record(
        `SIGSTOP of the receiving server during an upload at 1 Mbit/s: client dead after ${Math.round(ms)} ms ` +
          `(silent ${Math.round(report.silentMs)} ms, ${report.diagnosis}; ${report.detail})`,
      );
      assert.equal(report.cause, 'heartbeat-timeout');
      assert.equal(report.diagnosis, 'peer-unresponsive', report.detail);
      assert.ok(report.silentMs >= TIMEOUT, `declared after only ${report.silentMs} ms of silence`);
      // Until its receive buffer fills, the stopped server's kernel still acknowledges the stream: the ACK
      // clock moves, which earns the heartbeat up to one interval of grace (a slow link is not a dead one:
      // ackClockMoving in src/session/death.ts). What the server wrote just before it stopped may still sit
      // in the link's queue.
      const bound = TIMEOUT + INTERVAL + TBF_LATENCY_MS + SLACK;
      assert.ok(
        ms <= bound,
        `declared ${Math.round(ms)} ms after the stop (timeout ${TIMEOUT} + grace ${INTERVAL} + link queue ` +
          `${TBF_LATENCY_MS} + ${SLACK} ms)`,
      );
    } finally {
      streaming = false;
      await stopRig(rig);
    }
  });

  const WINDOW = 512 * KiB;
  const SIZE = 64 * KiB;

  test('a server application paused for two timeouts while its client sends at full speed holds at most its window, and loses nothing', {
    timeout: 60_000,
  }, async (t) => {
    if (!needSlowLink(t)) return;
    const count = 64; // 4 MiB: eight windows, and as much as the client's replay buffer lets through unasked
    const rig = await startRig(undefined, { receiveWindow: WINDOW, maxMessageSize: 256 * KiB });
    try {
      rig.peer.command({ cmd: 'pause' });
      await unlessDeath(
        rig,
        rig.peer.reader.waitFor((e) => e.event === 'paused', 5000),
      );
      const pausedAt = performance.now();
      const sent: string[] = [];
      let bufferedMax = 0;
      let blocked = false;
      const sending = sendAll(rig.client, messages(count, SIZE), {
        onSent: (_, m) => {
          sent.push(sha(m));
          bufferedMax = Math.max(bufferedMax, rig.client.buffered);
        },
        onBlocked: () => {
          blocked = true;
        },
        drainMs: 30_000,
      });
      // Awaited after the pause; until then a failure elsewhere ends the session, and with it the sending.
      sending.catch(() => {});
      // The window fills (to within what framing costs of it: each DATA frame is charged a few bytes besides
      // its payload) and the client is told to wait. The server's figures have no event: they are asked for.
      const full = (held: unknown) => blocked && Number(held) >= WINDOW - HELD_ALLOWANCE;
      let stats = await rig.peer.stats();
      for (const deadline = performance.now() + 10_000; !full(stats.held); ) {
        if (performance.now() > deadline)
          assert.fail(
            `the window did not fill within 10 s: ${JSON.stringify(stats)}, client blocked ${blocked}`,
          );
        await delay(50);
        stats = await rig.peer.stats();
      }
      // The application stays busy for two timeouts: long enough for a heartbeat that waits on it to fail.
      await delay(pausedAt + 2 * TIMEOUT - performance.now());
      stats = await rig.peer.stats();
      record(
        `server paused ${Math.round(performance.now() - pausedAt)} ms under a 4 MiB upload (window ${WINDOW / KiB} KiB): ` +
          `held at most ${stats.heldMax} bytes, client replay buffer at most ${bufferedMax} bytes, ` +
          `server arrayBuffers ${stats.arrayBuffers} bytes`,
      );
      assert.deepEqual(rig.deaths, [], 'the client declared the paused server dead');
      assert.deepEqual(rig.peer.events('dead'), [], 'the paused server declared its client dead');
      assert.ok(
        Number(stats.heldMax) <= WINDOW + HELD_ALLOWANCE,
        `the paused server held ${stats.heldMax} bytes for its application, window ${WINDOW}`,
      );
      assert.ok(
        bufferedMax <= WINDOW + 2 * SIZE,
        `the client buffered ${bufferedMax} bytes for a peer whose window is ${WINDOW}: send() did not hold it back`,
      );
      rig.peer.command({ cmd: 'resume' });
      await unlessDeath(rig, within(30_000, 'the client to send everything', sending));
      await unlessDeath(
        rig,
        rig.peer.reader.waitFor((e) => e.event === 'message' && e.index === count - 1, 30_000),
      );
      await unlessDeath(
        rig,
        eventually(5000, 'the client to hear every message acknowledged', () => rig.client.buffered === 0),
      );
      assertDeliveredOnce('the server', rig.peer.events('message'), count, sent);
      await closeCleanly(rig);
    } finally {
      await stopRig(rig);
    }
  });

  test('a client consuming with for await at 100 ms a message while the server streams at full speed holds at most its window, and loses nothing', {
    timeout: 60_000,
  }, async (t) => {
    if (!needSlowLink(t)) return;
    const count = 48; // 3 MiB at 640 KiB/s: 4.8 s, longer than the timeout
    const rig = await startRig(undefined, {}, { receiveWindow: WINDOW, maxMessageSize: 256 * KiB });
    try {
      const started = performance.now();
      rig.peer.command({ cmd: 'send', count, size: SIZE });
      await unlessDeath(
        rig,
        within(
          30_000,
          `the client to consume ${count} messages`,
          (async () => {
            for await (const m of rig.client) {
              rig.received.push({ index: indexOf(m), sha: sha(m) });
              rig.consumed += m.length;
              sampleHeld(rig);
              if (rig.received.length === count) break;
              await delay(100); // the application's work
            }
          })(),
        ),
      );
      const ms = performance.now() - started;
      await unlessDeath(
        rig,
        rig.peer.reader.waitFor((e) => e.event === 'acked', 5000),
      );
      const bufferedMax = Math.max(...rig.peer.events('sent').map((e) => Number(e.buffered)));
      const done = rig.peer.events('send-done')[0];
      record(
        `client consuming 100 ms a message, ${count} × ${SIZE / KiB} KiB (window ${WINDOW / KiB} KiB): ` +
          `${Math.round(ms)} ms, held at most ${rig.heldMax} bytes, server replay buffer at most ${bufferedMax} bytes, ` +
          `send() returned false ${done?.blocked} times`,
      );
      assert.deepEqual(rig.deaths, [], 'the client declared a death');
      assert.deepEqual(rig.peer.events('dead'), [], 'the server declared a death');
      assert.ok(
        rig.heldMax <= WINDOW + HELD_ALLOWANCE,
        `the slow client held ${rig.heldMax} bytes for its application, window ${WINDOW}`,
      );
      assert.ok(
        bufferedMax <= WINDOW + 2 * SIZE,
        `the server buffered ${bufferedMax} bytes for a client whose window is ${WINDOW}: send() did not hold it back`,
      );
      assertDeliveredOnce(
        'the client',
        rig.received,
        count,
        rig.peer.events('sent').map((e) => e.sha),
      );
      await closeCleanly(rig);
    } finally {
      await stopRig(rig);
    }
  });
});
