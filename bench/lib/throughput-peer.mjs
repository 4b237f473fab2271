// One end of a throughput measurement: the sink counts messages and bytes received, the source sends one
// message size as fast as backpressure allows until a deadline.
// Usage (from bench/throughput.mjs): node throughput-peer.mjs --system net|ws|lifeline
import { performance } from 'node:perf_hooks';
import { childLog, parseFlags, serveCommands, Window } from './child.mjs';

const flags = parseFlags(process.argv.slice(2));
const system = await import(`../throughput/${flags.system}.mjs`);
const window = new Window();
let messages = 0;
let bytes = 0;
let mark = { messages: 0, bytes: 0 };
let peer;

// Sends until the deadline, waiting whenever the system asks (its send returns a promise). A loopback peer
// on another core can drain every write at once, so that a send loop would never wait and never let this
// process read its IPC: it yields to the event loop at least every 10 ms.
async function pump(payload, untilAt) {
  let yieldAt = performance.now() + 10;
  // The clock is read every 64 small messages, and after every large one (64 of 1 MiB are 64 MiB).
  const every = payload.length >= 16 * 1024 ? 1 : 64;
  for (let i = 1; ; i++) {
    const wait = peer.send(payload);
    if (wait !== true) await wait;
    if (i % every === 0) {
      const now = performance.now();
      if (now >= untilAt) return;
      if (now >= yieldAt) {
        await new Promise((resolve) => setImmediate(resolve));
        yieldAt = performance.now() + 10;
      }
    }
  }
}

serveCommands({
  async sink({ host, port }) {
    peer = await system.sink({
      host,
      port,
      onMessage(payload) {
        messages++;
        bytes += payload.length;
      },
    });
  },
  async source({ host, port }) {
    peer = await system.source({ host, port });
  },
  // Starts sending and answers at once; the sending stops by itself at the deadline.
  run({ size, durationMs }) {
    const payload = Buffer.alloc(size, 0x61);
    pump(payload, performance.now() + durationMs).catch((err) => childLog(`send failed: ${err.message}`));
  },
  begin() {
    mark = { messages, bytes };
    window.begin();
  },
  end: () => ({ ...window.end(), messages: messages - mark.messages, bytes: bytes - mark.bytes }),
});
process.send({ event: 'ready', pid: process.pid });
