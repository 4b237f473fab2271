// RTT sampling from the server's side. A server only measures a round trip when it sends a PING, and on a
// healthy link it never needs to (the client pings, the server answers), so a table, a chart or an RTT
// histogram on the server would stay empty. This sends one extra PING per session every `everyMs`.
import type { HeartbeatServer } from '../server/server.js';

/**
 * PINGs every open session of `server` every `everyMs` (at least 200 ms: a lifeline peer accepts up to 10
 * PINGs per second); each answer is an 'rtt' event on its session. Returns a function that stops it.
 */
export function probeRtt(server: HeartbeatServer, everyMs: number): () => void {
  if (!Number.isFinite(everyMs) || everyMs < 200) {
    throw new RangeError(`probeRtt(): everyMs must be at least 200 ms, got ${everyMs}`);
  }
  const timer = setInterval(() => {
    for (const session of server.sessions.values()) if (session.state === 'open') session.ping();
  }, everyMs);
  timer.unref();
  const stop = () => clearInterval(timer);
  server.once('close', stop);
  return stop;
}
