// A session's life under the timings real deployments hit (issue 10's cases, on real loopback sockets):
// sends while detached, a slow authenticate(), a store that answers late, the 'session' listener's view,
// close() from inside it, and the peer values checked before anything changes (resume points, ACKs, DATA 0,
// GOAWAYs that end a session or leave it resumable).
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { getKeepAlive } from '../../src/keepalive/index.js';
import {
  encodeAck,
  encodeData,
  encodeGoaway,
  encodePing,
  encodePreface,
} from '../../src/protocol/encoder.js';
import type { Session } from '../../src/server/session.js';
import {
  MemorySessionStore,
  type RecordedState,
  type SessionRecord,
  type SessionStore,
} from '../../src/server/store.js';
import type { DeathReport } from '../../src/session/death.js';
import { dial, hello, next, RawPeer, Resources, startServer, TcpProxy, until } from '../helpers/peer.js';
import { eventually } from '../helpers/wait.js';

const res = new Resources();
afterEach(() => res.release());

const FAST_RECONNECT = { initialDelay: 20, maxDelay: 50 };

/** A MemorySessionStore whose take() answers `delayMs` later, like a remote store under load. */
class SlowStore implements SessionStore {
  private readonly inner = new MemorySessionStore();
  constructor(private readonly delayMs: number) {}
  get size(): number {
    return this.inner.size;
  }
  save(record: SessionRecord, ttlMs: number): void {
    this.inner.save(record, ttlMs);
  }
  async take(token: string, identity: string): Promise<SessionRecord | undefined> {
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    return this.inner.take(token, identity);
  }
  delete(token: string, expected?: RecordedState): void {
    this.inner.delete(token, expected);
  }
}

/** The first session a server announces, and every announcement. */
function watch(server: Awaited<ReturnType<typeof startServer>>) {
  const announced: Session[] = [];
  server.on('session', (s) => announced.push(s));
  return announced;
}

describe('a detached session', () => {
  test('keeps what the server sends while its client is away and replays it on resume, as one Session announced once', async () => {
    const server = res.server(await startServer({ interval: 100, timeout: 500 }));
    const announced = watch(server);
    const proxy = res.other(await TcpProxy.start(server.address().port));
    const client = res.client(dial(proxy.port, { reconnect: FAST_RECONNECT }));
    const got: string[] = [];
    client.on('message', (m) => got.push(m.toString()));
    await next(client, 'connected');
    await until(server, 'session', () => announced.length === 1);
    const session = announced[0]!;
    session.send('before');
    await until(client, 'message', () => got.length === 1);
    const dead = next(session, 'dead');
    proxy.cut();
    await dead;
    assert.equal(session.state, 'detached');
    session.send('while-away-1');
    session.send('while-away-2');
    await until(client, 'message', () => got.length === 3, 3000);
    assert.deepEqual(got, ['before', 'while-away-1', 'while-away-2']);
    assert.equal(announced.length, 1, "'session' is emitted once for the session's whole life");
    assert.equal(server.sessions.get(session.id), session, 'the same object lives on');
    assert.equal(session.state, 'open');
    session.send('after');
    await until(client, 'message', () => got.length === 4);
  });
});

describe("the 'session' event", () => {
  test('comes once the session is usable: its socket is attached and readable by getKeepAlive()', async () => {
    const server = res.server(await startServer({ interval: 1000, timeout: 3000 }));
    const seen = new Promise<{ state: string; connected: boolean; idle: number }>((resolve) =>
      server.on('session', (s) =>
        resolve({ state: s.state, connected: s.connected, idle: getKeepAlive(s.socket!).idle }),
      ),
    );
    res.client(dial(server.address().port));
    const view = await seen;
    assert.deepEqual(view, { state: 'open', connected: true, idle: 3000 });
  });

  test('close() from inside the listener ends the session for its client too: GOAWAY normal, then close', async () => {
    const server = res.server(await startServer({ interval: 100, timeout: 500 }));
    server.on('session', (s) => s.close());
    const client = res.client(dial(server.address().port, { reconnect: FAST_RECONNECT }));
    const closed = next(client, 'close', 2000);
    let died = false;
    client.on('dead', () => {
      died = true;
    });
    await closed;
    assert.equal(client.lastEnd?.goaway, 'normal');
    assert.equal(died, false, 'a goodbye is not a death');
    assert.equal(server.sessions.size, 0);
  });
});

