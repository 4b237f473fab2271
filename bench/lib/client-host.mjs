// A client process: opens its share of one system's connections from the source addresses it is given,
// keeps them open, and reports its CPU and the deaths it saw over IPC.
// Usage (from the runners): node client-host.mjs --system NAME
import { performance } from 'node:perf_hooks';
import { childLog, parseFlags, serveCommands, Window } from './child.mjs';

const flags = parseFlags(process.argv.slice(2));
let system;
try {
  system = await import(`../systems/${flags.system}/client.mjs`);
} catch (err) {
  process.send({ event: 'error', error: `cannot load system '${flags.system}': ${err.message}` }, () =>
    process.exit(1),
  );
  await new Promise(() => {});
}

const window = new Window();
const handles = [];
let deaths = 0;
let windowDeaths = 0;
const causes = {};

function onDeath(cause) {
  deaths++;
  windowDeaths++;
  causes[cause] = (causes[cause] ?? 0) + 1;
}

function openOne(options, timeoutMs) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(new Error(`not connected within ${timeoutMs} ms`));
    }, timeoutMs);
    system.openClient({ ...options, onDeath }).then(
      (handle) => {
        clearTimeout(timer);
        if (settled) handle.close();
        else resolve(handle);
      },
      (err) => {
        clearTimeout(timer);
        if (!settled) reject(err);
      },
    );
  });
}

serveCommands({
  async connect({ host, port, plan, interval, timeout, concurrency = 200, connectTimeoutMs = 15_000 }) {
    const addresses = plan.flatMap(({ address, count }) => Array(count).fill(address));
    const startedAt = performance.now();
    // The runner may call connect more than once (paced rounds): report this call's connections only.
    const before = handles.length;
    let next = 0;
    let failed = 0;
    const errors = new Map();
    const progress = setInterval(() => {
      childLog(`${handles.length - before}/${addresses.length} connected, ${failed} failed`);
    }, 5_000);
    const lane = async () => {
      while (next < addresses.length) {
        const localAddress = addresses[next++];
        try {
          handles.push(await openOne({ host, port, localAddress, interval, timeout }, connectTimeoutMs));
        } catch (err) {
          failed++;
          // The code and the detail: LIFELINE_CONNECTION_LOST alone does not say whether the handshake timed
          // out or the server closed the connection.
          const detail = err?.message ?? String(err);
          const key = (err?.code ? `${err.code} (${detail})` : detail).slice(0, 120);
          errors.set(key, (errors.get(key) ?? 0) + 1);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, addresses.length) }, lane));
    clearInterval(progress);
    return {
      connected: handles.length - before,
      failed,
      errors: Object.fromEntries(errors),
      ms: performance.now() - startedAt,
    };
  },
  count: () => ({ live: handles.length - deaths, deaths, causes }),
  begin() {
    windowDeaths = 0;
    window.begin();
  },
  end: () => ({ ...window.end(), deaths: windowDeaths }),
  mem() {
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed };
  },
  closeAll() {
    for (const handle of handles.splice(0)) handle.close();
  },
});
process.send({ event: 'ready', pid: process.pid });
