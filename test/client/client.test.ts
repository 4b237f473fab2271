// connect() on real loopback sockets: dialling, giving up, reconnecting with backoff, and resuming a session
// across breaks made by a TCP proxy that resets or freezes its connections (a partition without root):
// every message exactly once and in order, both ways. A hand-written server checks the client's bytes.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, test } from 'node:test';
import { connect, type HeartbeatClient } from '../../src/client/client.js';
import { LifelineError } from '../../src/errors.js';
import { encodePreface } from '../../src/protocol/encoder.js';
import type { ServerOptions } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import type { DeathReport } from '../../src/session/death.js';
import type { ConnectedInfo } from '../../src/session/endpoint.js';
import { dial, next, RawServer, Resources, startServer, TcpProxy, until, welcome } from '../helpers/peer.js';

const SLACK = 250;
const res = new Resources();
afterEach(() => res.release());

const FAST_RECONNECT = { initialDelay: 20, maxDelay: 50 };

/** A server behind a proxy, and a reconnecting client dialled through the proxy, connected. */
async function rig(serverOptions: ServerOptions = {}, clientOptions: Parameters<typeof dial>[1] = {}) {
  const server = res.server(await startServer({ interval: 100, timeout: 500, ...serverOptions }));
  const proxy = res.other(await TcpProxy.start(server.address().port));
  const sessions: Session[] = [];
  server.on('session', (s) => sessions.push(s));
  const client = res.client(dial(proxy.port, { reconnect: FAST_RECONNECT, ...clientOptions }));
  await next(client, 'connected');
  await until(server, 'session', () => sessions.length === 1);
  return { server, proxy, client, session: sessions[0]!, sessions };
}

function texts(emitter: Session | HeartbeatClient): string[] {
  const got: string[] = [];
  emitter.on('message', (m) => got.push(m.toString()));
  return got;
}

const range = (p: string, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `${p}${from + i}`);

describe('dialling', () => {
  test("a refused connection without reconnect ends the client with the socket's error and 'close'", async () => {
    const raw = await RawServer.start();
    const port = raw.port;
    raw.close(); // nothing listens on this port any more
    const client = res.client(dial(port));
    const closed = next(client, 'close');
    const [err] = await next<[NodeJS.ErrnoException]>(client, 'error');
    assert.equal(err.code, 'ECONNREFUSED');
    await closed;
  });

  test("with reconnect, each failed attempt emits 'reconnecting' {attempt, delayMs} within the backoff cap, until maxAttempts", async () => {
    const raw = await RawServer.start();
    const port = raw.port;
    raw.close();
    const client = res.client(
      dial(port, { reconnect: { initialDelay: 40, maxDelay: 1000, maxAttempts: 3 } }),
    );
    const attempts: Array<{ attempt: number; delayMs: number }> = [];
    client.on('reconnecting', (info) => attempts.push(info));
    const closed = next(client, 'close', 3000);
    const [err] = await next<[NodeJS.ErrnoException]>(client, 'error', 3000);
    await closed;
    assert.equal(err.code, 'ECONNREFUSED');
    assert.deepEqual(
      attempts.map((a) => a.attempt),
      [1, 2, 3],
    );
    attempts.forEach((a, i) => {
      const cap = 40 * 2 ** i;
      assert.ok(
        a.delayMs >= 0 && a.delayMs <= cap,
        `attempt ${a.attempt}: delay ${a.delayMs} over cap ${cap}`,
      );
    });
  });

  test("close() while reconnecting stops the retries and emits 'close'", async () => {
    const raw = await RawServer.start();
    const port = raw.port;
    raw.close();
    const client = res.client(dial(port, { reconnect: { initialDelay: 200, maxDelay: 200 } }));
    await next(client, 'reconnecting');
    let more = 0;
    client.on('reconnecting', () => more++);
    const closed = next(client, 'close');
    client.close();
    await closed;
    assert.equal(more, 0);
  });

  test('a server that never answers HELLO is given up after handshakeTimeout', async () => {
    const raw = res.other(await RawServer.start());
    const client = res.client(dial(raw.port, { handshakeTimeout: 300 }));
    const peer = await raw.peer();
    const at = performance.now();
    await peer.frame((f) => f.type === 'hello');
    const closed = next(client, 'close', 300 + SLACK * 2);
    const [err] = await next<[LifelineError]>(client, 'error', 300 + SLACK * 2);
    assert.ok(performance.now() - at >= 300 - 10);
    assert.ok(err instanceof LifelineError);
    assert.equal(err.code, 'LIFELINE_HANDSHAKE_TIMEOUT');
    assert.match(err.message, /no handshake within 300 ms/);
    await closed;
    await peer.closed();
  });

  test('a client giving up on a silent server does not send its preface a second time', {}, async () => {
    const raw = res.other(await RawServer.start());
    const client = res.client(dial(raw.port, { handshakeTimeout: 200 }));
    const peer = await raw.peer();
    await peer.frame((f) => f.type === 'hello');
    await next(client, 'close', 200 + SLACK * 2);
    await peer.closed();
    // Only one preface from the client: everything after HELLO decodes as frames (or nothing at all).
    assert.equal(peer.decodeError, undefined, `the client sent: ${peer.received().toString('hex')}`);
  });

  test("client.close() during the handshake emits 'close' and no 'connected'", async () => {
    const raw = res.other(await RawServer.start());
    const client = res.client(dial(raw.port));
    const peer = await raw.peer();
    await peer.frame((f) => f.type === 'hello');
    let connected = false;
    client.on('connected', () => {
      connected = true;
    });
    const closed = next(client, 'close');
    client.close();
    peer.write(encodePreface(), welcome()); // too late
    await closed;
    assert.equal(connected, false);
  });
});

