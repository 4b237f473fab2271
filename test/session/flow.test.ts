// Protocol v2 on real loopback sockets: messages in fragments, the receive window and pause()/resume(), a
// pulling iterator, control frames that do not wait behind a large message, and the limits a peer meets
// (flow-control-error, message-too-large, a window that shrinks).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import { ffi, setInt } from '../../src/keepalive/ffi.js';
import { socketFd } from '../../src/keepalive/socket.js';
import { DATA_FRAME_COST, FRAGMENT_SIZE, MIN_FRAGMENT } from '../../src/protocol/constants.js';
import { encodeData, encodePing, encodeWindow } from '../../src/protocol/encoder.js';
import type { Session } from '../../src/server/session.js';
import { dial, next, RawPeer, Resources, startServer, until } from '../helpers/peer.js';
import { eventually } from '../helpers/wait.js';

const res = new Resources();
afterEach(() => res.release());

async function pair(serverOptions = {}, clientOptions = {}) {
  const server = res.server(await startServer({ interval: 500, timeout: 2000, ...serverOptions }));
  const sessionP = next<[Session]>(server, 'session');
  const client = res.client(dial(server.address().port, clientOptions));
  const [session] = await sessionP;
  await next(client, 'connected');
  return { server, session, client };
}

const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Sends `messages` honouring backpressure (send until false, then wait for 'drain'). */
async function sendAll(
  endpoint: { send(m: Buffer): boolean; once(e: 'drain', f: () => void): unknown },
  messages: Buffer[],
): Promise<number> {
  let waits = 0;
  for (const m of messages) {
    if (!endpoint.send(m)) {
      waits++;
      await new Promise<void>((resolve) => endpoint.once('drain', resolve));
    }
  }
  return waits;
}

