// The child side of proc.mjs: answers the runner's commands over IPC, and exits when the runner goes away.
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import v8 from 'node:v8';

/** Answers each {id, cmd} message with handlers[cmd](msg); errors become {ok: false, error}. */
export function serveCommands(handlers, send = (msg) => process.send(msg)) {
  process.on('message', async (msg) => {
    if (!msg || typeof msg.id !== 'number') return;
    const handler = handlers[msg.cmd];
    try {
      if (!handler) throw new Error(`unknown command '${msg.cmd}'`);
      send({ id: msg.id, ok: true, result: (await handler(msg)) ?? null });
    } catch (err) {
      send({ id: msg.id, ok: false, error: err?.message ?? String(err) });
    }
  });
  // The runner died or closed the channel: never linger holding thousands of sockets.
  process.on('disconnect', () => process.exit(0));
}

export function childLog(text) {
  if (process.connected) process.send({ event: 'log', text });
}

// Event-loop delay is sampled every 20 ms (a coarse sampler costs the measured process next to nothing);
// the histogram holds the whole interval between samples, so the sampling period is subtracted.
const ELD_RESOLUTION_MS = 20;

/** CPU and event-loop delay of this process over a window opened by begin() and closed by end(). */
export class Window {
  constructor() {
    this.eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
    this.eld.enable();
    this.begin();
  }

  begin() {
    this.cpuAt = process.cpuUsage();
    this.wallAt = performance.now();
    this.eld.reset();
  }

  end() {
    const cpu = process.cpuUsage(this.cpuAt);
    const wallMs = performance.now() - this.wallAt;
    const cpuMs = (cpu.user + cpu.system) / 1000;
    return {
      wallMs,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      cpuMs,
      cpuPct: (100 * cpuMs) / wallMs,
      eldP50Ms: Math.max(0, this.eld.percentile(50) / 1e6 - ELD_RESOLUTION_MS),
      eldP99Ms: Math.max(0, this.eld.percentile(99) / 1e6 - ELD_RESOLUTION_MS),
      eldMaxMs: Math.max(0, this.eld.max / 1e6 - ELD_RESOLUTION_MS),
    };
  }
}

/** Memory after two forced full collections (needs --expose-gc), in bytes. */
export async function memoryAfterGc() {
  if (typeof global.gc === 'function') {
    global.gc();
    await new Promise((resolve) => setImmediate(resolve));
    global.gc();
  }
  const m = process.memoryUsage();
  return {
    gc: typeof global.gc === 'function',
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    rssBy: residentByMapping(),
    heapSpaces: Object.fromEntries(
      v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]),
    ),
  };
}

/**
 * Where the resident memory is, from /proc/self/smaps (Linux; undefined elsewhere), in bytes: `binary` the
 * node executable's pages (its code paged in: TLS, the optimizing compiler...), `libraries` other mapped
 * files (koffi's, libc...), `anonymous` everything else (V8's heap, malloc). Tells a fixed cost from a
 * per-connection one when two systems' RSS differ.
 */
function residentByMapping() {
  let text;
  try {
    text = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return undefined;
  }
  const out = { binary: 0, libraries: 0, anonymous: 0 };
  let kind = 'anonymous';
  for (const line of text.split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const path = header[1];
      kind = path === process.execPath ? 'binary' : path.startsWith('/') ? 'libraries' : 'anonymous';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[kind] += Number(rss[1]) * 1024;
  }
  return out;
}

export function parseFlags(argv) {
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) flags[arg.slice(2)] = true;
    else flags[arg.slice(2)] = argv[++i];
  }
  return flags;
}