describe('reconnect and resume through a broken connection', () => {
  test("a reset connection is 'dead', then 'reconnecting', 'connected' {resumed: true} and 'resumed', with the same session", async () => {
    const { client, proxy, session } = await rig();
    const events: string[] = [];
    client.on('dead', (r) => events.push(`dead ${r.cause}`));
    client.on('reconnecting', (i) => events.push(`reconnecting ${i.attempt}`));
    client.on('connected', (i) => events.push(`connected ${i.resumed}`));
    client.on('resumed', () => events.push('resumed'));
    const serverResumed = next(session, 'resumed', 2000);
    const resumed = next(client, 'resumed', 2000);
    const sessionId = client.sessionId;
    proxy.cut();
    await resumed;
    await serverResumed;
    assert.match(events[0]!, /^dead (reset|closed)$/);
    assert.deepEqual(events.slice(1), ['reconnecting 1', 'connected true', 'resumed']);
    assert.equal(client.sessionId, sessionId);
    assert.equal(session.resumes, 1);
    assert.equal(session.state, 'open');
  });

  test('messages sent both ways across a reset arrive exactly once and in order', async () => {
    const { client, proxy, session } = await rig();
    const atServer = texts(session);
    const atClient = texts(client);
    const N = 300;
    for (let i = 0; i < N / 2; i++) {
      client.send(`c${i}`);
      session.send(`s${i}`);
    }
    proxy.cut(); // some of the above are in flight, some not yet written
    for (let i = N / 2; i < N; i++) {
      client.send(`c${i}`); // while the client reconnects
      session.send(`s${i}`); // while the session waits for it
    }
    await until(session, 'message', () => atServer.length >= N, 3000);
    await until(client, 'message', () => atClient.length >= N, 3000);
    assert.deepEqual(atServer, range('c', 0, N));
    assert.deepEqual(atClient, range('s', 0, N));
  });

  test('a stream survives five breaks in a row without losing or duplicating a message', async () => {
    const { client, proxy, session } = await rig();
    const atServer = texts(session);
    const atClient = texts(client);
    let sent = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 40; i++, sent++) {
        client.send(`c${sent}`);
        session.send(`s${sent}`);
      }
      const resumed = next(client, 'resumed', 2000);
      proxy.cut();
      await resumed;
    }
    await until(session, 'message', () => atServer.length >= sent, 3000);
    await until(client, 'message', () => atClient.length >= sent, 3000);
    assert.deepEqual(atServer, range('c', 0, sent));
    assert.deepEqual(atClient, range('s', 0, sent));
    assert.equal(session.resumes, 5);
  });

  test('a frozen connection (partition) is detected by heartbeat, resumed, and what was sent meanwhile arrives once', async () => {
    const { client, proxy, session } = await rig({ interval: 100, timeout: 400 });
    const atServer = texts(session);
    const atClient = texts(client);
    client.send('before');
    await until(session, 'message', () => atServer.length === 1);
    proxy.freeze();
    const dead = next<[DeathReport]>(client, 'dead', 400 + SLACK * 3);
    client.send('during-1');
    session.send('during-2');
    const [report] = await dead;
    assert.equal(report.cause, 'heartbeat-timeout');
    await next(client, 'resumed', 2000);
    client.send('after');
    await until(session, 'message', () => atServer.length >= 3);
    await until(client, 'message', () => atClient.length >= 1);
    assert.deepEqual(atServer, ['before', 'during-1', 'after']);
    assert.deepEqual(atClient, ['during-2']);
  });

  test('the replay buffer empties once both sides have acknowledged everything after a resume', async () => {
    const { client, proxy, session } = await rig();
    texts(session);
    texts(client);
    for (let i = 0; i < 10; i++) {
      client.send(`c${i}`);
      session.send(`s${i}`);
    }
    proxy.cut();
    await next(client, 'resumed', 2000);
    // ACKs ride on PINGs (interval 100): within a few intervals nothing is left to replay.
    await until(client, 'rtt', () => client.buffered === 0 && session.buffered === 0, 1000);
  });
});

