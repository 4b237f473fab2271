// Liveness on real loopback sockets: who pings when, round-trip times, a silent peer declared dead within
// timeout + slack and never before, the kernel's diagnosis, timers that never hold the process, and a
// stalled process that does not blame its peer. Hand-written peers (test/helpers/peer.ts) count frames.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Decoder } from '../../src/protocol/decoder.js';
import { encodeData, encodePong, encodePreface } from '../../src/protocol/encoder.js';
import type { Frame } from '../../src/protocol/frames.js';
import type { HeartbeatServer } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import type { DeathReport } from '../../src/session/death.js';
import { sweepMembers } from '../../src/session/sweep.js';
import {
  dial,
  next,
  RawPeer,
  RawServer,
  Resources,
  startServer,
  until,
  welcome,
  within,
} from '../helpers/peer.js';

/** Honest slack for a detection bound: a timer tick, the setImmediate that reads pending input, a shared CPU. */
const SLACK = 250;

const res = new Resources();
afterEach(() => res.release());

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Deliberately blocks this thread's event loop: the stall under test.
  }
}

describe('heartbeat on an idle connection', () => {
  test('the client pings an idle connection every interval and reports each round-trip time', async () => {
    const server = res.server(await startServer({ interval: 100, timeout: 500 }));
    const sessionP = next<[Session]>(server, 'session');
    const client = res.client(dial(server.address().port));
    const [session] = await sessionP;
    const serverRtts: number[] = [];
    session.on('rtt', (ms) => serverRtts.push(ms));
    const rtts: number[] = [];
    client.on('rtt', (ms) => rtts.push(ms));
    const started = performance.now();
    await until(client, 'rtt', () => rtts.length >= 4, 100 * 4 + 4 * SLACK);
    const elapsed = performance.now() - started;
    // Four PINGs need at least three full intervals between them (a PING goes out when nothing was heard for one).
    assert.ok(elapsed >= 300 - 20, `4 RTTs after ${elapsed} ms: PINGs faster than one per interval`);
    for (const ms of rtts) assert.ok(ms >= 0 && ms < 100, `loopback rtt ${ms} ms`);
    assert.equal(client.rtt, rtts.at(-1));
    // The server hears the client's PINGs, so it does not ping for liveness: it samples one RTT of its own
    // with its first PONG (then at most every 30 s), and no more.
    assert.equal(serverRtts.length, 1);
    assert.equal(session.stats.pings, 1);
    assert.ok(serverRtts[0]! >= 0 && serverRtts[0]! < 100);
  });

  test('the server pings a client that stays silent after 1.5 intervals, and measures the rtt from the PONG', async () => {
    const server = res.server(await startServer({ interval: 100, timeout: 1000 }));
    const sessionP = next<[Session]>(server, 'session');
    const peer = res.other(await RawPeer.connect(server.address().port));
    const w = await peer.handshake();
    const [session] = await sessionP;
    assert.equal(w.interval, 100);
    const ping = await peer.frame((f) => f.type === 'ping', 150 + SLACK * 2);
    assert.ok(ping.type === 'ping');
    const after = ping.at - peer.lastWriteAt;
    assert.ok(
      after >= 150 - 10,
      `the server pinged ${after} ms after the last byte it heard, before 1.5 intervals`,
    );
    const rttP = next<[number]>(session, 'rtt');
    peer.write(encodePong(ping.id, ping.timestamp));
    const [ms] = await rttP;
    assert.ok(ms >= 0 && ms < 100, `rtt ${ms}`);
  });
});

