// The measured server process: runs one system's server and reports its CPU, memory, deaths and detection
// times over IPC. With --workers W it is a node:cluster primary that forks W workers (each running the system's
// server on the same port) and sums what they report. --sched none (the default, SCHED_NONE): the workers
// accept from the shared listening socket themselves; --sched rr (SCHED_RR): the primary accepts and deals
// each connection to a worker over IPC. The runner gives each worker a cap (start's maxLive): a worker that
// holds that many connections stops listening, and the others take the rest.
// Usage (from the runners): node --expose-gc server-host.mjs --system NAME [--workers W] [--sched none|rr]
import cluster from 'node:cluster';
import { performance } from 'node:perf_hooks';
import { childLog, memoryAfterGc, parseFlags, serveCommands, Window } from './child.mjs';

const flags = parseFlags(process.argv.slice(2));
const systemName = flags.system;
const workers = Number(flags.workers ?? 0);
const sched = flags.sched ?? 'none';

if (cluster.isWorker) {
  // When the runner kills the primary, a connection still arriving makes the worker write to a closed IPC
  // channel (EPIPE): without a listener that is an uncaught 'error' with a stack trace in the run's output.
  // The worker exits anyway on 'disconnect' (child.mjs).
  cluster.worker.on('error', () => {});
}
if (workers > 0 && cluster.isPrimary) await runPrimary();
else await runServer();

async function runServer() {
  let system;
  try {
    system = await import(`../systems/${systemName}/server.mjs`);
  } catch (err) {
    process.send({ event: 'error', error: `cannot load system '${systemName}': ${err.message}` });
    return;
  }
  const window = new Window();
  let server;
  let live = 0;
  let opened = 0;
  let deaths = 0;
  let windowDeaths = 0;
  let windowCauses = {};
  let fault;
  let maxLive = 0;
  let capped = false;

  function onOpen() {
    live++;
    opened++;
    // Called from the connection handler, inside libuv's accept loop: closing the listener here stops this
    // worker's accepts before it takes one more connection.
    if (maxLive > 0 && live >= maxLive && !capped && server) {
      capped = true;
      server.stopAccepting();
      childLog(`holds ${live} connections (its cap): stopped listening`);
    }
  }

  function onDeath(remote, cause, silentMs) {
    const at = performance.now();
    live--;
    deaths++;
    windowDeaths++;
    windowCauses[cause] = (windowCauses[cause] ?? 0) + 1;
    if (!fault) return;
    if (remote === fault.address) fault.detections.push({ ms: at - fault.at, cause, silentMs });
    else fault.otherDeaths++;
  }

  // BENCH_DEBUG=1: every 2 s, this process's counts, CPU and worst event-loop delay (how the connect-phase
  // problems of the cluster were found; off by default, it is not part of what is measured).
  if (process.env.BENCH_DEBUG) {
    const dbg = new Window();
    setInterval(() => {
      const w = dbg.end();
      childLog(
        `live ${live} opened ${opened} deaths ${deaths} cpu ${w.cpuPct.toFixed(0)}% eldMax ${w.eldMaxMs.toFixed(0)}`,
      );
      dbg.begin();
    }, 2000).unref();
  }
  serveCommands({
    async start({ host, port, backlog, interval, timeout, maxLive: cap = 0 }) {
      const baseline = await memoryAfterGc();
      server = await system.createBenchServer({ host, port, backlog, interval, timeout, onOpen, onDeath });
      if (cap > 0 && typeof server.stopAccepting !== 'function') {
        throw new Error(`system '${systemName}' cannot stop accepting: no per-worker cap possible`);
      }
      maxLive = cap;
      return { pid: process.pid, baseline };
    },
    count: () => ({ live, opened, deaths }),
    begin() {
      windowDeaths = 0;
      windowCauses = {};
      window.begin();
    },
    end: () => ({ ...window.end(), deaths: windowDeaths, causes: windowCauses, live }),
    mem: () => memoryAfterGc(),
    // The fault and its detection are timed by this process's own monotonic clock.
    fault({ pid, signal, address }) {
      fault = { address, at: performance.now(), detections: [], otherDeaths: 0 };
      process.kill(pid, signal);
      return { at: fault.at };
    },
    detections: () => ({ detections: fault?.detections ?? [], otherDeaths: fault?.otherDeaths ?? 0 }),
    async stop() {
      await server?.close();
    },
  });
  process.send({ event: 'ready', pid: process.pid });
}

