// lifeline serve for people (plain lines when stdout is not a terminal; the table it redraws on one), and
// connect --no-heartbeat, whose kernel death is reported as keepalive-timeout.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { renderTable } from '../../src/cli/table.js';
import type { SessionView } from '../../src/metrics/feed.js';
import { DATA_FRAME_COST } from '../../src/protocol/constants.js';
import { encodeData } from '../../src/protocol/encoder.js';
import { cliArgv, EventReader, runCli } from '../helpers/cli.js';
import { createNetns, needNetns } from '../helpers/netns.js';
import { RawPeer } from '../helpers/peer.js';
import { startCli } from './helpers.js';

describe('lifeline serve for people', () => {
  const children: Array<{ stop(): unknown }> = [];
  after(async () => {
    for (const c of children) await c.stop();
  });

  test('prints sessions, messages, and a death with its cause and diagnosis', async () => {
    const serve = startCli([
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--interval',
      '200ms',
      '--timeout',
      '1s',
    ]);
    children.push(serve);
    // Whole lines only: "listening on 127.0.0.1:4" and "1234" may come in two writes.
    const [, port] = await serve.stdout.waitLine(/^listening on 127\.0\.0\.1:(\d+)$/, 10_000);
    await serve.stdout.waitLine(/^heartbeat: interval 200\.0 ms, timeout 1\.00 s, deadline detector$/, 5000);
    const client = runCli(['connect', `127.0.0.1:${port}`, '--json', '--no-reconnect']);
    children.push(client);
    const connected = await client.waitFor((e) => e.event === 'connected', 10_000);
    const id = String(connected.id);
    await serve.stdout.waitLine(new RegExp(`^\\[${id}\\] session from 127\\.0\\.0\\.1:\\d+$`), 5000);
    client.child.stdin!.write('hello there\n');
    await serve.stdout.waitLine(new RegExp(`^\\[${id}\\] hello there$`), 5000);
    client.child.kill('SIGSTOP');
    await serve.stdout.waitLine(
      new RegExp(
        `^\\[${id}\\] DEAD heartbeat-timeout \\(peer-unresponsive: .+\\) after 1\\.\\d\\d s of silence`,
      ),
      5000,
    );
  });

  test('a keepalive flag given alone is accepted, as lifeline keepalive accepts it', async () => {
    const serve = startCli(['serve', '--host', '127.0.0.1', '--port', '0', '--keepalive-interval', '10s']);
    children.push(serve);
    await serve.stdout.waitLine(/^listening on 127\.0\.0\.1:\d+$/, 10_000);
    assert.equal(serve.stderr.text, '');
  });

  test('the live table shows RTT, last heard, the detector and messages', () => {
    const view: SessionView = {
      id: 'ab12cd34',
      remote: '127.0.0.1:5000',
      state: 'open',
      rttMs: 0.42,
      silentMs: 120,
      detector: { kind: 'deadline', leftMs: 2880 },
      interval: 1000,
      timeout: 3000,
      messagesIn: 7,
      messagesOut: 5,
      bytesIn: 70,
      bytesOut: 50,
      resumes: 0,
      ageMs: 10_000,
    };
    const lines = renderTable([view, { ...view, id: 'ffff0000', state: 'detached', detector: null }]);
    assert.match(lines[0]!, /^SESSION\s+REMOTE\s+RTT\s+LAST HEARD\s+DETECTOR\s+IN\s+OUT$/);
    assert.match(
      lines[1]!,
      /^ab12cd34\s+127\.0\.0\.1:5000\s+0\.42 ms\s+120\.0 ms ago\s+2\.88 s left\s+7\s+5$/,
    );
    assert.match(lines[2]!, /^ffff0000 .* waiting to resume/);
    const phi = renderTable([{ ...view, detector: { kind: 'phi', leftMs: 2000, phi: 1.234 } }]);
    assert.match(phi[1]!, /phi 1\.23, 2\.00 s left/);
  });
});

