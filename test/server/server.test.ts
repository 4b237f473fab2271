// createServer on real loopback sockets: the handshake (the server dictates, a proposal is clamped), the
// 'connected' information, hostile and broken peers (each refused with the right GOAWAY or HTTP answer,
// the server unhurt), close() and shutdown, limits, authentication, and option validation.
import assert from 'node:assert/strict';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, test } from 'node:test';
import { LifelineError } from '../../src/errors.js';
import { FrameType } from '../../src/protocol/constants.js';
import {
  encodeAck,
  encodeData,
  encodeGoaway,
  encodePing,
  encodePreface,
} from '../../src/protocol/encoder.js';
import { createServer, type HeartbeatServer, type HelloInfo } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import { MemorySessionStore } from '../../src/server/store.js';
import type { DeathReport } from '../../src/session/death.js';
import type { ConnectedInfo } from '../../src/session/endpoint.js';
import { dial, hello, next, RawPeer, Resources, startServer, until, within } from '../helpers/peer.js';

const SLACK = 250;
const res = new Resources();
afterEach(() => res.release());

/** Resolves once `done()` holds, checking every few ms (bound it with within()). */
async function waitFor(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 2));
}

/** A server, a raw peer that completed the handshake, its session, and the messages the session received. */
async function sessionWithRawPeer(): Promise<{
  server: HeartbeatServer;
  session: Session;
  peer: RawPeer;
  got: string[];
}> {
  const server = res.server(await startServer());
  const sessionP = next<[Session]>(server, 'session');
  const peer = res.other(await RawPeer.connect(server.address().port));
  await peer.handshake();
  const [session] = await sessionP;
  const got: string[] = [];
  session.on('message', (m) => got.push(m.toString()));
  return { server, session, peer, got };
}

/** The server's 'rejected' events, collected. */
function rejections(server: HeartbeatServer): Array<{ report: DeathReport; remote: string }> {
  const out: Array<{ report: DeathReport; remote: string }> = [];
  server.on('rejected', (report, remote) => out.push({ report, remote }));
  return out;
}

/** Proves the server still works: a fresh client connects and a message makes the round trip. */
async function stillServes(server: HeartbeatServer): Promise<void> {
  const sessionP = next<[Session]>(server, 'session');
  const client = res.client(dial(server.address().port));
  const [session] = await sessionP;
  session.on('message', (m) => session.send(m));
  const echoed = next<[Buffer]>(client, 'message');
  client.send('still there?');
  const [m] = await echoed;
  assert.equal(m.toString(), 'still there?');
  client.close();
}

