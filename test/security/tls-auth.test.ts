// TLS and authentication: sessions over TLS with keepalive and TCP_INFO on the TCP socket underneath, a
// certificate the client does not trust is refused without a retry storm, an unauthenticated client never
// reaches the application, and a resume token only resumes for the identity that created it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, test } from 'node:test';
import { connect, type HeartbeatClient } from '../../src/client/client.js';
import { getKeepAlive, tcpInfo } from '../../src/keepalive/index.js';
import { Decoder } from '../../src/protocol/decoder.js';
import { encodePreface } from '../../src/protocol/encoder.js';
import type { Frame, WelcomeFrame } from '../../src/protocol/frames.js';
import { createServer, type HeartbeatServer, type ServerOptions } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import { selfSigned } from '../helpers/certs.js';
import { hello } from '../helpers/peer.js';

/** A fresh 5 s bound for each wait. */
const within5s = () => ({ signal: AbortSignal.timeout(5000) });

async function listen(options: ServerOptions): Promise<HeartbeatServer> {
  const server = createServer({ interval: 200, timeout: 1000, ...options });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

function closeAll(server: HeartbeatServer, ...clients: HeartbeatClient[]): Promise<void> {
  for (const c of clients) c.close();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Speaks HELLO by hand with the given token and credentials; resolves with the server's first frame. */
async function rawHello(port: number, token: Buffer, credentials: string): Promise<Frame> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect', within5s());
  socket.write(Buffer.concat([encodePreface(), hello({ token, credentials: Buffer.from(credentials) })]));
  const decoder = new Decoder();
  const [chunk] = (await once(socket, 'data', within5s())) as [Buffer];
  const frames: Frame[] = [];
  decoder.push(chunk, (f) => frames.push(f));
  socket.destroy();
  assert.ok(frames[0], 'no frame from the server');
  return frames[0];
}

const byPassword: ServerOptions['authenticate'] = ({ credentials }) => {
  const [user, password] = credentials.toString().split(':');
  return password === 'secret' ? user : false;
};

describe('TLS', { timeout: 20_000 }, () => {
  test('a session over TLS exchanges messages, and keepalive and TCP_INFO reach the TCP socket underneath', async (t) => {
    const cert = selfSigned(t);
    if (!cert) return;
    const server = await listen({
      tls: cert,
      keepAlive: { idle: 7000, interval: 2000, count: 4, userTimeout: 9000 },
    });
    const sessionP = once(server, 'session', within5s());
    const client = connect({
      port: server.address().port,
      host: '127.0.0.1',
      tls: { ca: cert.cert, servername: 'localhost' },
    });
    try {
      const [session] = (await sessionP) as [Session];
      await once(client, 'connected', within5s());
      const got = once(session, 'message', within5s());
      client.send('over tls');
      assert.equal(((await got) as [Buffer])[0].toString(), 'over tls');
      assert.deepEqual(getKeepAlive(session.socket!), {
        enabled: true,
        idle: 7000,
        interval: 2000,
        count: 4,
        userTimeout: 9000,
      });
      const info = tcpInfo(session.socket!);
      assert.equal(info?.state, 'ESTABLISHED');
      // The client's socket got keepalive derived from the heartbeat (timeout 1000 ms: idle 1 s).
      assert.equal(getKeepAlive(client.socket!).enabled, true);
      await once(client, 'rtt', within5s());
    } finally {
      await closeAll(server, client);
    }
  });

  test('a certificate the client does not trust is refused once, without retries', async (t) => {
    const cert = selfSigned(t);
    if (!cert) return;
    const server = await listen({ tls: cert });
    let sessions = 0;
    server.on('session', () => sessions++);
    const client = connect({
      port: server.address().port,
      host: '127.0.0.1',
      tls: { servername: 'localhost' },
    });
    let reconnecting = 0;
    client.on('reconnecting', () => reconnecting++);
    // events.once would reject on the 'error' this test expects: listen for 'close' plainly.
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    try {
      const [err] = (await once(client, 'error', within5s())) as [NodeJS.ErrnoException];
      assert.match(String(err.code), /CERT/);
      await closed;
      assert.equal(reconnecting, 0);
      assert.equal(sessions, 0);
    } finally {
      await closeAll(server, client);
    }
  });
});

describe('authentication', { timeout: 20_000 }, () => {
  test('a client with wrong credentials gets LIFELINE_AUTH_FAILED, never retries and never reaches the application', async () => {
    const server = await listen({ authenticate: byPassword });
    let sessions = 0;
    server.on('session', () => sessions++);
    const client = connect({ port: server.address().port, host: '127.0.0.1', credentials: 'mallory:guess' });
    let reconnecting = 0;
    client.on('reconnecting', () => reconnecting++);
    // events.once would reject on the 'error' this test expects: listen for 'close' plainly.
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    try {
      const [err] = (await once(client, 'error', within5s())) as [Error & { code: string }];
      assert.equal(err.code, 'LIFELINE_AUTH_FAILED');
      assert.match(err.message, /auth/);
      await closed;
      assert.equal(reconnecting, 0);
      assert.equal(sessions, 0);
    } finally {
      await closeAll(server, client);
    }
  });

  test('an async authenticate() that accepts binds the session to the identity it returns', async () => {
    const server = await listen({ authenticate: async (hello) => byPassword(hello) });
    const sessionP = once(server, 'session', within5s());
    const client = connect({ port: server.address().port, host: '127.0.0.1', credentials: 'alice:secret' });
    try {
      const [session] = (await sessionP) as [Session];
      assert.equal(session.identity, 'alice');
    } finally {
      await closeAll(server, client);
    }
  });

  test("a resume token works only for its own identity: another client's token gets a new session", async () => {
    const server = await listen({ authenticate: byPassword });
    const sessionP = once(server, 'session', within5s());
    const alice = connect({ port: server.address().port, host: '127.0.0.1', credentials: 'alice:secret' });
    try {
      const [session] = (await sessionP) as [Session];
      await once(alice, 'connected', within5s());
      const token = Buffer.from(session.token, 'hex');
      assert.equal(token.length, 16, 'tokens are 128 bits');

      const asBob = (await rawHello(server.address().port, token, 'bob:secret')) as WelcomeFrame;
      assert.equal(asBob.type, 'welcome');
      assert.equal(asBob.resumed, false);
      assert.notEqual(asBob.sessionId, session.id);
      assert.notDeepEqual(asBob.token, token);

      const wrong = Buffer.from(token);
      wrong[0]! ^= 1;
      const guessed = (await rawHello(server.address().port, wrong, 'alice:secret')) as WelcomeFrame;
      assert.equal(guessed.resumed, false);
      assert.notEqual(guessed.sessionId, session.id);
      assert.equal(session.state, 'open', "alice's session was not touched");
    } finally {
      await closeAll(server, alice);
    }
  });
});
