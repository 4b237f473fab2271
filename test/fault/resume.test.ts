// Resume against real breaks: every message is delivered exactly once and in order, in both directions,
// across partitions long enough to be detected (network namespaces + nftables) and across a hundred
// connections cut in a row (a loopback proxy that destroys them).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { connect, type HeartbeatClient } from '../../src/client/client.js';
import { createServer } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import { MemorySessionStore } from '../../src/server/store.js';
import { cliArgv, EventReader } from '../helpers/cli.js';
import { createNetns, needNetns } from '../helpers/netns.js';
import { TcpProxy } from '../helpers/peer.js';

const INTERVAL = 200;
const TIMEOUT = 1000;

/** Sends "m-0", "m-1", ... every `everyMs` until stopped; returns how many were sent. */
function stream(client: HeartbeatClient, everyMs: number): { stop(): number } {
  let n = 0;
  const timer = setInterval(() => client.send(`m-${n++}`), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return n;
    },
  };
}

function expected(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `m-${i}`);
}

/**
 * Two servers A and B sharing one store, behind a front door that sends every new connection to whichever
 * server it targets (A at first), and a reconnecting client through the door. `stop()` closes everything.
 */
async function startFleet(
  onSessionA: (s: Session) => void = () => {},
  onSessionB: (s: Session) => void = () => {},
) {
  const store = new MemorySessionStore();
  const a = createServer({ interval: 100, timeout: 500, store }, onSessionA);
  const b = createServer({ interval: 100, timeout: 500, store }, onSessionB);
  for (const s of [a, b]) {
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
  }
  const door = await TcpProxy.start(a.address().port);
  const client = connect({
    host: '127.0.0.1',
    port: door.port,
    reconnect: { initialDelay: 50, maxDelay: 100 },
  });
  const stop = async () => {
    client.close();
    door.close();
    await Promise.all([a, b].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  };
  return { store, a, b, door, client, stop };
}

/** Resolves when `pred()` holds, checking on every event of `emitter` named `event`; bounded. */
function until(emitter: NodeJS.EventEmitter, event: string, pred: () => boolean, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (pred()) return resolve();
    const timer = setTimeout(() => {
      emitter.off(event, check);
      reject(new Error(`condition not met within ${ms} ms`));
    }, ms);
    function check() {
      if (!pred()) return;
      clearTimeout(timer);
      emitter.off(event, check);
      resolve();
    }
    emitter.on(event, check);
  });
}