describe('a busy connection sends no PINGs', () => {
  test('the server sends no PING to a client whose DATA keeps arriving, and pings once it stops', async () => {
    const server = res.server(await startServer({ interval: 100, timeout: 1000 }));
    const sessionP = next<[Session]>(server, 'session');
    const peer = res.other(await RawPeer.connect(server.address().port));
    await peer.handshake();
    const [session] = await sessionP;
    let seq = 0;
    // One DATA every 30 ms, 30 of them: 900 ms, six times the 150 ms after which an idle server pings.
    const stream = setInterval(() => peer.write(encodeData(++seq, Buffer.from('busy'))), 30);
    try {
      await until(session, 'message', () => session.stats.messagesIn >= 30, 30 * 30 + 4 * SLACK);
    } finally {
      clearInterval(stream);
    }
    assert.equal(peer.count('ping'), 0, 'a PING was sent on a busy connection');
    // Control: the same server does ping once the stream stops, so the count above could have been > 0.
    await peer.frame((f) => f.type === 'ping', 150 + SLACK * 2);
  });

  test('the client sends no PING while the server streams DATA, and pings once it stops', async () => {
    const raw = res.other(await RawServer.start());
    const client = res.client(dial(raw.port));
    const peer = await raw.peer();
    await peer.frame((f) => f.type === 'hello');
    peer.write(encodePreface(), welcome({ interval: 100, timeout: 1000 }));
    await next(client, 'connected');
    let seq = 0;
    const stream = setInterval(() => peer.write(encodeData(++seq, Buffer.from('busy'))), 30);
    const got: Buffer[] = [];
    client.on('message', (m) => got.push(m));
    try {
      await until(client, 'message', () => got.length >= 25, 2000);
    } finally {
      clearInterval(stream);
    }
    assert.equal(peer.count('ping'), 0, 'the client pinged a server that was streaming to it');
    await peer.frame((f) => f.type === 'ping', 100 + SLACK * 2);
  });
});

describe('a silent peer is declared dead', () => {
  test('the server declares a client that stops answering heartbeat-timeout/peer-unresponsive within timeout + slack, never before', async () => {
    const TIMEOUT = 600;
    const server = res.server(await startServer({ interval: 100, timeout: TIMEOUT }));
    const sessionP = next<[Session]>(server, 'session');
    const peer = res.other(await RawPeer.connect(server.address().port));
    await peer.handshake(); // ...and never another byte: the program "hangs", its kernel still ACKs
    const [session] = await sessionP;
    const [report] = await next<[DeathReport]>(session, 'dead', TIMEOUT + SLACK * 4);
    const elapsed = performance.now() - peer.lastWriteAt;
    assert.equal(report.cause, 'heartbeat-timeout');
    assert.equal(report.diagnosis, 'peer-unresponsive');
    assert.ok(report.silentMs >= TIMEOUT, `silentMs ${report.silentMs} < timeout`);
    assert.ok(
      elapsed >= TIMEOUT,
      `declared dead ${elapsed} ms after the peer's last byte, before the timeout`,
    );
    assert.ok(elapsed <= TIMEOUT + SLACK, `declared dead after ${elapsed} ms, later than timeout + ${SLACK}`);
    assert.ok(peer.count('ping') >= 2, 'the server should have probed the silent client with PINGs');
    await peer.closed(); // the server closes the dead connection
  });

  test('the client declares a server that stops answering heartbeat-timeout/peer-unresponsive within timeout + slack, never before', async () => {
    const TIMEOUT = 500;
    const raw = res.other(await RawServer.start());
    const client = res.client(dial(raw.port));
    const peer = await raw.peer();
    await peer.frame((f) => f.type === 'hello');
    peer.write(encodePreface(), welcome({ interval: 100, timeout: TIMEOUT }));
    const closed = next(client, 'close', TIMEOUT + SLACK * 4);
    const [report] = await next<[DeathReport]>(client, 'dead', TIMEOUT + SLACK * 4);
    const elapsed = performance.now() - peer.lastWriteAt;
    assert.equal(report.cause, 'heartbeat-timeout');
    assert.equal(report.diagnosis, 'peer-unresponsive');
    assert.ok(report.silentMs >= TIMEOUT, `silentMs ${report.silentMs}`);
    assert.ok(elapsed >= TIMEOUT, `declared dead after ${elapsed} ms, before the timeout`);
    assert.ok(elapsed <= TIMEOUT + SLACK, `declared dead after ${elapsed} ms`);
    assert.ok(peer.count('ping') >= 3, `the client sent ${peer.count('ping')} PINGs to a silent server`);
    await closed; // without reconnect, a death ends the client
  });

  test('a peer that answers every PING is never declared dead, however long it sends nothing else', async () => {
    const server = res.server(await startServer({ interval: 100, timeout: 300 }));
    const sessionP = next<[Session]>(server, 'session');
    const peer = res.other(await RawPeer.connect(server.address().port));
    await peer.handshake();
    const [session] = await sessionP;
    let dead: DeathReport | undefined;
    session.on('dead', (r) => {
      dead = r;
    });
    let answered = 0;
    peer.on('frame', (f: Frame) => {
      if (f.type !== 'ping') return;
      answered++;
      peer.write(encodePong(f.id, f.timestamp));
    });
    // Six server PINGs answered span 900+ ms: three times the timeout.
    await until(peer, 'frame', () => answered >= 6, 6 * 150 + 4 * SLACK);
    assert.equal(dead, undefined);
    assert.equal(session.state, 'open');
  });
});

