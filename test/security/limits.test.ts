// Limits a hostile peer meets on real loopback sockets (issue 12's cases): forged PONGs, a peer that
// acknowledges what it never reads, HELLO-and-vanish floods against maxSessions, oversized HELLOs, handshake
// floods, GOAWAYs that would keep a connection lingering, and a TLS handshake that never completes.
import assert from 'node:assert/strict';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, test } from 'node:test';
import {
  encodeAck,
  encodeData,
  encodeGoaway,
  encodePong,
  encodePreface,
} from '../../src/protocol/encoder.js';
import type { Session } from '../../src/server/session.js';
import type { DeathReport } from '../../src/session/death.js';
import { selfSigned } from '../helpers/certs.js';
import { dial, HOST, hello, next, RawPeer, Resources, startServer, until, within } from '../helpers/peer.js';
import { eventually } from '../helpers/wait.js';

/** Connections the server holds in their handshake. */
function countPending(server: object): number {
  return (server as unknown as { handshake: { pending: Set<unknown> } }).handshake.pending.size;
}

const res = new Resources();
afterEach(() => res.release());

async function established(options: Parameters<typeof startServer>[0] = {}) {
  const server = res.server(await startServer({ interval: 1000, timeout: 3000, ...options }));
  const sessions: Session[] = [];
  server.on('session', (s) => sessions.push(s));
  const peer = res.other(await RawPeer.connect(server.address().port));
  await peer.handshake();
  await until(server, 'session', () => sessions.length === 1);
  return { server, peer, session: sessions[0]! };
}

describe('PONGs', () => {
  test('a PONG that answers no PING of ours is ignored: no RTT sample; a few are counted, a flood gets too-many-pings', async () => {
    const { peer, session } = await established();
    const rtts: number[] = [];
    session.on('rtt', (ms) => rtts.push(ms));
    // Within the allowance (maxPingsPerInterval 10, burst 20): ignored and counted, the session goes on.
    peer.write(Buffer.concat(Array.from({ length: 5 }, (_, i) => encodePong(i + 1, 0))));
    await eventually(2000, 'the forged PONGs read', () => session.stats.pongsIgnored === 5);
    assert.deepEqual(rtts, []);
    session.ping(); // one real PING: its PONG is the one sample
    const ping = await peer.frame((f) => f.type === 'ping');
    assert.equal(ping.type, 'ping');
    if (ping.type === 'ping') peer.write(encodePong(ping.id, ping.timestamp));
    await until(session, 'rtt', () => rtts.length === 1);
    assert.ok(rtts[0]! < 1000, `the real sample, not a forged one: ${rtts[0]} ms`);
    assert.equal(session.rtt, rtts[0]);
    // A flood of them is limited like a PING flood.
    peer.write(Buffer.concat(Array.from({ length: 2000 }, (_, i) => encodePong(i + 100, 0))));
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'too-many-pings');
    assert.match(goaway.reason, /PONGs that answer no PING/);
    assert.equal(rtts.length, 1);
  });
});

describe('a trickled frame', () => {
  test('a frame not complete within 10 s + size / 16 KiB/s is a protocol error; never sooner', async () => {
    const { peer } = await established({ interval: 200, timeout: 1000 });
    const frame = encodeData(1, Buffer.alloc(16 * 1024 - 12, 1)); // 16 KiB in all: 10 s + 1 s
    const started = performance.now();
    let sent = 0;
    const trickle = setInterval(() => {
      if (sent < frame.length) peer.write(frame.subarray(sent, ++sent));
    }, 50);
    try {
      const goaway = await peer.goaway(15_000);
      const elapsed = performance.now() - started;
      assert.equal(goaway.name, 'protocol-error');
      assert.match(goaway.reason, /^frame of 16384 bytes incomplete after \d+ ms: \d+ bytes received$/);
      assert.ok(
        elapsed >= 11_000 && elapsed < 11_000 + 300 + 1000,
        `refused after ${Math.round(elapsed)} ms`,
      );
    } finally {
      clearInterval(trickle);
    }
  });
});