describe('resume', { concurrency: false }, () => {
  test('a client streaming through two detected partitions gets every echo exactly once, in order', {
    timeout: 60_000,
  }, async (t) => {
    if (!needNetns(t)) return;
    const ns = createNetns();
    let server: EventReader | undefined;
    let client: HeartbeatClient | undefined;
    try {
      server = new EventReader(
        ns.spawn(
          cliArgv([
            'serve',
            '--host',
            ns.peerIp,
            '--port',
            '0',
            '--echo',
            '--json',
            '--interval',
            `${INTERVAL}`,
            '--timeout',
            `${TIMEOUT}`,
          ]),
        ),
      );
      const listening = await server.waitFor((e) => e.event === 'listening', 10_000);
      client = connect({
        host: ns.peerIp,
        port: Number(listening.port),
        connectTimeout: 1500,
        reconnect: { initialDelay: 100, maxDelay: 500 },
      });
      const echoes: string[] = [];
      const events: string[] = [];
      client.on('message', (m) => echoes.push(m.toString()));
      for (const e of ['dead', 'reconnecting', 'connected', 'resumed', 'unconfirmed'] as const)
        client.on(e, () => events.push(e));
      await once(client, 'connected', { signal: AbortSignal.timeout(10_000) });
      const sender = stream(client, 20);

      for (let round = 1; round <= 2; round++) {
        await until(client, 'message', () => echoes.length >= 20 * round, 10_000);
        const resumedBefore = events.filter((e) => e === 'resumed').length;
        ns.partition();
        await once(client, 'dead', { signal: AbortSignal.timeout(TIMEOUT + 2000) });
        // Wait for the server to have noticed too, so that the session really is detached on both ends.
        await server.waitFor((e) => e.event === 'dead', TIMEOUT + 2000, 0);
        ns.heal();
        await until(
          client,
          'resumed',
          () => events.filter((e) => e === 'resumed').length > resumedBefore,
          20_000,
        );
      }
      const sent = sender.stop();
      await until(client, 'message', () => echoes.length >= sent, 10_000);
      assert.deepEqual(echoes, expected(sent), 'echoes: lost, duplicated or reordered');
      // The server echoes a message and prints its line on a pipe: the line may reach us after the echo.
      await server.waitFor((e) => e.event === 'message' && e.text === `m-${sent - 1}`, 5000, 0);
      const atServer = server.events.filter((e) => e.event === 'message').map((e) => e.text);
      assert.deepEqual(atServer, expected(sent), 'server received: lost, duplicated or reordered');
      assert.equal(events.filter((e) => e === 'resumed').length, 2);
      assert.ok(!events.includes('unconfirmed'));
      assert.equal(server.events.filter((e) => e.event === 'resumed').length, 2);
    } finally {
      client?.close();
      await server?.stop();
      ns.destroy();
    }
  });

  test('a hundred connections cut in a row lose nothing and duplicate nothing, both ways', {
    timeout: 60_000,
  }, async () => {
    const received: string[] = [];
    let sessionRef: Session | undefined;
    const server = createServer({ interval: INTERVAL, timeout: TIMEOUT }, (session) => {
      sessionRef = session;
      session.on('message', (m) => {
        received.push(m.toString());
        session.send(m); // echo
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    // A proxy whose live connections we cut at will: each cut is a reset on both sides.
    const proxy = await TcpProxy.start(server.address().port);
    const client = connect({
      host: '127.0.0.1',
      port: proxy.port,
      reconnect: { initialDelay: 1, maxDelay: 5 },
    });
    const echoes: string[] = [];
    client.on('message', (m) => echoes.push(m.toString()));
    let resumed = 0;
    client.on('resumed', () => resumed++);
    let unconfirmed = 0;
    client.on('unconfirmed', (m) => {
      unconfirmed += m.length;
    });
    try {
      await once(client, 'connected', { signal: AbortSignal.timeout(5000) });
      let sent = 0;
      for (let cut = 1; cut <= 100; cut++) {
        for (let i = 0; i < 10; i++) client.send(`m-${sent++}`);
        // Cut while those messages and their echoes are in flight.
        await new Promise((resolve) => setImmediate(resolve));
        proxy.cut();
        await until(client, 'resumed', () => resumed >= cut, 5000);
      }
      await until(client, 'message', () => echoes.length >= sent, 10_000);
      assert.deepEqual(received, expected(sent));
      assert.deepEqual(echoes, expected(sent));
      assert.equal(unconfirmed, 0);
      assert.equal(sessionRef?.resumes, 100);
      assert.equal(server.sessions.size, 1, 'every break resumed the same session');
    } finally {
      client.close();
      proxy.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('a session recorded in a shared store resumes on another server and back, nothing lost or duplicated', {
    timeout: 30_000,
  }, async () => {
    const atA: string[] = [];
    const atB: string[] = [];
    const { store, a, b, door, client, stop } = await startFleet(
      (s) => s.on('message', (m) => atA.push(m.toString())),
      (s) => {
        s.on('message', (m) => atB.push(m.toString()));
        s.on('resumed', () => s.send('from b'));
      },
    );
    const got: string[] = [];
    client.on('message', (m) => got.push(m.toString()));
    const errors: Error[] = [];
    const unconfirmed: unknown[] = [];
    client.on('error', (err) => errors.push(err));
    client.on('unconfirmed', (m) => unconfirmed.push(...m));
    try {
      await once(client, 'connected', { signal: AbortSignal.timeout(5000) });
      for (let i = 0; i < 5; i++) client.send(`m-${i}`);
      await until(client, 'rtt', () => atA.length === 5 && client.buffered === 0, 5000);
      // Server A loses the client; once it has recorded the session, the door points at B.
      const [sessionA] = [...a.sessions.values()];
      const detached = once(sessionA!, 'dead', { signal: AbortSignal.timeout(5000) });
      door.cut();
      await detached;
      assert.equal(store.size, 1, 'A recorded the detached session');
      door.targetPort = b.address().port;
      for (let i = 5; i < 10; i++) client.send(`m-${i}`);
      const [, resumed] = await Promise.all([
        once(client, 'resumed', { signal: AbortSignal.timeout(5000) }),
        until(client, 'message', () => got.length === 1, 5000),
      ]);
      assert.equal(resumed, undefined);
      await until(client, 'rtt', () => atB.length === 5 && client.buffered === 0, 5000);
      assert.deepEqual(atA, expected(5));
      assert.deepEqual(atB, expected(10).slice(5));
      assert.deepEqual(got, ['from b']);
      assert.equal(store.size, 0, 'B claimed the record');
      assert.equal([...b.sessions.values()][0]?.id, sessionA!.id, 'the same session continued on B');
      // Back to A, within the resume window: A still holds its stale copy of the session (detached, at
      // m-4), while the session went on at B. A must continue from B's newer record, not from its copy.
      const [sessionB] = [...b.sessions.values()];
      const detachedB = once(sessionB!, 'dead', { signal: AbortSignal.timeout(5000) });
      door.cut();
      await detachedB;
      assert.equal(store.size, 1, 'B recorded the detached session');
      const staleClosed = once(sessionA!, 'close', { signal: AbortSignal.timeout(5000) });
      door.targetPort = a.address().port;
      for (let i = 10; i < 15; i++) client.send(`m-${i}`);
      await once(client, 'resumed', { signal: AbortSignal.timeout(5000) });
      await staleClosed;
      await until(client, 'rtt', () => atA.length === 10 && client.buffered === 0, 5000);
      assert.deepEqual(
        atA,
        [...expected(5), ...expected(15).slice(10)],
        'A got m-10..m-14 once, after m-0..m-4',
      );
      assert.deepEqual(atB, expected(10).slice(5));
      assert.deepEqual(errors, []);
      assert.deepEqual(unconfirmed, []);
      assert.equal([...a.sessions.values()][0]?.id, sessionA!.id, 'still the same session');
      assert.equal(store.size, 0, "A claimed B's record");
    } finally {
      await stop();
    }
  });

  test('server.close() with a shared store hands its sessions over: the client resumes on another server, nothing lost or duplicated', {
    timeout: 30_000,
  }, async () => {
    const atA: string[] = [];
    const atB: string[] = [];
    const { store, a, b, door, client, stop } = await startFleet(
      (s) => {
        s.on('message', (m) => atA.push(m.toString()));
        s.send('from a'); // sent just before the shutdown: replayed by B if the client has not acknowledged it
      },
      (s) => s.on('message', (m) => atB.push(m.toString())),
    );
    const got: string[] = [];
    const unconfirmed: unknown[] = [];
    const serverUnconfirmed: unknown[] = [];
    client.on('message', (m) => got.push(m.toString()));
    client.on('unconfirmed', (m) => unconfirmed.push(...m));
    try {
      await once(client, 'connected', { signal: AbortSignal.timeout(5000) });
      const [sessionA] = [...a.sessions.values()];
      sessionA!.on('unconfirmed', (m) => serverUnconfirmed.push(...m));
      for (let i = 0; i < 5; i++) client.send(`m-${i}`);
      // A restarts: new connections go to B from now on, and A closes with messages in flight both ways.
      door.targetPort = b.address().port;
      const aClosed = new Promise<void>((resolve) => a.close(() => resolve()));
      for (let i = 5; i < 10; i++) client.send(`m-${i}`);
      await once(client, 'resumed', { signal: AbortSignal.timeout(5000) });
      await aClosed;
      await until(client, 'rtt', () => atA.length + atB.length === 10 && client.buffered === 0, 5000);
      assert.deepEqual(
        [...atA, ...atB],
        expected(10),
        'every message once, in order, across the two servers',
      );
      assert.deepEqual(got, ['from a']);
      assert.deepEqual(unconfirmed, []);
      assert.deepEqual(serverUnconfirmed, [], 'A reports nothing unconfirmed: B took the session over');
      assert.equal([...b.sessions.values()][0]?.id, sessionA!.id, 'the same session continued on B');
      assert.equal(store.size, 0, 'B claimed the record');
    } finally {
      await stop();
    }
  });

  test("closing a server's stale copy of a session that moved on leaves the other server's record alone", {
    timeout: 30_000,
  }, async () => {
    const { store, a, b, door, client, stop } = await startFleet();
    const errors: Error[] = [];
    client.on('error', (err) => errors.push(err));
    try {
      await once(client, 'connected', { signal: AbortSignal.timeout(5000) });
      client.send('m-0');
      await until(client, 'rtt', () => client.buffered === 0, 5000);
      // To B and detached there, with a record newer than A's copy (B received m-1).
      const [sessionA] = [...a.sessions.values()];
      let dead = once(sessionA!, 'dead', { signal: AbortSignal.timeout(5000) });
      door.cut();
      await dead;
      door.targetPort = b.address().port;
      client.send('m-1');
      await once(client, 'resumed', { signal: AbortSignal.timeout(5000) });
      await until(client, 'rtt', () => client.buffered === 0, 5000);
      const [sessionB] = [...b.sessions.values()];
      dead = once(sessionB!, 'dead', { signal: AbortSignal.timeout(5000) });
      door.cut();
      await dead;
      assert.equal(store.size, 1, "B's record");
      // A's application closes its stale copy: B's record must survive it.
      sessionA!.close();
      assert.equal(store.size, 1, "A's close() left B's newer record alone");
      const resumed = once(client, 'resumed', { signal: AbortSignal.timeout(5000) });
      await resumed;
      assert.deepEqual(errors, []);
    } finally {
      await stop();
    }
  });
});