describe('handshake', () => {
  test('the server dictates interval and timeout: a client proposal without clientProposal bounds is ignored', async () => {
    const server = res.server(await startServer({ interval: 150, timeout: 700 }));
    const sessionP = next<[Session]>(server, 'session');
    const client = res.client(dial(server.address().port, { interval: 300, timeout: 900 }));
    const [[info], [session]] = await Promise.all([next<[ConnectedInfo]>(client, 'connected'), sessionP]);
    assert.equal(info.interval, 150);
    assert.equal(info.timeout, 700);
    assert.equal(client.interval, 150);
    assert.equal(client.timeout, 700);
    assert.equal(session.interval, 150);
    assert.equal(session.timeout, 700);
  });

  test('with clientProposal bounds, a proposal inside them is accepted and one outside is clamped to them', async () => {
    const server = res.server(
      await startServer({
        interval: 200,
        timeout: 1000,
        clientProposal: { minInterval: 100, maxInterval: 400, minTimeout: 500, maxTimeout: 2000 },
      }),
    );
    const port = server.address().port;
    const inside = res.client(dial(port, { interval: 300, timeout: 900 }));
    const [a] = await next<[ConnectedInfo]>(inside, 'connected');
    assert.deepEqual([a.interval, a.timeout], [300, 900]);
    const outside = res.client(dial(port, { interval: 50, timeout: 100_000 }));
    const [b] = await next<[ConnectedInfo]>(outside, 'connected');
    assert.deepEqual([b.interval, b.timeout], [100, 2000]);
    // A hand-written HELLO may propose a pair that cannot work (a timeout at or below its interval): the
    // server never agrees to that, but raises the timeout to interval + max(interval / 2, 100 ms).
    const peer = res.other(await RawPeer.connect(port));
    const w = await peer.handshake({ interval: 400, timeout: 10 });
    assert.deepEqual([w.interval, w.timeout], [400, 600]);
    // A client that proposes nothing gets the server's own values.
    const plain = res.client(dial(port));
    const [c] = await next<[ConnectedInfo]>(plain, 'connected');
    assert.deepEqual([c.interval, c.timeout], [200, 1000]);
  });

  test("'connected' carries local and remote addresses, the session id, resumed false and the agreed timing", async () => {
    const server = res.server(await startServer({ interval: 200, timeout: 1000 }));
    const sessions: Session[] = [];
    server.on('session', (s) => sessions.push(s));
    const port = server.address().port;
    const one = res.client(dial(port));
    const two = res.client(dial(port));
    const [[i1], [i2]] = await Promise.all([
      next<[ConnectedInfo]>(one, 'connected'),
      next<[ConnectedInfo]>(two, 'connected'),
    ]);
    for (const info of [i1, i2]) {
      assert.match(info.local, /^127\.0\.0\.1:\d+$/);
      assert.equal(info.remote, `127.0.0.1:${port}`);
      assert.equal(info.resumed, false);
      assert.equal(info.interval, 200);
      assert.equal(info.timeout, 1000);
      assert.match(info.sessionId, /^[0-9a-f]{8}$/);
    }
    assert.notEqual(i1.sessionId, i2.sessionId);
    await until(server, 'session', () => sessions.length === 2);
    assert.deepEqual(new Set(sessions.map((s) => s.id)), new Set([i1.sessionId, i2.sessionId]));
    assert.equal(one.sessionId, i1.sessionId);
    assert.notEqual(sessions[0]!.token, sessions[1]!.token);
    for (const s of sessions) {
      assert.match(s.token, /^[0-9a-f]{32}$/, 'a 128-bit token');
      assert.equal(server.sessions.get(s.id), s);
      assert.equal(s.remoteAddress, '127.0.0.1');
      assert.equal(s.identity, '');
    }
  });

  test('WELCOME carries a 16-byte token, the session id, the server maxFrame and no RESUMED flag', async () => {
    const server = res.server(await startServer({ maxFrame: 20000 }));
    const sessionP = next<[Session]>(server, 'session');
    const peer = res.other(await RawPeer.connect(server.address().port));
    const w = await peer.handshake();
    const [session] = await sessionP;
    assert.equal(w.token.length, 16);
    assert.equal(w.token.toString('hex'), session.token);
    assert.equal(w.sessionId, session.id);
    assert.equal(w.maxFrame, 20000);
    assert.equal(w.resumed, false);
    assert.equal(w.lastReceived, 0);
    // The server's preface came first.
    assert.deepEqual(peer.received().subarray(0, 5), encodePreface());
  });
});

