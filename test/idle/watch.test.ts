import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { type IdleEvent, type IdleWatcher, watchIdle } from '../../src/idle/watch.js';
import { within } from '../helpers/wait.js';

const P = 200;
/** Allowed lateness: the sampling step (P / 4) plus timer and scheduling slack on a shared CI machine. */
const SLACK = 150;
/** Timers may fire a little early relative to performance.now() (libuv's cached loop time). */
const EARLY = 3;

let server: net.Server;
const accepted: net.Socket[] = [];

before(async () => {
  server = net.createServer((s) => accepted.push(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});

after(() => {
  for (const s of accepted) s.destroy();
  server.close();
});

/** A connected loopback pair: `local` is watched, `peer` is the other end. */
async function pair(): Promise<{ local: net.Socket; peer: net.Socket }> {
  const n = accepted.length;
  const local = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await once(local, 'connect');
  while (accepted.length === n) await new Promise((r) => setImmediate(r));
  return { local, peer: accepted[n]! };
}

/** Waits for the next event of `name`, failing after `ms`. */
async function next(w: IdleWatcher, name: string, ms: number): Promise<IdleEvent> {
  const [event] = await once(w, name, { signal: AbortSignal.timeout(ms) });
  return event as IdleEvent;
}

/** Sends a byte from `from` every 40 ms for `ms`, and resolves when it stops. */
async function trickle(from: net.Socket, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    from.write('x');
    await new Promise((r) => setTimeout(r, 40));
  }
}

describe('watchIdle on real sockets', () => {
  it(`reports reader idleness between ${P} and ${P + SLACK} ms after the last read, not before`, async (t) => {
    const { local } = await pair();
    local.resume();
    const start = performance.now();
    const w = watchIdle(local, { readerIdle: P });
    t.after(() => local.destroy());
    const e = await next(w, 'reader-idle', P + 1000);
    const elapsed = performance.now() - start;
    t.diagnostic(`reader-idle after ${elapsed.toFixed(1)} ms (readerIdle ${P} ms)`);
    assert.ok(elapsed >= P - EARLY && elapsed <= P + SLACK, `${elapsed}`);
    assert.equal(e.kind, 'reader');
    assert.equal(e.first, true);
    assert.ok(e.idleMs >= P - EARLY);
  });

  it('stays quiet while the peer sends, then reports within the bound after the last byte', async (t) => {
    const { local, peer } = await pair();
    local.resume();
    const w = watchIdle(local, { readerIdle: P });
    t.after(() => local.destroy());
    const events: IdleEvent[] = [];
    w.on('idle', (e: IdleEvent) => events.push(e));
    await trickle(peer, 3 * P);
    const lastSentAt = performance.now() - 40;
    assert.deepEqual(events, []);
    await next(w, 'reader-idle', P + 1000);
    const elapsed = performance.now() - lastSentAt;
    assert.ok(elapsed >= P - EARLY && elapsed <= P + SLACK + 40, `${elapsed}`);
  });

  it('repeats the event every period while idle, first then not first, and again first after a read', async (t) => {
    const { local, peer } = await pair();
    local.resume();
    const w = watchIdle(local, { readerIdle: P });
    t.after(() => local.destroy());
    const a = await next(w, 'reader-idle', P + 1000);
    const aAt = performance.now();
    const b = await next(w, 'reader-idle', P + 1000);
    const gap = performance.now() - aAt;
    assert.deepEqual([a.first, b.first], [true, false]);
    assert.ok(gap >= P - EARLY && gap <= P + SLACK, `${gap}`);
    assert.ok(b.idleMs >= 2 * P - EARLY);
    peer.write('x');
    await once(local, 'data');
    const c = await next(w, 'reader-idle', P + 1000);
    assert.equal(c.first, true);
  });

  it('reports writer idleness only when this side stops writing', async (t) => {
    const { local } = await pair();
    const w = watchIdle(local, { writerIdle: P });
    t.after(() => local.destroy());
    const events: IdleEvent[] = [];
    w.on('writer-idle', (e: IdleEvent) => events.push(e));
    await trickle(local, 3 * P);
    const lastWriteAt = performance.now() - 40;
    assert.deepEqual(events, []);
    const e = await next(w, 'idle', P + 1000);
    const elapsed = performance.now() - lastWriteAt;
    assert.equal(e.kind, 'writer');
    assert.ok(elapsed >= P - EARLY && elapsed <= P + SLACK + 40, `${elapsed}`);
  });

  it('reports all-idle only when neither side moves: reads alone keep it away', async (t) => {
    const { local, peer } = await pair();
    local.resume();
    const w = watchIdle(local, { allIdle: P, writerIdle: P });
    t.after(() => local.destroy());
    const kinds: string[] = [];
    w.on('idle', (e: IdleEvent) => kinds.push(e.kind));
    await trickle(peer, 3 * P);
    assert.ok(!kinds.includes('all'), `${kinds}`);
    assert.ok(kinds.includes('writer'), 'writing nothing is writer idleness');
    const e = await next(w, 'all-idle', P + 1000);
    assert.equal(e.first, true);
  });

  it('does not switch an unread socket to flowing mode nor take its data', async (t) => {
    const { local, peer } = await pair();
    const w = watchIdle(local, { readerIdle: P });
    t.after(() => local.destroy());
    peer.write('hello');
    const e = await next(w, 'reader-idle', P + 1000);
    assert.equal(e.first, true);
    assert.equal(local.readableFlowing, null);
    const [chunk] = await once(local, 'data');
    assert.equal(String(chunk), 'hello');
  });

  it('stops on close(): no more events, closed is true, close is emitted once', async (t) => {
    const { local } = await pair();
    const w = watchIdle(local, { readerIdle: 50 });
    t.after(() => local.destroy());
    let closes = 0;
    w.on('close', () => closes++);
    await next(w, 'reader-idle', 1000);
    w.close();
    w.close();
    assert.equal(w.closed, true);
    assert.equal(closes, 1);
    w.on('idle', () => assert.fail('an event after close()'));
    // A negative can only be shown by waiting: four periods without an event.
    await new Promise((r) => setTimeout(r, 200));
  });

  it('stops when the socket closes', async () => {
    const { local } = await pair();
    const w = watchIdle(local, { readerIdle: P });
    local.destroy();
    await once(w, 'close', { signal: AbortSignal.timeout(1000) });
    assert.equal(w.closed, true);
  });

  it('stops at once on a socket that is already destroyed', async () => {
    const { local } = await pair();
    local.destroy();
    const w = watchIdle(local, { readerIdle: P });
    await once(w, 'close', { signal: AbortSignal.timeout(1000) });
    assert.equal(w.closed, true);
  });

  it('rejects bad options and things that are not sockets', () => {
    const s = new net.Socket();
    assert.throws(() => watchIdle(s, {}), { name: 'RangeError', message: /at least one of readerIdle/ });
    assert.throws(() => watchIdle(s, { readerIdle: -5 }), { name: 'RangeError', message: /^readerIdle/ });
    assert.throws(() => watchIdle(s, { allIdle: Number.POSITIVE_INFINITY }), {
      name: 'TypeError',
      message: /^allIdle/,
    });
    assert.throws(() => watchIdle({} as net.Socket, { readerIdle: 100 }), {
      name: 'TypeError',
      message: /watchIdle needs a net.Socket or tls.TLSSocket/,
    });
  });
});

describe('watchIdle on output that is slow, not absent', () => {
  it('is not writer-idle while a large write keeps moving into the kernel, and is once it is stuck', async () => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const accepted = once(server, 'connection');
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    client.on('error', () => {});
    await once(client, 'connect');
    const [sender] = (await accepted) as [net.Socket];
    sender.on('error', () => {});
    client.pause();
    // A slow reader: what is buffered, every 100 ms (the kernel keeps taking the sender's queued bytes).
    const reader = setInterval(() => client.read(), 100);
    const watcher = watchIdle(sender, { writerIdle: 500 });
    const events: IdleEvent[] = [];
    watcher.on('writer-idle', (e: IdleEvent) => events.push(e));
    try {
      sender.write(Buffer.alloc(16 * 1024 * 1024, 1));
      await new Promise((resolve) => setTimeout(resolve, 2000));
      assert.deepEqual(events, [], 'slow output is output');
      clearInterval(reader); // the reader stops: the window closes and nothing moves any more
      await within(3000, 'writer-idle once output is stuck', once(watcher, 'writer-idle'));
    } finally {
      clearInterval(reader);
      watcher.close();
      client.destroy();
      sender.destroy();
      server.close();
    }
  });
});