describe('a peer that acknowledges what it never reads', () => {
  test("the echo server's memory for it stays within maxBuffered plus the socket budget", async () => {
    const server = res.server(await startServer({ maxBuffered: 1 << 20 }));
    const sessions: Session[] = [];
    server.on('session', (s) => {
      sessions.push(s);
      s.on('message', (m) => s.send(m)); // the README's echo, backpressure ignored
    });
    const socket = net.connect(server.address().port, HOST);
    res.other(socket);
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(Buffer.concat([encodePreface(), hello()]));
    socket.pause(); // never reads
    await until(server, 'session', () => sessions.length === 1);
    const body = Buffer.alloc(1000, 97);
    for (let round = 0, seq = 0; round < 40; round++) {
      const out: Buffer[] = [];
      for (let i = 0; i < 300; i++) out.push(encodeData(++seq, body), encodeAck(seq));
      socket.write(Buffer.concat(out));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const session = sessions[0]!;
    // Everything it sent has been read by the server (each DATA answered, if at all, by an echo).
    await eventually(
      5000,
      'the server to read the 12 000 messages',
      () => session.stats.messagesIn === 12_000,
    );
    assert.ok(session.buffered <= 1 << 20, `replay buffer ${session.buffered} B`);
    const queued = session.socket?.writableLength ?? 0;
    assert.ok(queued <= (1 << 19) + 64 * 1024, `socket queue ${queued} B`);
  });
});

describe('maxSessions', () => {
  test('peers that say HELLO and vanish cannot lock legitimate clients out: the oldest of them gives way', async () => {
    const server = res.server(await startServer({ maxSessions: 50 }));
    await Promise.all(
      Array.from(
        { length: 50 },
        () =>
          new Promise<void>((resolve) => {
            const s = net.connect(server.address().port, HOST);
            s.on('error', () => {});
            s.on('connect', () => s.write(Buffer.concat([encodePreface(), hello()])));
            s.once('data', () => s.destroy());
            s.on('close', () => resolve());
          }),
      ),
    );
    await until(
      server,
      'session',
      () => [...server.sessions.values()].every((s) => s.state === 'detached'),
      2000,
    ).catch(() => {});
    assert.equal(server.sessions.size, 50);
    const client = res.client(dial(server.address().port));
    const info = await client.ready;
    assert.ok(info.sessionId);
    assert.equal(server.sessions.size, 50, 'one vanished peer gave way');
  });
});

describe('maxDetachedBuffered', () => {
  test('past the budget for sessions waiting to be resumed, the oldest ends and reports what it held', async () => {
    const server = res.server(await startServer({ maxDetachedBuffered: 100_000 }));
    const sessions: Session[] = [];
    server.on('session', (s) => sessions.push(s));
    const unconfirmed: number[] = [];
    for (const name of ['a', 'b']) {
      const peer = res.other(await RawPeer.connect(server.address().port));
      await peer.handshake();
      await until(server, 'session', () => sessions.length === (name === 'a' ? 1 : 2));
      const session = sessions.at(-1)!;
      session.on('unconfirmed', (m) => unconfirmed.push(m.length));
      for (let i = 0; i < 6; i++) session.send(Buffer.alloc(10_000, name)); // never acknowledged
      const dead = next(session, 'dead');
      peer.destroy();
      await dead;
    }
    const [a, b] = sessions as [Session, Session];
    assert.equal(a.state, 'closed', 'the oldest gave way');
    assert.deepEqual(unconfirmed, [6], 'and reported its six messages');
    assert.equal(b.state, 'detached');
    assert.equal(server.sessions.size, 1);
  });
});

describe('the handshake', () => {
  test('a HELLO larger than maxHelloSize is refused (frame-too-large) before it is buffered', async () => {
    const server = res.server(await startServer({ maxHelloSize: 1024 }));
    const rejected = next<[DeathReport]>(server, 'rejected');
    const peer = res.other(await RawPeer.connect(server.address().port));
    peer.write(encodePreface(), hello({ credentials: Buffer.alloc(4000, 1) }).subarray(0, 200));
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'frame-too-large');
    const [report] = await rejected;
    assert.equal(report.goaway, 'frame-too-large');
  });

  test('connections beyond maxPendingHandshakes are closed at once and reported', async () => {
    const server = res.server(await startServer({ maxPendingHandshakes: 3 }));
    const reports: DeathReport[] = [];
    server.on('rejected', (r) => reports.push(r));
    const peers = await Promise.all(Array.from({ length: 3 }, () => RawPeer.connect(server.address().port)));
    for (const p of peers) res.other(p);
    await eventually(
      2000,
      'the server to hold three handshakes',
      () => server.sessions.size === 0 && reports.length === 0 && countPending(server) === 3,
    );
    const fourth = res.other(await RawPeer.connect(server.address().port));
    await fourth.closed();
    assert.match(reports[0]?.detail ?? '', /maxPendingHandshakes/);
  });

  test('GOAWAYs after GOAWAY do not keep a connection that never said HELLO: it is gone within the linger', async () => {
    const server = res.server(await startServer({ handshakeTimeout: 500 }));
    const peer = res.other(await RawPeer.connect(server.address().port));
    const started = performance.now();
    peer.write(encodePreface(), encodeGoaway('normal', 'bye'));
    const timer = setInterval(() => peer.write(encodeGoaway('normal', 'again')), 200);
    try {
      await peer.closed(4000);
    } finally {
      clearInterval(timer);
    }
    assert.ok(performance.now() - started < 3000, 'closed within the 2 s linger (+ slack)');
  });

  test('a TLS handshake that never completes is dropped after handshakeTimeout, and reported', async (t) => {
    const certificate = selfSigned(t);
    if (certificate === undefined) return;
    const { key, cert } = certificate;
    const server = res.server(await startServer({ handshakeTimeout: 500, tls: { key, cert } }));
    const rejected = next<[DeathReport]>(server, 'rejected', 3000);
    const socket = net.connect(server.address().port, HOST);
    res.other(socket);
    socket.on('error', () => {});
    const started = performance.now();
    socket.on('connect', () => socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])));
    await within(3000, 'the server to drop it', new Promise((resolve) => socket.once('close', resolve)));
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 450 && elapsed < 500 + 1000, `dropped after ${Math.round(elapsed)} ms`);
    const [report] = await rejected;
    assert.match(report.detail ?? '', /TLS/);
  });
});