describe('hostile peers', () => {
  test('an HTTP request gets HTTP/1.1 400 and the connection is closed at once', async () => {
    const server = res.server(await startServer());
    const rejected = rejections(server);
    const peer = res.other(await RawPeer.connect(server.address().port));
    const at = performance.now();
    peer.write(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    await peer.closed(1000);
    assert.ok(peer.closedAt! - at < 500, `closed after ${peer.closedAt! - at} ms`);
    const text = peer.received().toString('utf8');
    assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(text, /\r\nConnection: close\r\n/);
    assert.match(text, /This is a lifeline port/);
    await until(server, 'rejected', () => rejected.length === 1);
    assert.equal(rejected[0]!.report.cause, 'protocol-error');
    assert.match(rejected[0]!.report.detail!, /HTTP request \("GET \/ HTTP\/1\.1/);
    assert.equal(server.sessions.size, 0);
  });

  test("'rejected' names the remote address and port of the refused peer", {}, async () => {
    const server = res.server(await startServer());
    const rejected = rejections(server);
    const peer = res.other(await RawPeer.connect(server.address().port));
    const port = peer.socket.localPort; // read now: a closed socket forgets it
    peer.write(Buffer.from('nonsense'));
    await until(server, 'rejected', () => rejected.length === 1);
    assert.equal(rejected[0]!.remote, `127.0.0.1:${port}`);
  });

  test('random bytes get the preface and GOAWAY protocol-error naming what was seen, then the close', async () => {
    const server = res.server(await startServer());
    const rejected = rejections(server);
    const peer = res.other(await RawPeer.connect(server.address().port));
    peer.write(Buffer.from([0x00, 0x13, 0x37, 0xff, 0xfe, 0x42]));
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'protocol-error');
    assert.match(goaway.reason, /^expected the lifeline preface 4c 49 46 45 02, got 00 13 37 ff fe 42/);
    await peer.closed(1000);
    await until(server, 'rejected', () => rejected.length === 1);
    assert.equal(rejected[0]!.report.cause, 'protocol-error');
    await stillServes(server);
  });

  test('an honest pinger whose PINGs arrive bunched (a busy server) is never thrown out', async () => {
    const server = res.server(await startServer({ interval: 1000, timeout: 3000 }));
    const sessionP = next<[Session]>(server, 'session');
    const peer = res.other(await RawPeer.connect(server.address().port));
    await peer.handshake();
    const [session] = await sessionP;
    // 10 per second on average, delivered in bursts of 15 every 1.5 s (as a server busy 60 ms every 700 ms
    // reads them): 60 PINGs in 6 s.
    for (let burst = 0, id = 0; burst < 4; burst++) {
      const out: Buffer[] = [];
      for (let i = 0; i < 15; i++) out.push(encodePing(++id, 0));
      peer.write(Buffer.concat(out));
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
    await until(peer, 'frame', () => peer.count('pong') === 60, 2000);
    assert.equal(peer.count('goaway'), 0);
    assert.equal(session.state, 'open');
  });

  test('a preface with another version gets GOAWAY unsupported-version', async () => {
    const server = res.server(await startServer());
    const peer = res.other(await RawPeer.connect(server.address().port));
    peer.write(encodePreface(1), hello());
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'unsupported-version');
    assert.match(goaway.reason, /version 1/);
    await peer.closed(1000);
  });

  test('a peer that sends nothing is closed after handshakeTimeout with GOAWAY handshake-timeout, not before', async () => {
    const HANDSHAKE = 300;
    const server = res.server(await startServer({ handshakeTimeout: HANDSHAKE }));
    const rejected = rejections(server);
    const at = performance.now();
    const peer = res.other(await RawPeer.connect(server.address().port));
    const goaway = await peer.goaway(HANDSHAKE + SLACK * 2);
    const after = performance.now() - at;
    assert.equal(goaway.name, 'handshake-timeout');
    assert.ok(after >= HANDSHAKE - 5, `refused after ${after} ms`);
    assert.ok(after <= HANDSHAKE + SLACK, `refused after ${after} ms`);
    await peer.closed(1000);
    await until(server, 'rejected', () => rejected.length === 1);
    assert.equal(rejected[0]!.report.cause, 'handshake-timeout');
    assert.match(rejected[0]!.report.detail!, /no handshake within 300 ms/);
  });

  test('a peer that sends the preface but no HELLO is also closed after handshakeTimeout', async () => {
    const server = res.server(await startServer({ handshakeTimeout: 300 }));
    const peer = res.other(await RawPeer.connect(server.address().port));
    peer.write(encodePreface());
    const goaway = await peer.goaway(300 + SLACK * 2);
    assert.equal(goaway.name, 'handshake-timeout');
  });

  test('a PING flood gets GOAWAY too-many-pings after at most a burst of 2 x maxPingsPerInterval PONGs', async () => {
    const server = res.server(await startServer({ interval: 1000, timeout: 3000 }));
    const sessionP = next<[Session]>(server, 'session');
    const peer = res.other(await RawPeer.connect(server.address().port));
    await peer.handshake();
    const [session] = await sessionP;
    const dead = next<[DeathReport]>(session, 'dead');
    // Hundreds per second: 300 PINGs, one every ms or so, in a few writes.
    for (let i = 1; i <= 300; i++) peer.write(encodePing(i, 0));
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'too-many-pings');
    assert.match(goaway.reason, /^more than 10 PINGs per 1000 ms \(burst 20\)/);
    assert.ok(peer.count('pong') <= 21, `${peer.count('pong')} PONGs answered`);
    const [report] = await dead;
    assert.equal(report.cause, 'protocol-error');
    assert.equal(report.goaway, 'too-many-pings');
    await peer.closed(1000);
    await stillServes(server);
  });

  test('a frame header announcing more than maxFrame gets GOAWAY frame-too-large before its body is sent', async () => {
    const server = res.server(await startServer({ maxFrame: 16384 }));
    const peer = res.other(await RawPeer.connect(server.address().port));
    await peer.handshake();
    const header = Buffer.alloc(5);
    header[0] = FrameType.DATA;
    header.writeUInt32BE(16385, 1);
    peer.write(header); // the header only: the body never comes
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'frame-too-large');
    assert.match(goaway.reason, /^DATA frame declares a 16385-byte payload; the limit is 16384 bytes/);
    await peer.closed(1000);
  });

  test('a GOAWAY in place of HELLO (a client leaving before it began) is not answered: the server closes, reports it rejected (cause goaway), makes no session', async () => {
    const server = res.server(await startServer());
    const rejected = rejections(server);
    const peer = res.other(await RawPeer.connect(server.address().port));
    peer.write(encodePreface(), encodeGoaway('normal', 'changed my mind'));
    await peer.closed(3000);
    await until(server, 'rejected', () => rejected.length === 1, 1000);
    assert.equal(rejected[0]!.report.cause, 'goaway');
    assert.equal(peer.count('goaway'), 0, 'the server answered a goodbye with a GOAWAY');
    assert.equal(server.sessions.size, 0);
  });

  test('a HELLO larger than maxHelloSize is refused frame-too-large during the handshake', async () => {
    const server = res.server(await startServer({ maxHelloSize: 64 }));
    const peer = res.other(await RawPeer.connect(server.address().port));
    peer.write(encodePreface(), hello({ credentials: Buffer.alloc(100) }));
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'frame-too-large');
    await peer.closed(1000);
  });

  test('DATA out of sequence gets GOAWAY protocol-error', async () => {
    const { peer, got } = await sessionWithRawPeer();
    peer.write(encodeData(1, Buffer.from('one')), encodeData(3, Buffer.from('three')));
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'protocol-error');
    assert.equal(goaway.reason, 'DATA 3 arrived where 2 was expected');
    assert.deepEqual(got, ['one']);
    await peer.closed(1000);
  });

  test('a GOAWAY sent for a protocol error tells the peer the last DATA received in order', {}, async () => {
    const server = res.server(await startServer());
    const peer = res.other(await RawPeer.connect(server.address().port));
    await peer.handshake();
    peer.write(encodeData(1, Buffer.from('one')), encodeData(2, Buffer.from('two')));
    peer.write(encodeData(4, Buffer.from('four')));
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'protocol-error');
    assert.equal(
      goaway.lastReceived,
      2,
      'PROTOCOL.md 2.6: lastReceived = highest DATA seq received in order',
    );
  });

  test('a replayed DATA the session already delivered is dropped, not delivered twice', async () => {
    const { session, peer, got } = await sessionWithRawPeer();
    peer.write(encodeData(1, Buffer.from('a')), encodeData(2, Buffer.from('b')));
    peer.write(
      encodeData(1, Buffer.from('a')),
      encodeData(2, Buffer.from('b')),
      encodeData(3, Buffer.from('c')),
    );
    await until(session, 'message', () => got.length >= 3);
    assert.deepEqual(got, ['a', 'b', 'c']);
    assert.equal(session.state, 'open');
  });

  test('frames cut anywhere across reads are delivered whole and in order; a throwing listener loses none', async () => {
    const { session, peer, got } = await sessionWithRawPeer();
    const socket = session.socket!;
    const frames = Array.from({ length: 6 }, (_, i) => encodeData(i + 1, Buffer.from(`message ${i + 1}`)));
    const stream = Buffer.concat([...frames, encodePing(9, 9)]);
    // Cuts inside a header, inside a body, on a boundary, and a run of whole frames plus a partial one.
    const cuts = [3, 5, 20, 37, 38, 90, stream.length];
    let from = 0;
    for (const to of cuts) {
      peer.write(stream.subarray(from, to));
      const read = socket.bytesRead;
      // Each piece is read before the next is written: the server sees exactly these chunks.
      await within(
        1000,
        `the server reading ${to - from} bytes`,
        waitFor(() => socket.bytesRead >= read + (to - from)),
      );
      from = to;
    }
    await until(session, 'message', () => got.length >= 6);
    assert.deepEqual(
      got,
      frames.map((_, i) => `message ${i + 1}`),
    );
    // A listener that throws on the first frame of a chunk (emitted here, so that the throw reaches the test):
    // the frame after it is kept, and delivered with the next chunk.
    session.once('message', () => {
      throw new Error('listener bug');
    });
    const chunk = Buffer.concat([encodeData(7, Buffer.from('seven')), encodeData(8, Buffer.from('eight'))]);
    assert.throws(() => socket.emit('data', chunk), /listener bug/);
    assert.deepEqual(got.slice(6), ['seven']);
    peer.write(encodeData(9, Buffer.from('nine')));
    await until(session, 'message', () => got.length >= 9);
    assert.deepEqual(got.slice(6), ['seven', 'eight', 'nine']);
  });

  test('an ACK for a message never sent gets GOAWAY protocol-error', async () => {
    const server = res.server(await startServer());
    const sessionP = next<[Session]>(server, 'session');
    const peer = res.other(await RawPeer.connect(server.address().port));
    await peer.handshake();
    const [session] = await sessionP;
    session.send('only one');
    await peer.frame((f) => f.type === 'data');
    const dead = next<[DeathReport]>(session, 'dead');
    peer.write(encodeAck(5));
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'protocol-error');
    assert.equal(goaway.reason, 'ACK 5 for a message never sent (last sent 1)');
    const [report] = await dead;
    assert.equal(report.cause, 'protocol-error');
    await peer.closed(1000);
  });

  test('a second HELLO after WELCOME gets GOAWAY protocol-error', async () => {
    const server = res.server(await startServer());
    const peer = res.other(await RawPeer.connect(server.address().port));
    await peer.handshake();
    peer.write(hello());
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'protocol-error');
    assert.equal(goaway.reason, 'unexpected HELLO in an established session');
    await peer.closed(1000);
  });

  test('two HELLOs in one segment make one session at most, and the second is a protocol-error', {}, async () => {
    const server = res.server(await startServer());
    const sessions: Session[] = [];
    server.on('session', (s) => sessions.push(s));
    const peer = res.other(await RawPeer.connect(server.address().port));
    peer.write(encodePreface(), hello(), hello());
    // Today: a second session, and a second preface + WELCOME on the same connection.
    await until(peer, 'bytes', () => peer.count('goaway') > 0 || peer.decodeError !== undefined);
    assert.equal(peer.decodeError, undefined, 'the server wrote its preface twice on one connection');
    assert.ok(sessions.length <= 1, `${sessions.length} sessions for one connection`);
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'protocol-error');
  });

  test('DATA before HELLO and a PING before HELLO are protocol errors', async () => {
    const server = res.server(await startServer());
    for (const frame of [encodeData(1, Buffer.from('x')), encodePing(1, 1)]) {
      const peer = res.other(await RawPeer.connect(server.address().port));
      peer.write(encodePreface(), frame);
      const goaway = await peer.goaway();
      assert.equal(goaway.name, 'protocol-error');
      await peer.closed(1000);
    }
    assert.equal(server.sessions.size, 0);
  });

  test('the server survives a mixed crowd of hostile peers and keeps serving clients', async () => {
    const server = res.server(await startServer({ handshakeTimeout: 300, maxFrame: 16384 }));
    const rejected = rejections(server);
    const port = server.address().port;
    const inputs = [
      Buffer.from('POST /x HTTP/1.1\r\n\r\n'),
      Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
      Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5]), // a TLS ClientHello
      Buffer.concat([encodePreface(), Buffer.from([0x09, 0, 0, 0, 0])]), // unknown frame type
      Buffer.concat([encodePreface(), Buffer.from([0x03, 0, 0, 0, 9])]), // PING of the wrong length
      Buffer.concat([encodePreface(), hello().subarray(0, 10)]), // half a HELLO, then silence
      Buffer.concat([encodePreface(), encodeGoaway('normal')]), // GOAWAY instead of HELLO
      Buffer.alloc(0), // nothing at all
    ];
    const peers = await Promise.all(inputs.map(() => RawPeer.connect(port)));
    peers.forEach((p, i) => {
      res.other(p);
      if (inputs[i]!.length > 0) p.write(inputs[i]!);
    });
    await Promise.all(peers.map((p) => p.closed(300 + SLACK * 4)));
    await until(server, 'rejected', () => rejected.length === inputs.length, 1000);
    for (const { report } of rejected)
      assert.ok(report.cause.length > 0 && typeof report.silentMs === 'number');
    assert.equal(server.sessions.size, 0);
    await stillServes(server);
  });
});