describe('fragments and the receive window', () => {
  test('a message of maxMessageSize crosses in fragments and arrives whole, once, in order with the small ones', async () => {
    const { session, client } = await pair({}, {});
    const got: Buffer[] = [];
    session.on('message', (m) => got.push(m));
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    const messages = [Buffer.from('before'), big, Buffer.from('after'), Buffer.alloc(0)];
    await sendAll(client, messages);
    await until(session, 'message', () => got.length === messages.length, 5000);
    assert.deepEqual(got.map(digest), messages.map(digest));
  });

  test('pause() holds messages within the window, unacknowledged; the sender is pushed back; resume() delivers them all in order', async () => {
    const WINDOW = 256 * 1024;
    const { session, client } = await pair({ receiveWindow: WINDOW, maxMessageSize: 64 * 1024 }, {});
    const got: Buffer[] = [];
    session.on('message', (m) => got.push(m));
    session.pause();
    assert.equal(session.paused, true);
    const messages = Array.from({ length: 40 }, (_, i) => Buffer.alloc(32 * 1024, i));
    let refused = 0;
    for (const m of messages) if (!client.send(m)) refused++;
    // The window fills (256 KiB of 1.25 MiB) and the rest waits at the sender: send() said so.
    assert.ok(refused > 0, 'send() never returned false against a paused peer');
    await eventually(5000, 'the window to fill', () => session.waitingBytes >= WINDOW - 32 * 1024);
    assert.equal(got.length, 0);
    assert.ok(
      session.waitingBytes <= WINDOW,
      `${session.waitingBytes} bytes held for a ${WINDOW}-byte window`,
    );
    // Nothing held was acknowledged: the sender still holds every message for replay.
    assert.equal(client.buffered, 40 * 32 * 1024);
    const drained = next(client, 'drain');
    session.resume();
    await until(session, 'message', () => got.length === messages.length, 5000);
    assert.deepEqual(got.map(digest), messages.map(digest));
    await drained;
    assert.equal(session.waitingBytes, 0);
  });

  test('for await pulls: a slow loop body holds the sender back by the window, and every message arrives once, in order', async () => {
    const WINDOW = 128 * 1024;
    const { session, client } = await pair({ receiveWindow: WINDOW, maxMessageSize: 32 * 1024 }, {});
    const messages = Array.from({ length: 60 }, (_, i) => Buffer.alloc(16 * 1024, i));
    const sending = sendAll(client, messages);
    const got: Buffer[] = [];
    let mostWaiting = 0;
    for await (const m of session) {
      got.push(m);
      mostWaiting = Math.max(mostWaiting, session.waitingBytes);
      await new Promise((r) => setTimeout(r, 5));
      if (got.length === messages.length) break;
    }
    const waits = await sending;
    assert.deepEqual(got.map(digest), messages.map(digest));
    assert.ok(mostWaiting <= WINDOW, `${mostWaiting} bytes waited for a ${WINDOW}-byte window`);
    assert.ok(waits > 0, 'the sender never had to wait for the slow reader');
    // Nobody listens to 'message': the session stays paused, and what arrives waits for the next loop.
    assert.equal(session.paused, true);
  });

  test('the peer window bounds what the sender writes (its bytes and 64 per frame): a peer that grants nothing receives one window, then more as it grants', async () => {
    const server = res.server(await startServer({ interval: 500, timeout: 2000 }));
    const sessionP = next<[Session]>(server, 'session');
    const peer = res.other(await RawPeer.connect(server.address().port));
    await peer.handshake({ window: 100_000 });
    const [session] = await sessionP;
    session.send(Buffer.alloc(300_000, 1));
    const fragments = () => peer.frames.filter((f) => f.type === 'data');
    const cost = () =>
      fragments().reduce((n, f) => n + (f.type === 'data' ? f.payload.length + DATA_FRAME_COST : 0), 0);
    // It stops where the next fragment (at least MIN_FRAGMENT bytes) would pass the window.
    await eventually(2000, 'the first window used', () => cost() > 100_000 - MIN_FRAGMENT - DATA_FRAME_COST);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(cost() <= 100_000, `the session wrote ${cost()} bytes against a window of 100000`);
    peer.write(encodeWindow(250_000));
    await eventually(2000, 'the second window used', () => cost() > 250_000 - MIN_FRAGMENT - DATA_FRAME_COST);
    assert.ok(cost() <= 250_000);
    peer.write(encodeWindow(400_000));
    await until(peer, 'frame', () => fragments().some((f) => f.type === 'data' && f.end), 2000);
    const bytes = fragments().reduce((n, f) => n + (f.type === 'data' ? f.payload.length : 0), 0);
    assert.equal(bytes, 300_000);
    assert.ok(
      fragments().every((f) => f.type === 'data' && f.seq === 1 && f.payload.length <= FRAGMENT_SIZE),
    );
  });

  test('a paused session holds empty messages against its window too: a flood of them is bounded', async () => {
    const WINDOW = 64 * 1024;
    const { session, client } = await pair({ receiveWindow: WINDOW, maxMessageSize: 16 * 1024 }, {});
    session.pause();
    let sent = 0;
    while (client.send(Buffer.alloc(0)) && sent < 100_000) sent++;
    await eventually(3000, 'the window to fill', () => session.waitingBytes > WINDOW - 2 * DATA_FRAME_COST);
    assert.ok(session.waitingBytes <= WINDOW);
    assert.ok(
      session.waitingBytes / DATA_FRAME_COST <= WINDOW / DATA_FRAME_COST,
      'more empty messages held than the window allows',
    );
    const got: Buffer[] = [];
    session.on('message', (m) => got.push(m));
    session.resume();
    await until(session, 'message', () => got.length === client.stats.messagesOut, 5000);
  });

  test('resume() delivers one message at a time: a listener that pauses again stops the rest', async () => {
    const { session, client } = await pair({}, {});
    session.pause();
    for (let i = 0; i < 10; i++) client.send(String(i));
    await eventually(2000, 'ten messages waiting', () => session.waitingBytes >= 10 * DATA_FRAME_COST);
    const got: string[] = [];
    session.on('message', (m) => {
      got.push(m.toString());
      session.pause();
    });
    session.resume();
    assert.deepEqual(got, ['0']);
    assert.equal(session.paused, true);
    session.resume();
    assert.deepEqual(got, ['0', '1']);
  });

  test('leaving a for-await loop with nobody listening keeps the messages for the next loop, unacknowledged', async () => {
    const { session, client } = await pair({}, {});
    for (let i = 0; i < 10; i++) client.send(String(i));
    const got: string[] = [];
    for await (const m of session) {
      got.push(m.toString());
      break;
    }
    for await (const m of session) {
      got.push(m.toString());
      if (got.length === 10) break;
    }
    assert.deepEqual(got, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });
});

describe('control frames between fragments', () => {
  test('a PONG overtakes a 4 MiB message: it waits behind about a fragment and what is in flight, not the message', async (t) => {
    const f = ffi();
    if (f === undefined) return t.skip('no FFI to shrink the receive buffer');
    const server = res.server(await startServer({ interval: 500, timeout: 5000, maxMessageSize: 4 << 20 }));
    const sessionP = next<[Session]>(server, 'session');
    const peer = res.other(await RawPeer.connect(server.address().port));
    // A small receive buffer and no reading: the server's bytes back up into its own queues.
    setInt(socketFd(peer.socket), 1 /* SOL_SOCKET */, 8 /* SO_RCVBUF */, 32 * 1024, 'SO_RCVBUF');
    await peer.handshake({ window: 0xffff_ffff, maxMessage: 8 << 20 });
    const [session] = await sessionP;
    peer.socket.pause();
    session.send(Buffer.alloc(4 << 20, 9));
    await new Promise((r) => setTimeout(r, 200));
    peer.write(encodePing(77, 1));
    await new Promise((r) => setTimeout(r, 200));
    peer.socket.resume();
    const pong = await peer.frame((fr) => fr.type === 'pong', 5000);
    const before = peer.frames.slice(0, peer.frames.indexOf(pong));
    const bytesBefore = before.reduce((n, fr) => n + (fr.type === 'data' ? fr.payload.length : 0), 0);
    assert.equal(
      before.some((fr) => fr.type === 'data' && fr.end),
      false,
      'the PONG waited for the whole message',
    );
    // Our receive buffer and the server's (shallow) send queue: well under the 4 MiB behind it.
    assert.ok(bytesBefore < 1024 * 1024, `${bytesBefore} bytes of the message came before the PONG`);
    t.diagnostic(`${bytesBefore} bytes of a 4 MiB message preceded the PONG`);
  });
});

describe('limits a peer meets', () => {
  async function established(options = {}) {
    const server = res.server(await startServer({ interval: 500, timeout: 2000, ...options }));
    const sessionP = next<[Session]>(server, 'session');
    const peer = res.other(await RawPeer.connect(server.address().port));
    const welcome = await peer.handshake();
    const [session] = await sessionP;
    return { peer, welcome, session };
  }

  test('DATA past the announced window gets GOAWAY flow-control-error', async () => {
    const { peer, welcome, session } = await established({
      receiveWindow: 64 * 1024,
      maxMessageSize: 32 * 1024,
    });
    assert.equal(welcome.window, 64 * 1024);
    session.pause(); // nothing is consumed, so nothing is granted beyond the first window
    for (let seq = 1; seq <= 3; seq++) peer.write(encodeData(seq, Buffer.alloc(30 * 1024)));
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'flow-control-error');
    await peer.closed(2000);
  });

  test('fragments that add up past maxMessageSize get GOAWAY message-too-large, before the message is held whole', async () => {
    const { peer, welcome } = await established({ maxMessageSize: 32 * 1024 });
    assert.equal(welcome.maxMessage, 32 * 1024);
    peer.write(encodeData(1, Buffer.alloc(16 * 1024), false), encodeData(1, Buffer.alloc(16 * 1024), false));
    peer.write(encodeData(1, Buffer.alloc(1), true));
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'message-too-large');
  });

  test('a WINDOW below an earlier one is a protocol-error; one above it is taken', async () => {
    const { peer } = await established();
    peer.write(encodeWindow(8 << 20));
    peer.write(encodeWindow(5 << 20));
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'protocol-error');
    assert.match(goaway.reason, /windows never shrink/);
  });

  test('a fragment of another message before the last one ended is a protocol-error', async () => {
    const { peer } = await established();
    peer.write(encodeData(1, Buffer.alloc(100), false), encodeData(2, Buffer.alloc(100), true));
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'protocol-error');
  });
});
