// The heartbeat against real failures: a partition (nftables drops everything), a hung client (SIGSTOP:
// its kernel still ACKs), a killed client, and 20 % packet loss. The server runs in this process on the
// root end of a veth cable; the client is the lifeline CLI in the peer namespace.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import { createServer, type HeartbeatServer } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import type { DeathReport } from '../../src/session/death.js';
import { cliArgv, EventReader } from '../helpers/cli.js';
import { createNetns, type Netns, needNetns } from '../helpers/netns.js';

const INTERVAL = 200;
const TIMEOUT = 1000;
/** Honest slack for detection: one timer tick, the setImmediate that lets pending input be read, jitter. */
const SLACK = 250;

/** Detection latencies measured by this file, printed at the end (the README quotes them). */
const measured: Record<string, number[]> = {};
function record(name: string, value: number): void {
  measured[name] ??= [];
  measured[name].push(Math.round(value));
}

interface Rig {
  ns: Netns;
  server: HeartbeatServer;
  port: number;
}

async function startRig(options: Parameters<typeof createServer<Buffer>>[0]): Promise<Rig> {
  const ns = createNetns();
  const server = createServer(options);
  server.listen(0, ns.hostIp);
  await once(server, 'listening');
  return { ns, server, port: server.address().port };
}

async function stopRig(rig: Rig | undefined): Promise<void> {
  if (!rig) return;
  rig.ns.destroy();
  await new Promise<void>((resolve) => rig.server.close(() => resolve()));
}

/** Starts a client in the namespace and waits until both ends have a session and a first RTT. */
async function connectClient(
  rig: Rig,
  extra: string[] = [],
): Promise<{ client: EventReader; session: Session }> {
  const sessionP = once(rig.server, 'session', { signal: AbortSignal.timeout(10_000) });
  const client = new EventReader(
    rig.ns.spawn(cliArgv(['connect', `${rig.ns.hostIp}:${rig.port}`, '--json', '--no-reconnect', ...extra])),
  );
  const [session] = (await sessionP) as [Session];
  await client.waitFor((e) => e.event === 'connected', 10_000);
  await client.waitFor((e) => e.event === 'rtt', 5000);
  return { client, session };
}

function deathOf(session: Session, ms: number): Promise<{ report: DeathReport; at: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`session not declared dead within ${ms} ms`)), ms);
    session.once('dead', (report) => {
      clearTimeout(timer);
      resolve({ report, at: performance.now() });
    });
  });
}