describe('close', () => {
  test("client.close() sends GOAWAY normal after the data sent before it; the session gets the data, then 'close' and no 'dead' (a goodbye is not a death)", async () => {
    const server = res.server(await startServer());
    const sessionP = next<[Session]>(server, 'session');
    const client = res.client(dial(server.address().port));
    const [session] = await sessionP;
    await next(client, 'connected');
    const order: string[] = [];
    session.on('message', (m) => order.push(`message ${m}`));
    session.on('dead', (r) => order.push(`dead ${r.cause} ${r.goaway}`));
    const closed = next(session, 'close');
    const clientClosed = next(client, 'close');
    client.send('1');
    client.send('2');
    client.send('3');
    client.close();
    await closed;
    await clientClosed;
    assert.deepEqual(order, ['message 1', 'message 2', 'message 3']);
    assert.equal(session.lastEnd?.goaway, 'normal');
    assert.equal(session.state, 'closed');
    assert.equal(server.sessions.size, 0, 'a session closed by its client is forgotten at once');
  });

  test("session.close() sends GOAWAY normal with lastReceived; the client gets the data sent before it, then 'close' (no 'dead'), and does not reconnect", async () => {
    const server = res.server(await startServer());
    const sessionP = next<[Session]>(server, 'session');
    const client = res.client(dial(server.address().port, { reconnect: { initialDelay: 10 } }));
    const [session] = await sessionP;
    await next(client, 'connected');
    const order: string[] = [];
    client.on('message', (m) => order.push(`message ${m}`));
    client.on('dead', (r) => order.push(`dead ${r.cause} ${r.goaway}`));
    client.on('reconnecting', () => order.push('reconnecting'));
    const closed = next(client, 'close');
    session.send('a');
    session.send('b');
    session.close();
    await closed;
    assert.deepEqual(order, ['message a', 'message b']);
    assert.equal(client.lastEnd?.goaway, 'normal');
    assert.deepEqual((client as unknown as { errors: Error[] }).errors, []);
  });

  test('session.close() says GOAWAY normal carrying the last DATA seq it received', async () => {
    const server = res.server(await startServer());
    const sessionP = next<[Session]>(server, 'session');
    const peer = res.other(await RawPeer.connect(server.address().port));
    await peer.handshake();
    const [session] = await sessionP;
    peer.write(encodeData(1, Buffer.from('x')), encodeData(2, Buffer.from('y')));
    await until(session, 'message', () => session.stats.messagesIn === 2);
    session.close('bye now');
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'normal');
    assert.equal(goaway.reason, 'bye now');
    assert.equal(goaway.lastReceived, 2);
    await peer.closed(1000 + SLACK);
  });

  test('server.close() says GOAWAY server-shutdown to every session, and a reconnecting client tries again', async () => {
    const server = res.server(await startServer());
    const port = server.address().port;
    const peer = res.other(await RawPeer.connect(port));
    await peer.handshake();
    const client = res.client(dial(port, { reconnect: { initialDelay: 20, maxDelay: 50 } }));
    await next(client, 'connected');
    const dead = next<[DeathReport]>(client, 'dead');
    const reconnecting = next<[{ attempt: number; delayMs: number }]>(client, 'reconnecting');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'server-shutdown');
    const [report] = await dead;
    assert.equal(report.cause, 'goaway');
    assert.equal(report.goaway, 'server-shutdown');
    const [info] = await reconnecting;
    assert.equal(info.attempt, 1);
    assert.ok(info.delayMs >= 0 && info.delayMs <= 20);
    await peer.closed(1000);
    await closed;
  });

  test("a detached session's record outlives server.close() (another server may resume it), but not session.close()", async () => {
    for (const how of ['server.close()', 'session.close()'] as const) {
      const store = new MemorySessionStore();
      const server = res.server(await startServer({ store }));
      const sessionP = next<[Session]>(server, 'session');
      const peer = res.other(await RawPeer.connect(server.address().port));
      await peer.handshake();
      const [session] = await sessionP;
      const dead = next(session, 'dead');
      peer.socket.destroy();
      await dead;
      assert.equal(session.state, 'detached');
      assert.equal(store.size, 1, 'the detached session is recorded');
      const closed = next(session, 'close');
      if (how === 'server.close()') server.close();
      else session.close();
      await closed;
      assert.equal(store.size, how === 'server.close()' ? 1 : 0, how);
      store.take(session.token, session.identity); // no timer left behind
    }
  });

  test('stopAccepting() refuses new connections and keeps the open sessions; close() afterwards still ends them and calls back', async () => {
    const server = res.server(await startServer());
    const port = server.address().port;
    const sessionP = next<[Session]>(server, 'session');
    const client = res.client(dial(port));
    const [session] = await sessionP;
    session.on('message', (m) => session.send(m));
    server.stopAccepting();
    const refused = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => reject(new Error('a connection was accepted after stopAccepting()')));
      socket.once('error', resolve);
    });
    assert.equal(refused.code, 'ECONNREFUSED');
    const echoed = next<[Buffer]>(client, 'message');
    client.send('still here');
    assert.equal((await echoed)[0].toString(), 'still here');
    assert.equal(session.state, 'open');
    const dead = next<[DeathReport]>(client, 'dead');
    await within(3000, 'close() calling back', new Promise<void>((resolve) => server.close(() => resolve())));
    assert.equal((await dead)[0].goaway, 'server-shutdown');
  });

  test('a connection arriving while the server shuts down gets GOAWAY server-shutdown', async () => {
    const server = createServer({ handshakeTimeout: 5000 });
    server.listen(0, '127.0.0.1');
    await next(server, 'listening');
    const port = server.address().port;
    const peer = res.other(await RawPeer.connect(port));
    peer.write(encodePreface()); // mid-handshake when the shutdown begins
    await new Promise((r) => setImmediate(r));
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'server-shutdown');
    await peer.closed(1000);
    await closed;
  });
});