describe('resume refused', () => {
  test("a resume after the server's resumeWindow gives a new session, and 'unconfirmed' lists the unacknowledged messages", async () => {
    const { client, proxy, session } = await rig({ resumeWindow: 50, interval: 1000, timeout: 3000 });
    const firstId = client.sessionId;
    proxy.freeze(); // nothing the client sends now is acknowledged
    client.send('lost-1');
    client.send('lost-2');
    const expired = next(session, 'close', 2000);
    proxy.refuse = true; // the client cannot come back before the window has passed
    proxy.cut();
    await expired;
    const unconfirmed = next<[Array<{ seq: number; payload: Buffer }>]>(client, 'unconfirmed', 2000);
    const connected = next<[ConnectedInfo]>(client, 'connected', 2000);
    proxy.refuse = false;
    const [info] = await connected;
    assert.equal(info.resumed, false);
    assert.notEqual(info.sessionId, firstId);
    const [messages] = await unconfirmed;
    assert.deepEqual(
      messages.map((m) => [m.seq, m.payload.toString()]),
      [
        [1, 'lost-1'],
        [2, 'lost-2'],
      ],
    );
    assert.equal(client.buffered, 0);
  });

  test('after a refused resume, the client numbers its messages afresh and the new session receives them', async () => {
    const { client, proxy, server } = await rig({ resumeWindow: 0 });
    client.send('old');
    await next(client, 'rtt', 1000); // the PONG carried the ACK of 'old'
    const sessionP = next<[Session]>(server, 'session', 2000);
    proxy.cut();
    const [fresh] = await sessionP;
    await next(client, 'connected');
    const got = texts(fresh);
    const dead: DeathReport[] = [];
    fresh.on('dead', (r) => dead.push(r));
    client.send('new');
    await until(fresh, 'message', () => got.length > 0 || dead.length > 0, 1000);
    assert.deepEqual(dead, []);
    assert.deepEqual(got, ['new']);
  });

  test('a token presented under another identity does not resume the session: a new one is made', async () => {
    let n = 0;
    const { client, proxy, session, sessions } = await rig({
      authenticate: () => `user-${++n}`,
    });
    assert.equal(session.identity, 'user-1');
    const firstId = client.sessionId;
    const connected = next<[ConnectedInfo]>(client, 'connected', 2000);
    let resumed = false;
    session.on('resumed', () => {
      resumed = true;
    });
    client.on('resumed', () => {
      resumed = true;
    });
    proxy.cut();
    const [info] = await connected;
    assert.equal(info.resumed, false);
    assert.notEqual(info.sessionId, firstId);
    assert.equal(resumed, false);
    assert.equal(sessions.length, 2);
    assert.equal(sessions[1]!.identity, 'user-2');
    assert.notEqual(sessions[1]!.token, session.token);
  });

  test('maxSessions counts a session waiting for resume: the same client still resumes it', async () => {
    const { client, proxy, session } = await rig({ maxSessions: 1 });
    const resumed = next(client, 'resumed', 2000);
    proxy.cut();
    await resumed;
    assert.equal(session.resumes, 1);
  });
});

describe('option validation', () => {
  const base = { port: 1, reconnect: false } as const;
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['no port', { port: undefined }, 'TypeError', /^port must be a finite number/],
    ['port 0', { port: 0 }, 'RangeError', /^port must be between 1 and 65535, got 0$/],
    ['port 65536', { port: 65536 }, 'RangeError', /^port must be between 1 and 65535, got 65536$/],
    [
      'connectTimeout 0',
      { connectTimeout: 0 },
      'RangeError',
      /^connectTimeout must be between 1 ms and 2147483647 ms/,
    ],
    [
      'handshakeTimeout "1s"',
      { handshakeTimeout: '1s' },
      'TypeError',
      /^handshakeTimeout must be a finite number/,
    ],
    ['interval 1', { interval: 1 }, 'RangeError', /^interval must be between 10 ms/],
    [
      'timeout below interval',
      { interval: 500, timeout: 499 },
      'RangeError',
      /^timeout must be at least 750 ms with interval 500 ms/,
    ],
    [
      'timeout that leaves under 100 ms for the answer',
      { interval: 100, timeout: 150 },
      'RangeError',
      /^timeout must be at least 200 ms with interval 100 ms/,
    ],
    ['detector "x"', { detector: 'x' }, 'RangeError', /^detector must be 'deadline' or 'phi'/],
    ['maxFrame 0', { maxFrame: 0 }, 'RangeError', /^maxFrame must be between 16384 bytes/],
    [
      'reconnect.initialDelay 0',
      { reconnect: { initialDelay: 0 } },
      'RangeError',
      /^initialDelay must be greater than 0/,
    ],
  ];
  for (const [what, options, name, message] of cases) {
    test(`connect() refuses ${what} with a ${name} naming the option`, () => {
      assert.throws(() => connect({ ...base, ...options } as never), { name, message });
    });
  }

  test('connect(null) throws the TypeError that says an options object is needed', {}, () => {
    assert.throws(() => connect(null as never), {
      name: 'TypeError',
      message: /^connect\(\) needs an options object/,
    });
  });
});