describe('this side of the handshake is not the peer', () => {
  test('an authenticate() slower than the timeout does not count as the client silence', async () => {
    const server = res.server(
      await startServer({
        interval: 100,
        timeout: 300,
        authenticate: () => new Promise((resolve) => setTimeout(() => resolve('alice'), 600)),
      }),
    );
    const deaths: DeathReport[] = [];
    server.on('session', (s) => s.on('dead', (r) => deaths.push(r)));
    const client = res.client(dial(server.address().port, { credentials: 'alice' }));
    await next(client, 'connected', 2000);
    // Three timeouts of an established session: PINGs answered, nobody dead.
    await until(client, 'rtt', () => client.stats.pings >= 9, 2000);
    assert.deepEqual(deaths, []);
    assert.equal(client.connected, true);
  });
});

describe('a store that answers late', () => {
  test('a resume whose connection drops while take() is pending leaves the session resumable and nothing half made', async () => {
    const store = new SlowStore(100);
    const server = res.server(await startServer({ interval: 100, timeout: 500, resumeWindow: 5000, store }));
    const announced = watch(server);
    const proxy = res.other(await TcpProxy.start(server.address().port));
    const client = res.client(dial(proxy.port, { reconnect: { initialDelay: 400, maxDelay: 400 } }));
    const got: string[] = [];
    client.on('message', (m) => got.push(m.toString()));
    await next(client, 'connected');
    await until(server, 'session', () => announced.length === 1);
    const session = announced[0]!;
    const token = (client as unknown as { token: Buffer }).token;
    const dead = next(session, 'dead');
    proxy.cut();
    await dead;
    session.send('kept');
    // A resume attempt whose connection drops 30 ms in, while take() is still pending.
    const flaky = res.other(await RawPeer.connect(server.address().port));
    flaky.write(encodePreface(), hello({ token, lastReceived: 0 }));
    setTimeout(() => flaky.destroy(), 30);
    await flaky.closed();
    // The real client comes back: the same session, with the message sent while it was away.
    const [info] = await next<[{ resumed: boolean }]>(client, 'connected', 3000);
    assert.equal(info.resumed, true);
    await until(client, 'message', () => got.length === 1, 2000);
    assert.deepEqual(got, ['kept']);
    assert.equal(server.sessions.size, 1);
    assert.equal(announced.length, 1);
  });

  test('a record claimed from the store for a connection that dropped meanwhile goes back, and no zombie is left', async () => {
    const store = new SlowStore(100);
    const s1 = res.server(await startServer({ store, resumeWindow: 3000 }));
    const s2 = res.server(await startServer({ store, resumeWindow: 3000, maxSessions: 1 }));
    const announced = watch(s1);
    const client = res.client(dial(s1.address().port));
    await next(client, 'connected');
    await until(s1, 'session', () => announced.length === 1);
    const token = (client as unknown as { token: Buffer }).token;
    announced[0]!.handOver('rolling restart');
    await until(announced[0]!, 'close', () => store.size === 1, 2000);
    const flaky = res.other(await RawPeer.connect(s2.address().port));
    flaky.write(encodePreface(), hello({ token }));
    setTimeout(() => flaky.destroy(), 30);
    await flaky.closed();
    // take() answers 70 ms after the drop: the record must be back, and s2 must hold nothing.
    await eventually(1000, 'the record back in the store', () => store.size === 1);
    assert.equal(s2.sessions.size, 0, 'no session without a connection');
    // And the limit is free for a real client.
    const fresh = res.client(dial(s2.address().port));
    await next(fresh, 'connected');
  });
});

