#!/usr/bin/env node
// What a hostile, unauthenticated peer can cost a lifeline server, measured: a server process of its own
// (--expose-gc) reports its heap + array buffers after two full collections, its RSS and its CPU time
// before and after each attack, made by N connections from this process. Figures per connection.
//
//   node bench/hostile.mjs [--n 200] [--attacks silent,hello-header,trickle,garbage,handshake]
//   LIFELINE_DIST=/path/to/another/build/dist node bench/hostile.mjs ...   (a baseline to compare with)
//
// silent        connects and sends nothing (held until the handshake timeout)
// hello-header  preface + a HELLO header declaring a 1 MiB payload + 1 byte (held until the handshake timeout)
// trickle       a session, then a DATA header for 1 MiB and --trickle bytes sent one byte per write
// garbage       a wrong preface: CPU per refused connection
// handshake     preface + HELLO, WELCOME, hang up: CPU per session created
import { fork } from 'node:child_process';
import net from 'node:net';
import { parseArgs } from './lib/args.mjs';
import { lifelineEntry } from './systems/lifeline/load.mjs';

const USAGE = `usage: node bench/hostile.mjs [--n 200] [--trickle 16384] [--attacks silent,hello-header,trickle,garbage,handshake]`;
const args = parseArgs(process.argv.slice(2), { n: 'number', trickle: 'number', attacks: 'string' }, USAGE);
const N = args.n ?? 200;
const TRICKLE = args.trickle ?? 16_384;
const ATTACKS = (args.attacks ?? 'silent,hello-header,trickle,garbage,handshake').split(',');

const PREFACE = Buffer.from('LIFE\x01', 'latin1');
function hello() {
  const b = Buffer.alloc(5 + 19);
  b[0] = 0x01;
  b.writeUInt32BE(19, 1);
  b.writeUInt32BE(1 << 20, 5 + 8); // maxFrame 1 MiB
  return b;
}

function server() {
  const child = fork(new URL('./lib/hostile-server.mjs', import.meta.url).pathname, [], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies = [];
  child.on('message', (m) => replies.shift()?.(m));
  const next = () => new Promise((resolve) => replies.push(resolve));
  return {
    child,
    ready: next(),
    measure: () => {
      const p = next();
      child.send('measure');
      return p;
    },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const open = (port) =>
  new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    s.on('error', () => {});
    s.on('data', () => {});
    s.once('connect', () => resolve(s));
  });
/** Opens n connections, 50 at a time, running `each` on every one. */
async function many(port, n, each) {
  const sockets = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => open(port)));
    await Promise.all(batch.map(each));
    sockets.push(...batch);
  }
  return sockets;
}
const closed = (s) => new Promise((r) => (s.destroyed ? r() : s.once('close', r)));

const attacks = {
  silent: async (port) => many(port, N, async () => {}),
  'hello-header': async (port) =>
    many(port, N, async (s) => {
      const header = Buffer.alloc(6);
      header[0] = 0x01;
      header.writeUInt32BE(1 << 20, 1);
      s.write(Buffer.concat([PREFACE, header]));
    }),
  trickle: async (port) => {
    const sockets = await many(port, N, async (s) => {
      s.write(Buffer.concat([PREFACE, hello()]));
      await new Promise((r) => s.once('data', r)); // WELCOME
      s.write(Buffer.from([5, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 1])); // DATA, 1 MiB, seq 1
    });
    for (let i = 0; i < TRICKLE; i++) {
      for (const s of sockets) s.write(Buffer.from([0x42]));
      if (i % 16 === 15) await sleep(1); // a segment per byte: let each go out on its own
    }
    await sleep(500);
    return sockets;
  },
  garbage: async (port) => {
    const sockets = await many(port, N * 5, async (s) => s.write('GET / HTTP/1.1\r\n\r\n'));
    await Promise.all(sockets.map(closed));
    return [];
  },
  handshake: async (port) => {
    const sockets = await many(port, N * 5, async (s) => {
      s.write(Buffer.concat([PREFACE, hello()]));
      await new Promise((r) => s.once('data', r));
      s.destroy();
    });
    return sockets;
  },
};

const rows = [];
for (const name of ATTACKS) {
  const attack = attacks[name];
  if (!attack) throw new Error(`unknown attack ${name}`);
  const srv = server();
  const { port } = await srv.ready;
  const before = await srv.measure();
  const t0 = performance.now();
  const sockets = await attack(port);
  const seconds = (performance.now() - t0) / 1000;
  await sleep(300);
  const after = await srv.measure();
  const conns = name === 'garbage' || name === 'handshake' ? N * 5 : N;
  rows.push({
    attack: name,
    connections: conns,
    heldPerConnBytes: Math.round((after.held - before.held) / conns),
    rssPerConnBytes: Math.round((after.rss - before.rss) / conns),
    cpuPerConnUs: Math.round((after.cpuUs - before.cpuUs) / conns),
    ...(name === 'trickle' ? { trickledPerConnBytes: TRICKLE } : {}),
    seconds: Math.round(seconds * 10) / 10,
  });
  for (const s of sockets) s.destroy();
  srv.child.kill('SIGKILL');
}
console.log(`lifeline: ${lifelineEntry().pathname}`);
console.table(rows);
