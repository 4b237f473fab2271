// The client's side of the handshake and of a resume (issue 10's cases, on real loopback sockets): what a
// server dictates is checked before it is applied, and what the application sends from 'drain',
// 'resumed' or 'connected' follows the replay of what the server has not received.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { afterEach, describe, test } from 'node:test';
import { acceptWelcome } from '../../src/client/client.js';
import type { LifelineError } from '../../src/errors.js';
import { encodeAck, encodeData, encodePreface, encodeWindow } from '../../src/protocol/encoder.js';
import { largestInterval, MAX_DURATION } from '../../src/session/options.js';
import { dial, next, RawServer, Resources, startServer, TcpProxy, until, welcome } from '../helpers/peer.js';

const res = new Resources();
afterEach(() => res.release());

describe('a WELCOME is checked before it is applied', () => {
  test('values beyond what Node timers hold are brought within them: no timer overflow, no busy idle connection', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const raw = res.other(await RawServer.start());
      const client = res.client(dial(raw.port));
      const peer = await raw.peer();
      await peer.frame((f) => f.type === 'hello');
      peer.write(encodePreface(), welcome({ interval: 0xffff_ffff, timeout: 0xffff_ffff }));
      const [info] = await next<[{ interval: number; timeout: number }]>(client, 'connected');
      assert.deepEqual([info.interval, info.timeout], [largestInterval(MAX_DURATION), MAX_DURATION]);
      assert.deepEqual([client.interval, client.timeout], [info.interval, info.timeout]);
      // A timer that overflowed would fire every millisecond, each time with a TimeoutOverflowWarning.
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        warnings.filter((w) => w.startsWith('TimeoutOverflowWarning')),
        [],
      );
    } finally {
      process.off('warning', onWarning);
    }
  });

  test('an interval under 10 ms (a PING storm) is refused once: GOAWAY protocol-error, LIFELINE_BAD_WELCOME, no retry', async () => {
    const raw = res.other(await RawServer.start());
    const client = res.client(dial(raw.port, { reconnect: { initialDelay: 10, maxDelay: 20 } }));
    const peer = await raw.peer();
    await peer.frame((f) => f.type === 'hello');
    const closed = next(client, 'close');
    peer.write(encodePreface(), welcome({ interval: 0, timeout: 500 }));
    const goaway = await peer.goaway();
    assert.equal(goaway.name, 'protocol-error');
    await closed;
    assert.equal((client.errors[0] as LifelineError | undefined)?.code, 'LIFELINE_BAD_WELCOME');
    assert.equal(raw.peers.length, 1, 'no second attempt');
  });

  test('DATA, ACK or WINDOW before the WELCOME is a protocol-error: nothing is delivered before the session exists', async () => {
    for (const early of [encodeData(1, Buffer.alloc(0)), encodeAck(1), encodeWindow(1 << 20)]) {
      const raw = res.other(await RawServer.start());
      const client = res.client(dial(raw.port));
      const messages: Buffer[] = [];
      client.on('message', (m) => messages.push(m));
      const peer = await raw.peer();
      await peer.frame((f) => f.type === 'hello');
      peer.write(encodePreface(), early, welcome());
      const goaway = await peer.goaway();
      assert.equal(goaway.name, 'protocol-error');
      assert.match(goaway.reason, /before the handshake completed/);
      assert.deepEqual(messages, []);
    }
  });

  test('the rule, on its own: timeouts too short are refused, pairs without room for an answer get a shorter interval', () => {
    assert.match(String(acceptWelcome({ interval: 5, timeout: 1000 })), /below the minimum of 10 ms/);
    assert.match(
      String(acceptWelcome({ interval: 10, timeout: 50 })),
      /timeout 50 ms is below the minimum of 110 ms/,
    );
    assert.deepEqual(acceptWelcome({ interval: 1000, timeout: 1000 }), { interval: 666, timeout: 1000 });
    assert.deepEqual(acceptWelcome({ interval: 1000, timeout: 3000 }), { interval: 1000, timeout: 3000 });
    assert.deepEqual(acceptWelcome({ interval: 150, timeout: 200 }), { interval: 100, timeout: 200 });
  });
});

describe('a resume replays before anything new', () => {
  test("a 'drain' listener's send() during a resume follows the replay: every message arrives once and in order", async () => {
    const server = res.server(await startServer({ interval: 100, timeout: 1000 }));
    const got: number[] = [];
    const arrivals = new EventEmitter();
    server.on('session', (s) =>
      s.on('message', (m) => {
        got.push(m.readUInt32BE(0));
        arrivals.emit('message');
      }),
    );
    const proxy = res.other(await TcpProxy.start(server.address().port));
    const client = res.client(
      dial(proxy.port, { reconnect: { initialDelay: 10, maxDelay: 10 }, maxBuffered: 1 << 20 }),
    );
    await next(client, 'connected');
    let sent = 0;
    const pump = () => {
      while (sent < 40) if (!client.send(u32(++sent))) return;
    };
    client.on('drain', pump); // the documented backpressure pattern
    // Three messages arrive (too few for the server to acknowledge them yet); then the replay buffer fills
    // behind a link that moves nothing. The resume's WELCOME acknowledges the three, which frees enough
    // for 'drain': its send() must not go out before the replay of 4, 5, ...
    for (let i = 0; i < 3; i++) client.send(u32(++sent));
    await until(arrivals, 'message', () => got.length === 3);
    proxy.freeze();
    pump();
    assert.ok(sent < 40, 'send() asked to wait');
    const resumed = next(client, 'resumed', 3000);
    proxy.cut();
    await resumed;
    await until(arrivals, 'message', () => got.length === 40, 5000);
    assert.deepEqual(
      got,
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    assert.deepEqual(client.errors, []);
  });
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(64 * 1024);
  b.writeUInt32BE(n, 0);
  return b;
}
