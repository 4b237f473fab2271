// The conventions Node users expect, on real loopback sockets: `await client.ready`, AbortSignal on connect
// and close, `for await` over a session's messages, codecs with typed messages, the client's connectivity
// state, a fresh RTT on demand, diagnostics_channel events and NODE_DEBUG=lifeline.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { afterEach, describe, test } from 'node:test';
import { connect } from '../../src/client/client.js';
import type { LifelineError } from '../../src/errors.js';
import type { Session } from '../../src/server/session.js';
import type { ClientState } from '../../src/session/endpoint.js';
import { dial, HOST, next, Resources, startServer, until } from '../helpers/peer.js';

const res = new Resources();
afterEach(() => res.release());

describe('promises and signals', () => {
  test('await client.ready gives the first connection; a refused one rejects with its error', async () => {
    const server = res.server(await startServer());
    const client = res.client(dial(server.address().port));
    const info = await client.ready;
    assert.equal(info.sessionId, client.sessionId);
    assert.equal(await client.ready, info, 'the same promise afterwards');
    const port = server.address().port;
    await res.release();
    const refused = res.client(dial(port));
    await assert.rejects(refused.ready, (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
  });

  test('aborting the signal closes the client; ready rejects with its reason', async () => {
    const server = res.server(await startServer());
    const controller = new AbortController();
    const client = res.client(dial(server.address().port, { signal: controller.signal }));
    await client.ready;
    const closed = next(client, 'close');
    controller.abort(new Error('shutting down'));
    await closed;
    assert.equal(client.state, 'closed');
    const early = new AbortController();
    early.abort(new Error('never mind'));
    const never = res.client(dial(server.address().port, { signal: early.signal }));
    await assert.rejects(never.ready, /never mind/);
  });

  test('close() resolves once the client has closed; its signal cuts the wait for the server short', async () => {
    const server = res.server(await startServer());
    const client = res.client(dial(server.address().port));
    await client.ready;
    const events: string[] = [];
    client.on('close', () => events.push('close'));
    await client.close();
    assert.deepEqual(events, ['close']);
    const other = res.client(dial(server.address().port));
    await other.ready;
    const controller = new AbortController();
    controller.abort();
    await other.close({ signal: controller.signal });
    assert.equal(other.state, 'closed');
  });
});

describe('iteration, codecs and state', () => {
  test('for await over a session yields its messages in order and ends with the session', async () => {
    const server = res.server(await startServer());
    const seen = new Promise<string[]>((resolve) =>
      server.on('session', async (session) => {
        const got: string[] = [];
        for await (const message of session) got.push(message.toString());
        resolve(got);
      }),
    );
    const client = res.client(dial(server.address().port));
    await client.ready;
    for (const m of ['a', 'b', 'c']) client.send(m);
    await client.close();
    assert.deepEqual(await seen, ['a', 'b', 'c']);
  });

  test("codec 'json' carries typed values both ways; a message that does not decode ends the session, it throws nowhere", async () => {
    type Msg = { n: number; text: string };
    const server = res.server(await startServer({ codec: 'json' }));
    server.on('session', (s: Session<unknown>) => s.on('message', (m) => s.send({ echo: m })));
    const client = res.client(
      connect<{ echo: Msg }>({ host: HOST, port: server.address().port, codec: 'json', reconnect: false }),
    );
    client.on('error', () => {});
    await client.ready;
    const [reply] = await new Promise<[{ echo: Msg }]>((resolve) => {
      client.once('message', (m) => resolve([m]));
      client.send({ echo: { n: 1, text: 'hi' } });
    });
    assert.deepEqual(reply, { echo: { echo: { n: 1, text: 'hi' } } });
    const raw = res.client(dial(server.address().port));
    await raw.ready;
    const ended = next(raw, 'close');
    raw.send('{not json');
    await ended;
    assert.equal(raw.lastEnd?.goaway, 'protocol-error');
    assert.match(raw.lastEnd?.detail ?? '', /does not decode/);
  });

  test("a client reports its connectivity: 'state' events from connecting to closed", async () => {
    const server = res.server(await startServer());
    const states: ClientState[] = [];
    const client = res.client(dial(server.address().port));
    client.on('state', (s) => states.push(s));
    await client.ready;
    await client.close();
    assert.deepEqual(states, ['connecting', 'handshaking', 'open', 'closing', 'closed']);
  });

  test('measureRtt() gives a fresh round-trip time; without a connection it rejects', async () => {
    const server = res.server(await startServer({ interval: 60_000, timeout: 180_000 }));
    const client = res.client(dial(server.address().port));
    await client.ready;
    const ms = await client.measureRtt();
    assert.ok(ms > 0 && ms < 1000, `rtt ${ms} ms`);
    await client.close();
    await assert.rejects(client.measureRtt(), (err: LifelineError) => err.code === 'LIFELINE_NOT_CONNECTED');
  });
});

describe('observability', () => {
  test('diagnostics_channel publishes connect, handshake, death and resume', async () => {
    const seen: string[] = [];
    const listeners = ['connect', 'handshake', 'death', 'resume'].map((name) => {
      const fn = () => seen.push(name);
      diagnostics.subscribe(`lifeline:${name}`, fn);
      return () => diagnostics.unsubscribe(`lifeline:${name}`, fn);
    });
    try {
      const server = res.server(await startServer({ interval: 100, timeout: 500 }));
      const client = res.client(
        dial(server.address().port, { reconnect: { initialDelay: 10, maxDelay: 20 } }),
      );
      await client.ready;
      client.socket?.destroy();
      await next(client, 'resumed');
      await until(client, 'rtt', () => seen.filter((s) => s === 'resume').length === 2);
      for (const name of ['connect', 'handshake', 'death', 'resume']) assert.ok(seen.includes(name), name);
    } finally {
      for (const off of listeners) off();
    }
  });

  test('NODE_DEBUG=lifeline traces state changes', () => {
    const script = `
      const { createServer, connect } = await import(${JSON.stringify(new URL('../../src/index.ts', import.meta.url).pathname)});
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const client = connect({ host: '127.0.0.1', port: server.address().port, reconnect: false });
        client.on('connected', () => client.close().then(() => server.close()));
      });`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, NODE_DEBUG: 'lifeline' },
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.match(r.stderr, /LIFELINE \d+: client .*: handshaking -> open/);
    assert.match(
      r.stderr,
      /LIFELINE \d+: session \w+: open -> closed|LIFELINE \d+: session \w+: closing -> closed/,
    );
  });
});