describe('peer values are checked before anything changes', () => {
  async function established(options: Parameters<typeof startServer>[0] = {}) {
    const server = res.server(await startServer({ interval: 1000, timeout: 3000, ...options }));
    const announced = watch(server);
    const peer = res.other(await RawPeer.connect(server.address().port));
    const welcome = await peer.handshake();
    await until(server, 'session', () => announced.length === 1);
    return { server, peer, welcome, session: announced[0]! };
  }

  test('a resume HELLO claiming more than was sent is refused, and the live connection keeps the session', async () => {
    const { server, session, welcome } = await established();
    session.send('one');
    session.send('two');
    const socket = session.socket;
    const liar = res.other(await RawPeer.connect(server.address().port));
    liar.write(encodePreface(), hello({ token: welcome.token, lastReceived: 5 }));
    const goaway = await liar.goaway();
    assert.equal(goaway.name, 'protocol-error');
    assert.match(goaway.reason, /lastReceived 5 is above the last message sent \(2\)/);
    assert.equal(liar.count('welcome'), 0, 'refused before WELCOME');
    assert.equal(session.state, 'open');
    assert.equal(session.socket, socket, 'the live connection was not retired');
  });

  test('an ACK below one already received is a protocol-error', async () => {
    const { peer, session } = await established();
    for (const m of ['a', 'b', 'c']) session.send(m);
    await peer.frame((f) => f.type === 'data' && f.seq === 3);
    peer.write(encodeAck(2), encodeAck(1));
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'protocol-error');
    assert.match(goaway.reason, /ACK 1 after ACK 2/);
  });

  test('DATA with sequence number 0 is a protocol-error', async () => {
    const { peer } = await established();
    peer.write(encodeData(0, Buffer.from('x')));
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'protocol-error');
    assert.match(goaway.reason, /sequence number 0/);
  });
});

describe('what each GOAWAY leaves of a session', () => {
  test("after the server's own too-many-pings the session waits for its client, which resumes it", async () => {
    const { server, peer, welcome, session } = await (async () => {
      const server = res.server(await startServer({ interval: 1000, timeout: 3000, maxPingsPerInterval: 2 }));
      const announced = watch(server);
      const peer = res.other(await RawPeer.connect(server.address().port));
      const welcome = await peer.handshake();
      await until(server, 'session', () => announced.length === 1);
      return { server, peer, welcome, session: announced[0]! };
    })();
    session.send('pending');
    await peer.frame((f) => f.type === 'data');
    // A flood: more than the bucket's burst (two windows' worth, 4) at once.
    peer.write(Buffer.concat(Array.from({ length: 10 }, (_, i) => encodePing(i + 1, 0))));
    assert.equal((await peer.goaway()).name, 'too-many-pings');
    await until(session, 'dead', () => session.state === 'detached');
    const back = res.other(await RawPeer.connect(server.address().port));
    const w = await back.handshake({ token: welcome.token, lastReceived: 0 });
    assert.equal(w.resumed, true);
    const replayed = await back.frame((f) => f.type === 'data');
    assert.equal(replayed.type === 'data' && replayed.payload.toString(), 'pending');
  });

  test('a client GOAWAY after which it reconnects leaves the session resumable; GOAWAY normal ends it', async () => {
    const server = res.server(await startServer({ interval: 1000, timeout: 3000 }));
    const announced = watch(server);
    const a = res.other(await RawPeer.connect(server.address().port));
    await a.handshake();
    const b = res.other(await RawPeer.connect(server.address().port));
    await b.handshake();
    await until(server, 'session', () => announced.length === 2);
    const [first, second] = announced as [Session, Session];
    a.write(encodeGoaway('internal-error', 'client trouble'));
    b.write(encodeGoaway('normal', 'bye'));
    await until(first, 'dead', () => first.state === 'detached');
    await until(second, 'close', () => second.state === 'closed');
    assert.equal(server.sessions.has(first.id), true);
    assert.equal(server.sessions.has(second.id), false);
  });
});