describe('heartbeat against real network faults', { concurrency: false }, () => {
  let rig: Rig | undefined;

  after(async () => {
    await stopRig(rig);
    const lines = Object.entries(measured).map(([k, v]) => {
      const s = [...v].sort((a, b) => a - b);
      return `# ${k}: n=${s.length} min=${s[0]} median=${s[Math.floor(s.length / 2)]} max=${s[s.length - 1]} ms`;
    });
    if (lines.length)
      console.log(
        `# detection latencies (interval ${INTERVAL} ms, timeout ${TIMEOUT} ms)\n${lines.join('\n')}`,
      );
  });

  for (let trial = 1; trial <= 3; trial++) {
    test(`a partition is declared heartbeat-timeout/network by both ends within timeout + ${SLACK} ms, never before (trial ${trial})`, async (t) => {
      if (!needNetns(t)) return;
      rig = await startRig({ interval: INTERVAL, timeout: TIMEOUT });
      try {
        const { client, session } = await connectClient(rig, [
          '--interval',
          `${INTERVAL}`,
          '--timeout',
          `${TIMEOUT}`,
        ]);
        const serverDeath = deathOf(session, TIMEOUT + 5000);
        const from = client.events.length;
        rig.ns.partition();
        // The fault time is when the rule is certainly in place: packets may still pass while nft runs.
        const partitionedAt = performance.now();

        const { report, at } = await serverDeath;
        assert.equal(report.cause, 'heartbeat-timeout');
        assert.equal(report.diagnosis, 'network');
        assert.ok(report.silentMs >= TIMEOUT, `declared after only ${report.silentMs} ms of silence`);
        const serverLatency = at - partitionedAt;
        assert.ok(serverLatency <= TIMEOUT + SLACK, `server took ${serverLatency} ms`);
        // The last frame heard came at most one interval (+ RTT) before the partition.
        assert.ok(
          serverLatency >= TIMEOUT - INTERVAL - 50,
          `server declared death ${serverLatency} ms after the partition`,
        );
        record('partition, server', serverLatency);

        const dead = await client.waitFor((e) => e.event === 'dead', TIMEOUT + 5000, from);
        assert.equal(dead.cause, 'heartbeat-timeout');
        assert.equal(dead.diagnosis, 'network', `client: ${String(dead.detail)}`);
        assert.ok(
          Number(dead.silentMs) >= TIMEOUT,
          `client declared after only ${dead.silentMs} ms of silence`,
        );
        const clientLatency = dead.receivedAt - partitionedAt;
        assert.ok(clientLatency <= TIMEOUT + SLACK, `client took ${clientLatency} ms`);
        record('partition, client', clientLatency);
        await client.stop();
      } finally {
        await stopRig(rig);
        rig = undefined;
      }
    });
  }

  for (let trial = 1; trial <= 3; trial++) {
    test(`a client stopped with SIGSTOP is declared heartbeat-timeout/peer-unresponsive (trial ${trial})`, async (t) => {
      if (!needNetns(t)) return;
      rig = await startRig({ interval: INTERVAL, timeout: TIMEOUT });
      try {
        const { client, session } = await connectClient(rig);
        const serverDeath = deathOf(session, TIMEOUT + 5000);
        const stoppedAt = performance.now();
        client.child.kill('SIGSTOP');
        const { report, at } = await serverDeath;
        assert.equal(report.cause, 'heartbeat-timeout');
        assert.equal(report.diagnosis, 'peer-unresponsive', report.detail);
        assert.ok(report.silentMs >= TIMEOUT);
        const latency = at - stoppedAt;
        assert.ok(latency <= TIMEOUT + SLACK, `took ${latency} ms`);
        record('SIGSTOP, server', latency);
        await client.stop();
      } finally {
        await stopRig(rig);
        rig = undefined;
      }
    });
  }

  test('a killed client is closed or reset at once', async (t) => {
    if (!needNetns(t)) return;
    rig = await startRig({ interval: INTERVAL, timeout: TIMEOUT });
    try {
      const { client, session } = await connectClient(rig);
      const serverDeath = deathOf(session, 2000);
      const killedAt = performance.now();
      client.child.kill('SIGKILL');
      const { report, at } = await serverDeath;
      assert.ok(report.cause === 'closed' || report.cause === 'reset', `cause ${report.cause}`);
      assert.ok(at - killedAt < 300, `took ${at - killedAt} ms`);
      record('SIGKILL, server', at - killedAt);
      await client.stop();
    } finally {
      await stopRig(rig);
      rig = undefined;
    }
  });

  test('under 20 % packet loss the phi detector declares no false death over 30 s', {
    timeout: 60_000,
  }, async (t) => {
    if (!needNetns(t)) return;
    // With loss, TCP retransmits after an RTO of at least 200 ms that doubles each time: 4 losses in a row
    // hold a frame back 3 s. Interval 500 ms and a 5 s timeout are a sane setting for such a link.
    rig = await startRig({ interval: 500, timeout: 5000, detector: 'phi' });
    try {
      const { client, session } = await connectClient(rig, [
        '--detector',
        'phi',
        '--interval',
        '500',
        '--timeout',
        '5000',
      ]);
      const deaths: DeathReport[] = [];
      session.on('dead', (r) => deaths.push(r));
      const clientRtts: number[] = [];
      const from = client.events.length;
      rig.ns.loss(20);
      const started = performance.now();
      // Keep data flowing too, so that retransmissions interleave with heartbeats.
      const writer = setInterval(
        () => client.child.stdin!.write(`tick ${Math.round(performance.now())}\n`),
        250,
      );
      await new Promise((resolve) => setTimeout(resolve, 30_000));
      clearInterval(writer);
      rig.ns.heal();
      const clientDeaths = client.events.slice(from).filter((e) => e.event === 'dead');
      for (const e of client.events.slice(from)) if (e.event === 'rtt') clientRtts.push(Number(e.ms));
      const sorted = clientRtts.sort((a, b) => a - b);
      console.log(
        `# 20 % loss, 30 s: ${sorted.length} PINGs answered; RTT median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted[sorted.length - 1]} ms`,
      );
      assert.equal(deaths.length, 0, `server declared ${JSON.stringify(deaths)}`);
      assert.equal(clientDeaths.length, 0, `client declared ${JSON.stringify(clientDeaths)}`);
      assert.ok(session.stats.messagesIn > 50, `only ${session.stats.messagesIn} messages got through`);
      assert.ok(performance.now() - started >= 30_000);
      await client.stop();
    } finally {
      await stopRig(rig);
      rig = undefined;
    }
  });
});
