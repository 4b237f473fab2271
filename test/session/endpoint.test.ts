// Messages between a real server and a real client on loopback: both directions, in order, exactly once,
// every payload shape and size limit, send() errors with their class and code, the replay buffer's bound
// and the 'drain' that follows acknowledgements. Raw peers check what goes on the wire.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, test } from 'node:test';
import type { HeartbeatClient } from '../../src/client/client.js';
import { LifelineError } from '../../src/errors.js';
import { encodeAck, encodeData } from '../../src/protocol/encoder.js';
import type { ServerOptions } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import type { DeathReport } from '../../src/session/death.js';
import { dial, next, RawPeer, Resources, startServer, until } from '../helpers/peer.js';

const res = new Resources();
afterEach(() => res.release());

/** A server and a connected client (no reconnect), with the server's session. */
async function pair(
  serverOptions: ServerOptions = {},
  clientOptions: Parameters<typeof dial>[1] = {},
): Promise<{ session: Session; client: HeartbeatClient; port: number }> {
  const server = res.server(await startServer({ interval: 200, timeout: 1000, ...serverOptions }));
  const sessionP = next<[Session]>(server, 'session');
  const client = res.client(dial(server.address().port, clientOptions));
  const [session] = await sessionP;
  await next(client, 'connected');
  return { session, client, port: server.address().port };
}

function collect(emitter: Session | HeartbeatClient): Buffer[] {
  const got: Buffer[] = [];
  emitter.on('message', (m) => got.push(Buffer.from(m)));
  return got;
}

describe('messages', () => {
  test('delivers 500 messages each way, in order and exactly once, while both sides send at once', async () => {
    const { session, client } = await pair();
    const atServer = collect(session);
    const atClient = collect(client);
    const N = 500;
    for (let i = 0; i < N; i++) {
      client.send(`c${i}`);
      session.send(`s${i}`);
    }
    await until(session, 'message', () => atServer.length >= N, 3000);
    await until(client, 'message', () => atClient.length >= N, 3000);
    const expect = (p: string) => Array.from({ length: N }, (_, i) => `${p}${i}`);
    assert.deepEqual(
      atServer.map((b) => b.toString()),
      expect('c'),
    );
    assert.deepEqual(
      atClient.map((b) => b.toString()),
      expect('s'),
    );
    assert.equal(session.stats.messagesIn, N);
    assert.equal(client.stats.messagesIn, N);
  });

  test('carries strings as UTF-8, Buffers, Uint8Arrays and empty payloads byte for byte', async () => {
    const { session, client } = await pair();
    const got = collect(session);
    const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff]);
    const view = new Uint8Array([9, 8, 7, 6, 5, 4]).subarray(2, 5); // a view with an offset
    client.send('héllo ✓');
    client.send(bytes);
    client.send(view);
    client.send('');
    client.send(Buffer.alloc(0));
    await until(session, 'message', () => got.length >= 5);
    assert.deepEqual(got[0], Buffer.from('héllo ✓', 'utf8'));
    assert.deepEqual(got[1], bytes);
    assert.deepEqual(got[2], Buffer.from([7, 6, 5]));
    assert.equal(got[3]!.length, 0);
    assert.equal(got[4]!.length, 0);
  });

  test('carries the largest message the peer accepts (1 MiB - 6 bytes) both ways, intact', async () => {
    const { session, client } = await pair();
    const big = Buffer.alloc(1024 * 1024 - 6);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const atServer = collect(session);
    const atClient = collect(client);
    client.send(big);
    session.send(big);
    await until(session, 'message', () => atServer.length >= 1, 5000);
    await until(client, 'message', () => atClient.length >= 1, 5000);
    assert.ok(atServer[0]!.equals(big), 'the server received a different payload');
    assert.ok(atClient[0]!.equals(big), 'the client received a different payload');
  });

  test('send() of a message larger than the peer accepts throws LIFELINE_MESSAGE_TOO_LARGE naming the limit; the largest is sent, in fragments', async () => {
    const { session, client } = await pair({ maxMessageSize: 40_000 }, { maxMessageSize: 20_000 });
    assert.equal(client.maxMessageSize, 40_000);
    assert.equal(session.maxMessageSize, 20_000);
    assert.throws(() => client.send(Buffer.alloc(40_001)), {
      name: 'LifelineError',
      code: 'LIFELINE_MESSAGE_TOO_LARGE',
      message: 'message of 40001 bytes is larger than the peer accepts (maxMessageSize 40000 bytes)',
    });
    assert.throws(() => session.send(Buffer.alloc(20_001)), {
      code: 'LIFELINE_MESSAGE_TOO_LARGE',
      message: /^message of 20001 bytes is larger than the peer accepts \(maxMessageSize 20000 bytes/,
    });
    const atServer = collect(session);
    const atClient = collect(client);
    assert.equal(client.send(Buffer.alloc(40_000, 1)), true);
    assert.equal(session.send(Buffer.alloc(20_000, 2)), true);
    await until(session, 'message', () => atServer.length >= 1);
    await until(client, 'message', () => atClient.length >= 1);
    assert.deepEqual(atServer[0], Buffer.alloc(40_000, 1));
    assert.deepEqual(atClient[0], Buffer.alloc(20_000, 2));
    // The refused sends consumed no sequence number: the session is still in step.
    assert.equal(client.connected, true);
    assert.equal(session.state, 'open');
  });

  test('send() with a payload that is not bytes or a string throws a TypeError', async () => {
    const { client } = await pair();
    assert.throws(() => client.send(42 as unknown as string), {
      name: 'TypeError',
      message: 'payload must be a Buffer, Uint8Array or string, got number',
    });
  });

  test('send() after close() throws LifelineError LIFELINE_CLOSED, on the client and on a session', async () => {
    const { session, client } = await pair();
    client.close();
    assert.throws(
      () => client.send('late'),
      (err: unknown) => {
        assert.ok(err instanceof LifelineError);
        assert.equal(err.code, 'LIFELINE_CLOSED');
        assert.equal(err.message, 'cannot send: this session is closed');
        return true;
      },
    );
    await next(session, 'close');
    assert.throws(() => session.send('late'), { name: 'LifelineError', code: 'LIFELINE_CLOSED' });
  });

  test('send() on a session closed by the server throws LIFELINE_CLOSED at once', async () => {
    const { session } = await pair();
    session.close();
    assert.throws(() => session.send('late'), {
      name: 'LifelineError',
      code: 'LIFELINE_CLOSED',
      message: 'cannot send: this session is closed',
    });
  });
});