describe('connect --no-heartbeat', () => {
  test('relies on kernel keepalive alone and reports its verdict as keepalive-timeout', async (t) => {
    if (!needNetns(t)) return;
    const ns = createNetns();
    const served = await startServeOn(ns.hostIp);
    let client: EventReader | undefined;
    try {
      client = new EventReader(
        ns.spawn(
          cliArgv([
            'connect',
            `${ns.hostIp}:${served.port}`,
            '--json',
            '--no-reconnect',
            '--no-heartbeat',
            '--keepalive-idle',
            '1s',
            '--keepalive-interval',
            '1s',
            '--keepalive-count',
            '2',
          ]),
        ),
      );
      await client.waitFor((e) => e.event === 'connected', 10_000);
      const partitionedAt = performance.now();
      ns.partition();
      const dead = await client.waitFor((e) => e.event === 'dead', 15_000);
      assert.equal(dead.cause, 'keepalive-timeout');
      // idle 1 s + 2 probes x 1 s after the last segment (the server's last PING at most 1.5 intervals before).
      assert.ok(dead.receivedAt - partitionedAt < 3000 + 2000, `took ${dead.receivedAt - partitionedAt} ms`);
    } finally {
      await client?.stop();
      await served.reader.stop();
      ns.destroy();
    }
  });
});

/** serve --json on a given address, with a long heartbeat so that the server does not end it first. */
async function startServeOn(host: string) {
  const reader = runCli([
    'serve',
    '--host',
    host,
    '--port',
    '0',
    '--json',
    '--interval',
    '20s',
    '--timeout',
    '60s',
  ]);
  const listening = await reader.waitFor((e) => e.event === 'listening', 10_000);
  return { reader, port: Number(listening.port) };
}

describe('lifeline serve --echo under a fast sender', () => {
  const children: Array<{ stop(): unknown }> = [];
  after(async () => {
    for (const c of children) await c.stop();
  });

  test('a client that sends as fast as its window allows and never acknowledges the echoes is held back by its window; the server lives on and serves the next client', async () => {
    const serve = startCli(['serve', '--host', '127.0.0.1', '--port', '0', '--echo', '--interval', '1s']);
    children.push(serve);
    const [, port] = await serve.stdout.waitLine(/^listening on 127\.0\.0\.1:(\d+)$/, 10_000);
    const peer = await RawPeer.connect(Number(port));
    children.push({ stop: () => peer.destroy() });
    // A huge window of its own (the server may echo all it likes) and never an ACK: the server's replay
    // buffer fills with echoes, its send() returns false, and it must stop taking messages.
    const welcome = await peer.handshake({ window: 0xffff_ffff });
    const windowLimit = () =>
      Math.max(welcome.window, ...peer.frames.map((f) => (f.type === 'window' ? f.limit : 0)));
    const SIZE = 128 * 1024;
    let seq = 0;
    let sent = 0;
    // Send while the server's window allows, until it stops granting more for a second.
    for (let quiet = 0; quiet < 10 && sent < 64 * 1024 * 1024; ) {
      // Each DATA frame costs its bytes and DATA_FRAME_COST against the window.
      if (sent + SIZE + DATA_FRAME_COST <= windowLimit()) {
        peer.write(encodeData(++seq, Buffer.alloc(SIZE, seq & 0xff)));
        sent += SIZE + DATA_FRAME_COST;
        quiet = 0;
      } else {
        await new Promise((r) => setTimeout(r, 100));
        quiet++;
      }
    }
    // Its window bounds what it buffers: 4 MiB of echoes waiting for an ACK (8 MiB replay buffer, paused past
    // half) plus at most one window (4 MiB) of messages held while paused.
    assert.ok(sent <= 12 * 1024 * 1024, `the server let the client send ${sent} bytes without acknowledging`);
    assert.ok(sent >= 4 * 1024 * 1024, `only ${sent} bytes sent: the first window was not even used`);
    assert.equal(peer.frames.filter((f) => f.type === 'goaway').length, 0);
    // A peer that ignores the window gets GOAWAY flow-control-error, and nothing worse happens.
    peer.write(encodeData(++seq, Buffer.alloc(SIZE)));
    const goaway = await peer.goaway(5000);
    assert.equal(goaway.name, 'flow-control-error');
    const client = runCli(['connect', `127.0.0.1:${port}`, '--json', '--no-reconnect']);
    children.push(client);
    await client.waitFor((e) => e.event === 'connected', 10_000);
    client.child.stdin!.write('still here\n');
    const echoed = await client.waitFor((e) => e.event === 'message', 5000);
    assert.equal(echoed.text, 'still here');
    assert.equal(serve.child.exitCode, null, `serve exited: ${serve.stderr.text}`);
  });
});
