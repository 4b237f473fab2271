// A reader that stops while the server streams to it (SIGSTOP of a real client process, on loopback): its
// receive window fills and closes, the server's data waits unacknowledged, yet the client's kernel keeps
// answering the zero-window probes. The diagnosis reads the age of the last ACK and says what happened:
// the peer's machine is up, its program is not reading — peer-unresponsive, not network.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import type { Session } from '../../src/server/session.js';
import type { DeathReport } from '../../src/session/death.js';
import { cliArgv, EventReader } from '../helpers/cli.js';
import { next, startServer, stopServer } from '../helpers/peer.js';

const TIMEOUT = 1000;

test('a reader stopped while the server streams to it is declared heartbeat-timeout/peer-unresponsive', {
  timeout: 30_000,
}, async () => {
  const server = await startServer({ interval: 200, timeout: TIMEOUT, maxBuffered: 4 << 20 });
  const [command, ...args] = cliArgv([
    'connect',
    `127.0.0.1:${server.address().port}`,
    '--json',
    '--no-reconnect',
  ]);
  const child = spawn(command!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const reader = new EventReader(child);
  try {
    const [session] = await next<[Session]>(server, 'session', 10_000);
    const chunk = Buffer.alloc(16 * 1024, 120);
    let streaming = true;
    const pump = () => {
      while (streaming && session.state === 'open' && session.send(chunk));
    };
    session.on('drain', pump);
    pump();
    await reader.waitFor((e) => e.event === 'message', 5000);
    const dead = next<[DeathReport]>(session, 'dead', TIMEOUT + 5000);
    const stoppedAt = performance.now();
    child.kill('SIGSTOP');
    const [report] = await dead;
    streaming = false;
    const latency = performance.now() - stoppedAt;
    assert.equal(report.cause, 'heartbeat-timeout');
    assert.equal(report.diagnosis, 'peer-unresponsive', report.detail);
    assert.ok(report.silentMs >= TIMEOUT, `silent ${report.silentMs} ms`);
    assert.ok(latency < TIMEOUT + 250 + 500, `declared ${Math.round(latency)} ms after the stop`);
  } finally {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await reader.stop().catch(() => {});
    await stopServer(server);
  }
});