describe('timers', () => {
  test('an established server+client pair whose sockets are unref()ed lets the process exit: no heartbeat timer holds it', async () => {
    // A child process: it connects, sees a PING answered, unrefs both sockets and the listener, and must
    // exit on its own although both heartbeats are armed (interval 50 ms).
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const code = `
      const { createServer } = await import(${JSON.stringify(`${root}src/server/server.ts`)});
      const { connect } = await import(${JSON.stringify(`${root}src/client/client.ts`)});
      const server = createServer({ interval: 50, timeout: 1000 });
      server.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const client = connect({ host: '127.0.0.1', port: server.address().port, reconnect: false });
      const [session] = await new Promise((r) => server.once('session', (...a) => r(a)));
      await new Promise((r) => client.once('rtt', r));
      client.transport.socket.unref();
      session.transport.socket.unref();
      server.server.unref();
      console.log('unrefd');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    try {
      const [status] = await within(10_000, 'the child to exit', exited);
      assert.equal(out.trim(), 'unrefd', err);
      assert.equal(status, 0, err);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('healthy server-side connections are watched by one sweep, not a timer each; an overdue one leaves it and is declared dead on time', async () => {
    const TIMEOUT = 800;
    const server = res.server(await startServer({ interval: 100, timeout: TIMEOUT }));
    const before = sweepMembers();
    const sessions: Session[] = [];
    server.on('session', (s) => sessions.push(s));
    for (let i = 0; i < 10; i++) res.client(dial(server.address().port));
    await until(server, 'session', () => sessions.length >= 10);
    // The clients ping every interval: every session is in the sweep, with no Timeout of its own.
    await until(sessions[0]!, 'rtt', () => sweepMembers() - before === 10, 2000);
    const peer = res.other(await RawPeer.connect(server.address().port));
    const rawP = next<[Session]>(server, 'session');
    await peer.handshake(); // ...and silent from here on
    const [raw] = await rawP;
    const [report] = await next<[DeathReport]>(raw, 'dead', TIMEOUT + SLACK * 4);
    const elapsed = performance.now() - peer.lastWriteAt;
    assert.equal(report.cause, 'heartbeat-timeout');
    assert.ok(elapsed >= TIMEOUT && elapsed <= TIMEOUT + SLACK, `declared dead after ${elapsed} ms`);
    assert.equal(sweepMembers() - before, 10, 'the ten healthy sessions stay in the sweep meanwhile');
    for (const s of sessions.slice(0, 10)) assert.equal(s.state, 'open');
    server.close();
    await until(sessions[0]!, 'close', () => sweepMembers() === before, 2000);
  });
});

/** A raw lifeline client in a worker thread (its own event loop): HELLO, then a PING every `interval`. */
const PINGER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const s = net.connect(workerData.port, '127.0.0.1');
// HELLO v2: no proposal, maxFrame and maxMessage 1 MiB, window 4 MiB, new session.
const hello = Buffer.alloc(32);
hello[0] = 1; hello.writeUInt32BE(27, 1); hello.writeUInt32BE(1048576, 13);
hello.writeUInt32BE(1048576, 17); hello.writeUInt32BE(4194304, 21);
s.write(Buffer.concat([Buffer.from('4c49464502', 'hex'), hello]));
let id = 0;
const timer = setInterval(() => {
  const p = Buffer.alloc(13);
  p[0] = 3; p.writeUInt32BE(8, 1); p.writeUInt32BE(++id, 5); p.writeUInt32BE(0, 9);
  s.write(p);
  parentPort.postMessage({ sent: id });
}, workerData.interval);
s.on('data', (d) => parentPort.postMessage({ bytes: d }));
s.on('error', () => {});
s.on('close', () => { clearInterval(timer); parentPort.postMessage({ closed: true }); });
parentPort.on('message', () => { clearInterval(timer); s.destroy(); });
`;

/** Starts the pinger against `server`; collects the frames the server sends it. */
async function startPinger(server: HeartbeatServer, interval: number) {
  const sessionP = next<[Session]>(server, 'session');
  const worker = new Worker(PINGER, { eval: true, workerData: { port: server.address().port, interval } });
  res.other({ close: () => void worker.terminate() });
  const decoder = new Decoder();
  const frames: Frame[] = [];
  let closed = false;
  worker.on('message', (m: { bytes?: Uint8Array; closed?: boolean }) => {
    if (m.closed) closed = true;
    if (m.bytes) decoder.push(Buffer.from(m.bytes), (f) => frames.push(f));
  });
  const [session] = await sessionP;
  return {
    session,
    frames,
    worker,
    closed: () => closed,
    pongs: () => frames.filter((f) => f.type === 'pong').length,
  };
}

describe('a stalled process does not blame its peer', () => {
  test('a server whose event loop is blocked past the timeout, while its client keeps pinging, reports a stall and keeps the session', async () => {
    const INTERVAL = 200;
    const TIMEOUT = 1000;
    const server = res.server(await startServer({ interval: INTERVAL, timeout: TIMEOUT }));
    const rig = await startPinger(server, INTERVAL);
    const pongs = rig.pongs;
    await until(rig.worker, 'message', () => pongs() >= 2, 4 * INTERVAL + SLACK);
    const deaths: DeathReport[] = [];
    rig.session.on('dead', (r) => deaths.push(r));
    const stalls: number[] = [];
    rig.session.on('stall', (ms) => stalls.push(ms));
    busyWait(TIMEOUT + 300);
    // Life after the stall: PONGs keep coming for longer than a timeout, and the session never died.
    const before = pongs();
    await until(rig.worker, 'message', () => pongs() >= before + TIMEOUT / INTERVAL + 2, TIMEOUT * 3);
    assert.deepEqual(deaths, [], `the stalled server declared its client dead: ${JSON.stringify(deaths)}`);
    assert.equal(rig.session.state, 'open');
    assert.equal(rig.closed(), false);
    assert.ok(stalls.length >= 1, 'no stall event');
    assert.ok(stalls[0]! >= TIMEOUT / 2, `stall of ${stalls[0]} ms reported for a ${TIMEOUT + 300} ms block`);
    assert.equal(
      rig.frames.some((f) => f.type === 'goaway'),
      false,
    );
  });

  test('the backlog of honest PINGs read after a stall is not taken for a PING flood', {}, async () => {
    const INTERVAL = 100;
    const TIMEOUT = 1500;
    const server = res.server(await startServer({ interval: INTERVAL, timeout: TIMEOUT }));
    const rig = await startPinger(server, INTERVAL);
    const pongs = rig.pongs;
    await until(rig.worker, 'message', () => pongs() >= 2, 4 * INTERVAL + SLACK);
    const deaths: DeathReport[] = [];
    rig.session.on('dead', (r) => deaths.push(r));
    // 1.8 s blocked: the client's ~18 PINGs (one per interval, as it should) wait in the socket.
    busyWait(TIMEOUT + 300);
    const before = pongs();
    await until(rig.worker, 'message', () => pongs() >= before + 20 || rig.closed(), TIMEOUT * 2);
    const goaway = rig.frames.find((f) => f.type === 'goaway');
    assert.equal(goaway, undefined, `the server sent ${JSON.stringify(goaway)} to an honest client`);
    assert.deepEqual(deaths, []);
  });
});
