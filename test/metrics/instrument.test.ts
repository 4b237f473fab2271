// instrument(): the Prometheus registry of a server after real sessions on loopback — one that talks and
// says goodbye, one that hangs (SIGSTOP: heartbeat-timeout, peer-unresponsive), one killed, and a
// connection that speaks HTTP (rejected, GOAWAY protocol-error).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Registry } from 'prom-client';
import { connect } from '../../src/client/client.js';
import { instrument, probeRtt } from '../../src/metrics/index.js';
import { createServer, type HeartbeatServer } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import type { DeathReport } from '../../src/session/death.js';
import { cliArgv, EventReader } from '../helpers/cli.js';

/** The value of one series in Prometheus text, or undefined. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function nextSession(server: HeartbeatServer): Promise<Session> {
  return once(server, 'session', { signal: AbortSignal.timeout(10_000) }).then(([s]) => s as Session);
}

function deathOf(session: Session, ms: number): Promise<DeathReport> {
  return once(session, 'dead', { signal: AbortSignal.timeout(ms) }).then(([r]) => r as DeathReport);
}

describe('instrument(server)', { concurrency: false }, () => {
  let server: HeartbeatServer;
  let registry: Registry;
  let port: number;
  const children: EventReader[] = [];

  before(async () => {
    server = createServer({ interval: 200, timeout: 1000 });
    registry = instrument(server);
    probeRtt(server, 200);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = server.address().port;
  });
  after(async () => {
    for (const c of children) await c.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('counts a session, its messages and bytes each way, RTTs, and its goodbye', async () => {
    const sessionP = nextSession(server);
    const client = connect({ host: '127.0.0.1', port, reconnect: false });
    const session = await sessionP;
    session.on('message', (m) => session.send(m));
    let echoes = 0;
    client.on('message', () => echoes++);
    for (let i = 0; i < 3; i++) client.send('hello'); // 5 bytes each
    await once(session, 'rtt', { signal: AbortSignal.timeout(5000) });
    while (echoes < 3) await once(client, 'message', { signal: AbortSignal.timeout(5000) });
    let text = await registry.metrics();
    assert.equal(value(text, 'lifeline_sessions{state="open"}'), 1);
    assert.equal(value(text, 'lifeline_sessions_established_total'), 1);
    assert.equal(value(text, 'lifeline_messages_total{direction="in"}'), 3);
    assert.equal(value(text, 'lifeline_messages_total{direction="out"}'), 3);
    assert.equal(value(text, 'lifeline_bytes_total{direction="in"}'), 15);
    assert.ok(value(text, 'lifeline_rtt_seconds_count')! >= 1);
    assert.ok(value(text, 'lifeline_rtt_seconds_sum')! < 1, 'RTT in seconds on loopback');
    assert.ok(value(text, 'lifeline_pings_total')! >= 1);
    assert.equal(value(text, 'lifeline_pongs_ignored_total'), 0);
    assert.equal(value(text, 'lifeline_detached_buffered_bytes'), 0);
    const closed = once(session, 'close', { signal: AbortSignal.timeout(5000) });
    client.close();
    await closed;
    text = await registry.metrics();
    assert.equal(value(text, 'lifeline_sessions{state="open"}'), 0);
    assert.equal(value(text, 'lifeline_goaways_total{code="normal",sender="peer"}'), 1);
    // Counters do not go down when the session is forgotten.
    assert.equal(value(text, 'lifeline_messages_total{direction="in"}'), 3);
    assert.equal(value(text, 'lifeline_bytes_total{direction="out"}'), 15);
  });

  test('counts a hung client as heartbeat-timeout / peer-unresponsive and a killed one as closed or reset', async () => {
    const start = async (): Promise<[EventReader, Session]> => {
      const sessionP = nextSession(server);
      const [cmd, ...rest] = cliArgv(['connect', `127.0.0.1:${port}`, '--json', '--no-reconnect']);
      const reader = new EventReader(spawn(cmd!, rest, { stdio: ['pipe', 'pipe', 'pipe'] }));
      children.push(reader);
      const session = await sessionP;
      await reader.waitFor((e) => e.event === 'connected', 10_000);
      return [reader, session];
    };
    const [hung, hungSession] = await start();
    const [killed, killedSession] = await start();
    const hungDeath = deathOf(hungSession, 5000);
    hung.child.kill('SIGSTOP');
    const report = await hungDeath;
    assert.equal(report.cause, 'heartbeat-timeout');
    const killedDeath = deathOf(killedSession, 5000);
    killed.child.kill('SIGKILL');
    // FIN (closed) or, if a PING crossed it, RST (reset): the kernel answered for the dead process.
    const killedCause = (await killedDeath).cause;
    assert.ok(killedCause === 'closed' || killedCause === 'reset', killedCause);
    const text = await registry.metrics();
    assert.equal(
      value(text, 'lifeline_deaths_total{cause="heartbeat-timeout",diagnosis="peer-unresponsive"}'),
      1,
    );
    assert.equal(value(text, `lifeline_deaths_total{cause="${killedCause}",diagnosis="none"}`), 1);
    assert.equal(
      value(text, 'lifeline_sessions{state="detached"}'),
      2,
      'both wait for their client to resume',
    );
  });

  test('counts a connection that speaks HTTP as rejected, with a GOAWAY protocol-error sent', async () => {
    const rejected = once(server, 'rejected', { signal: AbortSignal.timeout(5000) });
    const socket = net.connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    socket.on('error', () => {});
    socket.resume();
    await rejected;
    socket.destroy();
    const text = await registry.metrics();
    assert.equal(value(text, 'lifeline_rejected_connections_total{cause="protocol-error"}'), 1);
    assert.equal(value(text, 'lifeline_goaways_total{code="protocol-error",sender="server"}'), 1);
  });

  test('a second server can share the registry; instrumenting twice counts once', async () => {
    const other = createServer();
    assert.equal(instrument(other, { registry }), registry);
    assert.equal(instrument(server, { registry }), registry);
    const text = await registry.metrics();
    assert.equal(text.match(/^# TYPE lifeline_rtt_seconds histogram$/gm)?.length, 1);
  });
});