describe('limits', () => {
  test('maxSessions: one session too many gets GOAWAY too-many-sessions and a rejected report', async () => {
    const server = res.server(await startServer({ maxSessions: 1 }));
    const rejected = rejections(server);
    const port = server.address().port;
    const first = res.other(await RawPeer.connect(port));
    await first.handshake();
    const second = res.other(await RawPeer.connect(port));
    second.write(encodePreface(), hello());
    const goaway = await second.goaway();
    assert.equal(goaway.name, 'too-many-sessions');
    assert.equal(goaway.reason, 'the server holds its maximum of 1 sessions');
    assert.deepEqual(second.received().subarray(0, 5), encodePreface());
    await second.closed(1000);
    await until(server, 'rejected', () => rejected.length === 1);
    assert.equal(rejected[0]!.report.goaway, 'too-many-sessions');
    assert.equal(server.sessions.size, 1);
  });

  test('maxSessions: a real client refused for too many sessions ends with an error that says so', async () => {
    const server = res.server(await startServer({ maxSessions: 1 }));
    const port = server.address().port;
    const first = res.client(dial(port));
    await next(first, 'connected');
    const second = res.client(dial(port));
    const [err] = await next<[LifelineError]>(second, 'error');
    assert.ok(err instanceof LifelineError);
    assert.match(err.message, /too-many-sessions/);
    assert.equal(second.connected, false);
  });
});

