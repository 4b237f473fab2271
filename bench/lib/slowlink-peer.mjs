// One end of a slow-link measurement, run inside a network namespace (from bench/slowlink.mjs): the sink
// counts message bytes and says 'done' back once it has all it was told to expect; the source sends a bulk
// transfer honouring backpressure; either end times its system's ping, one at a time, while told to.
// Usage: ip netns exec NS node slowlink-peer.mjs --system net|ws|lifeline
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseFlags, serveCommands } from './child.mjs';

const flags = parseFlags(process.argv.slice(2));
const system = await import(`../slowlink/${flags.system}.mjs`);
const startedAt = performance.now();
const deaths = [];
let peer;
let received = 0;
let messages = 0;
let expected = Number.POSITIVE_INFINITY;
let onReply = () => {};
let sampler;

const onDeath = (report) => deaths.push({ atMs: performance.now() - startedAt, ...report });

serveCommands({
  async listen({ host, port, interval, timeout }) {
    peer = await system.sink({
      host,
      port,
      interval,
      timeout,
      onDeath,
      onMessage(bytes) {
        messages++;
        received += bytes;
        if (received >= expected) {
          expected = Number.POSITIVE_INFINITY;
          peer.reply();
        }
      },
    });
    return { pings: typeof peer.rtt === 'function' };
  },
  async connect({ host, port, interval, timeout }) {
    peer = await system.source({ host, port, interval, timeout, onDeath, onReply: () => onReply() });
    return { pings: typeof peer.rtt === 'function' };
  },
  // The sink answers 'done' once `bytes` more have arrived.
  expect({ bytes }) {
    expected = received + bytes;
  },
  // Sends `bytes` in messages of `messageSize`, waiting whenever the system asks, and answers once the
  // sink's 'done' has come back: the time is the whole transfer as the sending application sees it.
  async bulk({ bytes, messageSize }) {
    const payload = Buffer.alloc(messageSize, 0x61);
    const replied = new Promise((resolve) => {
      onReply = resolve;
    });
    const beganAt = performance.now();
    let waits = 0;
    for (let sent = 0; sent < bytes; sent += messageSize) {
      const wait = peer.send(payload);
      if (wait !== true) {
        waits++;
        await wait;
      }
    }
    const lastSendAt = performance.now();
    await replied;
    const doneAt = performance.now();
    return { elapsedMs: doneAt - beganAt, lastSendMs: lastSendAt - beganAt, waits };
  },
  rttStart({ everyMs, timeoutMs }) {
    if (typeof peer.rtt !== 'function') throw new Error(`${flags.system} has no ping`);
    const state = { stop: false, samples: [], beganAt: performance.now(), counters: peer.counters?.() };
    state.done = (async () => {
      while (!state.stop) {
        const at = performance.now();
        const sample = { atMs: at - state.beganAt };
        try {
          sample.ms = await peer.rtt(timeoutMs);
        } catch (err) {
          sample.error = err?.code ?? err?.message ?? String(err);
        }
        // How long the call took, as the application waited for it (for lifeline, next to its own figure).
        sample.callMs = performance.now() - at;
        state.samples.push(sample);
        const rest = at + everyMs - performance.now();
        if (rest > 0 && !state.stop) await sleep(rest);
      }
    })();
    sampler = state;
  },
  // Stops sampling after the ping in flight, if any, has been answered or timed out; returns every sample,
  // and how the system's own counters (if it has any) moved meanwhile.
  async rttStop() {
    if (sampler === undefined) return { samples: [] };
    sampler.stop = true;
    await sampler.done;
    const { samples, counters: before } = sampler;
    sampler = undefined;
    if (before === undefined) return { samples };
    const after = peer.counters();
    return {
      samples,
      counters: Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]])),
    };
  },
  stats: () => ({ deaths, received, messages }),
});
process.send({ event: 'ready', pid: process.pid });