async function runPrimary() {
  // SCHED_NONE, not round-robin: under SCHED_RR the primary accepts every connection and hands it to a
  // worker over IPC, one in flight per worker, so the accept rate is about one connection per worker per
  // event-loop turn. On 2 cores with ~30 000 heartbeating connections that fell to ~50-100 connections/s:
  // paced rounds of 400 then took ~8 s and lifeline handshakes ran out of their 10 s; unpaced, the primary's
  // queue of accepted-but-not-handed-off sockets reached its own 20 000-descriptor limit (net-ping). With
  // SCHED_NONE each worker accepts a whole batch per turn from the shared socket (38 000 lifeline
  // connections in ~30 s instead of failing after 92 s). SCHED_NONE alone splits unevenly (19 720 / 18 270
  // measured, 216 under a worker's limit), so the runner caps each worker at its even share (maxLive) and a
  // capped worker closes its listener: the split is exact and no worker can reach its file limit.
  cluster.schedulingPolicy = sched === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE;
  cluster.setupPrimary({ execArgv: process.execArgv });
  const window = new Window();
  const list = [];
  for (let i = 0; i < workers; i++) list.push(forkWorker(i));
  try {
    await Promise.all(list.map((w) => w.ready));
  } catch (err) {
    process.send({ event: 'error', error: err.message });
    return;
  }
  const all = (cmd, args, timeoutMs) => Promise.all(list.map((w) => w.call(cmd, args, timeoutMs)));
  const sum = (rows, key) => rows.reduce((total, row) => total + row[key], 0);

  serveCommands({
    async start(args) {
      const baseline = await memoryAfterGc();
      const results = await all('start', args, 20_000);
      return {
        pid: process.pid,
        baseline: sumMemory([baseline, ...results.map((r) => r.baseline)]),
        workers: results,
      };
    },
    async count() {
      const rows = await all('count');
      return {
        live: sum(rows, 'live'),
        opened: sum(rows, 'opened'),
        deaths: sum(rows, 'deaths'),
        workers: rows,
      };
    },
    async begin() {
      window.begin();
      await all('begin');
    },
    async end() {
      const own = window.end();
      const rows = await all('end');
      const causes = {};
      for (const row of rows)
        for (const [k, v] of Object.entries(row.causes)) causes[k] = (causes[k] ?? 0) + v;
      return {
        wallMs: own.wallMs,
        cpuMs: own.cpuMs + sum(rows, 'cpuMs'),
        cpuPct: own.cpuPct + sum(rows, 'cpuPct'),
        eldP50Ms: Math.max(...rows.map((r) => r.eldP50Ms)),
        eldP99Ms: Math.max(...rows.map((r) => r.eldP99Ms)),
        eldMaxMs: Math.max(...rows.map((r) => r.eldMaxMs)),
        deaths: sum(rows, 'deaths'),
        causes,
        live: sum(rows, 'live'),
        primary: own,
        workers: rows,
      };
    },
    async mem() {
      const own = await memoryAfterGc();
      const rows = await all('mem');
      return { ...sumMemory([own, ...rows]), primary: own, workers: rows };
    },
    fault() {
      throw new Error('detection runs against a single server process, not a cluster');
    },
    async stop() {
      await all('stop');
    },
  });
  process.send({ event: 'ready', pid: process.pid, workers: list.map((w) => w.worker.process.pid) });
}

function sumMemory(rows) {
  const out = { gc: rows.every((r) => r.gc) };
  for (const key of ['rss', 'heapUsed', 'heapTotal', 'external', 'arrayBuffers']) {
    out[key] = rows.reduce((total, r) => total + r[key], 0);
  }
  return out;
}

function forkWorker(index) {
  const worker = cluster.fork();
  const pending = new Map();
  let nextId = 1;
  worker.on('message', (msg) => {
    if (msg?.event === 'log') childLog(`worker ${index}: ${msg.text}`);
    if (typeof msg?.id !== 'number' || !pending.has(msg.id)) return;
    const { resolve, reject, timer } = pending.get(msg.id);
    pending.delete(msg.id);
    clearTimeout(timer);
    if (msg.ok) resolve(msg.result);
    else reject(new Error(`worker ${index}: ${msg.error}`));
  });
  worker.on('exit', (code, signal) => {
    for (const { reject, timer } of pending.values()) {
      clearTimeout(timer);
      reject(new Error(`worker ${index} exited (code ${code}, signal ${signal})`));
    }
    pending.clear();
    // A cluster that lost a worker measures nothing worth keeping: end the whole server.
    childLog(`worker ${index} exited (code ${code}, signal ${signal}); exiting`);
    process.exit(1);
  });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${index} not ready within 15 s`)), 15_000);
    worker.on('message', (msg) => {
      if (msg?.event === 'ready') {
        clearTimeout(timer);
        resolve();
      } else if (msg?.event === 'error') {
        clearTimeout(timer);
        reject(new Error(`worker ${index}: ${msg.error}`));
      }
    });
  });
  const call = (cmd, args = {}, timeoutMs = 10_000) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`worker ${index}: no answer to '${cmd}' within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, { resolve, reject, timer });
      worker.send({ ...args, id, cmd });
    });
  return { worker, ready, call };
}