describe('authentication', () => {
  test('authenticate() receives the credentials and the address; its identity is bound to the session', async () => {
    const seen: HelloInfo[] = [];
    const server = res.server(
      await startServer({
        authenticate: async (info) => {
          seen.push(info);
          await new Promise((r) => setTimeout(r, 20));
          return info.credentials.toString() === 'secret' ? 'alice' : false;
        },
      }),
    );
    const sessionP = next<[Session]>(server, 'session');
    const client = res.client(dial(server.address().port, { credentials: 'secret' }));
    const [session] = await sessionP;
    await next(client, 'connected');
    assert.equal(session.identity, 'alice');
    assert.equal(seen[0]!.credentials.toString(), 'secret');
    assert.equal(seen[0]!.remoteAddress, '127.0.0.1');
    assert.equal(typeof seen[0]!.remotePort, 'number');
  });

  test('authenticate() returning false: GOAWAY auth-failed, the client errors with LIFELINE_AUTH_FAILED and does not retry', async () => {
    let calls = 0;
    const server = res.server(
      await startServer({
        authenticate: () => {
          calls++;
          return false;
        },
      }),
    );
    const rejected = rejections(server);
    const client = res.client(dial(server.address().port, { reconnect: { initialDelay: 10, maxDelay: 20 } }));
    const events: string[] = [];
    client.on('reconnecting', () => events.push('reconnecting'));
    client.on('connected', () => events.push('connected'));
    const closed = next(client, 'close');
    const [err] = await next<[LifelineError]>(client, 'error');
    await closed;
    assert.ok(err instanceof LifelineError);
    assert.equal(err.code, 'LIFELINE_AUTH_FAILED');
    assert.match(err.message, /auth-failed: authentication failed/);
    assert.deepEqual(events, []);
    assert.equal(calls, 1, 'an authentication failure is final: no retry storm');
    await until(server, 'rejected', () => rejected.length === 1);
    assert.equal(rejected[0]!.report.goaway, 'auth-failed');
    assert.equal(server.sessions.size, 0);
  });

  test('authenticate() that throws refuses the client with GOAWAY auth-failed', async () => {
    const server = res.server(
      await startServer({
        authenticate: () => {
          throw new Error('directory down');
        },
      }),
    );
    const peer = res.other(await RawPeer.connect(server.address().port));
    peer.write(encodePreface(), hello({ credentials: Buffer.from('x') }));
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'auth-failed');
    await peer.closed(1000);
  });

  test('no session exists while authenticate() is pending, and none after it refuses', async () => {
    let release!: (v: string | false) => void;
    let called!: () => void;
    const pending = new Promise<void>((r) => (called = r));
    const server = res.server(
      await startServer({
        authenticate: () => {
          called();
          return new Promise<string | false>((r) => (release = r));
        },
      }),
    );
    const sessions: Session[] = [];
    server.on('session', (s) => sessions.push(s));
    const peer = res.other(await RawPeer.connect(server.address().port));
    peer.write(encodePreface(), hello());
    await pending;
    assert.equal(sessions.length, 0);
    assert.equal(peer.count('welcome'), 0);
    release(false);
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'auth-failed');
    assert.equal(sessions.length, 0);
  });
});