describe('replay buffer and backpressure', () => {
  test("send() returns false past half of maxBuffered, throws LIFELINE_BUFFER_FULL past it, and 'drain' follows the ACK", async () => {
    // A long interval: the server acknowledges with its PONG to the client's first PING, ~1 s after the sends.
    const { client } = await pair({ interval: 1000, timeout: 3000 }, { maxBuffered: 1000 });
    const drained = next(client, 'drain', 1000 + 1000);
    assert.equal(client.send(Buffer.alloc(400)), true, '400 of 1000 bytes buffered: under half');
    assert.equal(client.send(Buffer.alloc(200)), false, '600 of 1000 bytes buffered: past half');
    assert.equal(client.buffered, 600);
    assert.throws(
      () => client.send(Buffer.alloc(401)),
      (err: unknown) => {
        assert.ok(err instanceof LifelineError);
        assert.equal(err.code, 'LIFELINE_BUFFER_FULL');
        assert.equal(
          err.message,
          "cannot send 401 bytes: 600 bytes already wait for acknowledgement (maxBuffered 1000); wait for 'drain' before sending more",
        );
        return true;
      },
    );
    assert.equal(client.buffered, 600, 'a refused message must not be buffered');
    assert.equal(client.send(Buffer.alloc(400)), false, 'exactly maxBuffered still fits');
    const at = performance.now();
    await drained;
    assert.equal(client.buffered, 0, "'drain' came before the acknowledgement emptied the buffer");
    assert.ok(performance.now() - at < 1500);
    assert.equal(client.send(Buffer.alloc(400)), true);
  });

  test('a session whose client never acknowledges refuses more than maxBuffered with LIFELINE_BUFFER_FULL', async () => {
    const server = res.server(await startServer({ interval: 200, timeout: 1000, maxBuffered: 100 }));
    const sessionP = next<[Session]>(server, 'session');
    const peer = res.other(await RawPeer.connect(server.address().port));
    await peer.handshake();
    const [session] = await sessionP;
    assert.equal(session.send(Buffer.alloc(50)), true);
    assert.equal(session.send(Buffer.alloc(50)), false);
    assert.throws(() => session.send(Buffer.alloc(1)), {
      name: 'LifelineError',
      code: 'LIFELINE_BUFFER_FULL',
    });
    await peer.frame((f) => f.type === 'data' && f.seq === 2);
    const drained = next(session, 'drain');
    peer.write(encodeAck(2));
    await drained;
    assert.equal(session.buffered, 0);
  });

  test('an ACK frees exactly the acknowledged messages from the replay buffer', async () => {
    const server = res.server(await startServer({ interval: 200, timeout: 1000 }));
    const sessionP = next<[Session]>(server, 'session');
    const peer = res.other(await RawPeer.connect(server.address().port));
    await peer.handshake();
    const [session] = await sessionP;
    session.send('a');
    session.send('bb');
    session.send('ccc');
    await peer.frame((f) => f.type === 'data' && f.seq === 3);
    assert.equal(session.buffered, 6);
    peer.write(encodeAck(2));
    // A DATA written after the ACK: once the server delivers it, the ACK before it was processed.
    peer.write(encodeData(1, Buffer.from('x')));
    await until(session, 'message', () => session.stats.messagesIn === 1);
    assert.equal(session.buffered, 3);
  });

  test('a receiver acknowledges a busy one-way stream without waiting for a PING', async () => {
    // interval 2000: no PING for 2 s, so any ACK within a second comes from the run of DATA itself.
    const server = res.server(await startServer({ interval: 2000, timeout: 6000 }));
    const sessionP = next<[Session]>(server, 'session');
    const peer = res.other(await RawPeer.connect(server.address().port));
    await peer.handshake();
    await sessionP;
    for (let seq = 1; seq <= 100; seq++) peer.write(encodeData(seq, Buffer.from('m')));
    const ack = await peer.frame((f) => f.type === 'ack', 1000);
    assert.ok(ack.type === 'ack' && ack.seq >= 32 && ack.seq <= 100, JSON.stringify(ack));
  });
});

describe('deaths reported to both ends', () => {
  test("a client destroyed abruptly is reported 'dead' (closed or reset) by its session at once", async () => {
    const { session, client } = await pair({ interval: 200, timeout: 5000, resumeWindow: 0 });
    const deadP = next<[DeathReport]>(session, 'dead', 1000);
    const closeP = next(session, 'close', 1000);
    const at = performance.now();
    // The client's own socket, reached through the private transport: a crash of the client's process.
    (client as unknown as { transport: { socket: import('node:net').Socket } }).transport.socket.destroy();
    const [report] = await deadP;
    assert.ok(report.cause === 'closed' || report.cause === 'reset', report.cause);
    assert.ok(performance.now() - at < 500, 'a closed socket must be noticed at once, not after the timeout');
    await closeP; // resumeWindow 0: nothing to wait for
  });
});