describe('option validation', () => {
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    [
      'interval below 10 ms',
      { interval: 5 },
      'RangeError',
      /^interval must be between 10 ms and 2147483647 ms, got 5 ms$/,
    ],
    ['interval not a number', { interval: '100' }, 'TypeError', /^interval must be a finite number/],
    [
      'interval fractional',
      { interval: 100.5 },
      'RangeError',
      /^interval must be a whole number between 10 and/,
    ],
    [
      'timeout below interval',
      { interval: 200, timeout: 100 },
      'RangeError',
      /^timeout must be at least 300 ms with interval 200 ms/,
    ],
    [
      'timeout equal to the interval (no room for the answer)',
      { interval: 1000, timeout: 1000 },
      'RangeError',
      /^timeout must be at least 1500 ms with interval 1000 ms \(interval \+ max\(interval \/ 2, 100 ms\)/,
    ],
    [
      'detector unknown',
      { detector: 'magic' },
      'RangeError',
      /^detector must be 'deadline' or 'phi', got "magic"$/,
    ],
    [
      'maxFrame below the 16 KiB floor',
      { maxFrame: 10 },
      'RangeError',
      /^maxFrame must be between 16384 bytes and 4294967295 bytes/,
    ],
    [
      'handshakeTimeout 0',
      { handshakeTimeout: 0 },
      'RangeError',
      /^handshakeTimeout must be between 1 ms and/,
    ],
    ['resumeWindow negative', { resumeWindow: -1 }, 'RangeError', /^resumeWindow must be between 0 ms and/],
    ['maxSessions 0', { maxSessions: 0 }, 'RangeError', /^maxSessions must be between 1 and/],
    [
      'maxPingsPerInterval 0',
      { maxPingsPerInterval: 0 },
      'RangeError',
      /^maxPingsPerInterval must be between 1/,
    ],
    [
      'phiThreshold 0',
      { detector: 'phi', phiThreshold: 0 },
      'RangeError',
      /^phiThreshold must be between 0.5 and 100/,
    ],
  ];
  for (const [what, options, name, message] of cases) {
    test(`createServer() refuses ${what} with a ${name} naming the option and its range`, () => {
      assert.throws(() => createServer(options as never), { name, message });
    });
  }

  test('createServer() refuses a maxBuffered that is not a positive whole number', {}, () => {
    assert.throws(() => createServer({ maxBuffered: -1 }), { name: 'RangeError', message: /maxBuffered/ });
    assert.throws(() => createServer({ maxBuffered: 'x' as never }), {
      name: 'TypeError',
      message: /maxBuffered/,
    });
  });

  test('createServer(fn) takes a session listener like net.createServer', async () => {
    const seen: Session[] = [];
    const server = res.server(createServer((s) => seen.push(s)));
    server.listen(0, '127.0.0.1');
    await next(server, 'listening');
    const client = res.client(dial(server.address().port));
    await next(client, 'connected');
    await until(server, 'session', () => seen.length === 1);
  });
});
