// The fuzzer's target, in a process of its own so that its memory is measured alone and an uncaught
// exception is seen for what it is (the process ends, the parent reports it with the seed): a lifeline
// server on loopback whose application echoes every message with backpressure honoured.
// Run by fuzz.test.ts with --expose-gc; speaks to its parent over IPC: 'listening' {port}, then
// 'memory' samples on request.
import { createServer } from '../../src/index.js';
import type { Session } from '../../src/server/session.js';
import { FUZZ_LIMITS } from './fuzz-limits.js';

const gc = (globalThis as { gc?: () => void }).gc;
const send = (message: unknown) => process.send?.(message);

process.on('uncaughtException', (err) => {
  send({ type: 'uncaught', stack: err.stack ?? String(err) });
  process.exit(70);
});
process.on('unhandledRejection', (err) => {
  send({ type: 'uncaught', stack: (err as Error)?.stack ?? String(err) });
  process.exit(71);
});

const counts = { sessions: 0, echoed: 0, dropped: 0, sendErrors: 0 };

/**
 * Echo with backpressure honoured: while send() asks to wait (false), later messages queue here up to
 * maxBuffered bytes and are sent on 'drain'; past that they are dropped and counted (this application's
 * policy for a peer that sends faster than it reads).
 */
function echo(session: Session): void {
  counts.sessions++;
  const queue: Buffer[] = [];
  let queued = 0;
  let waiting = false;
  const trySend = (payload: Buffer): boolean => {
    try {
      return session.send(payload);
    } catch {
      counts.sendErrors++; // LIFELINE_BUFFER_FULL or LIFELINE_CLOSED: refused, never dropped silently
      return true;
    }
  };
  session.on('message', (payload: Buffer) => {
    if (waiting) {
      if (queued + payload.length > FUZZ_LIMITS.maxBuffered) {
        counts.dropped++;
        return;
      }
      queue.push(Buffer.from(payload));
      queued += payload.length;
      return;
    }
    counts.echoed++;
    if (!trySend(payload)) waiting = true;
  });
  session.on('drain', () => {
    waiting = false;
    while (queue.length > 0 && !waiting) {
      const next = queue.shift()!;
      queued -= next.length;
      counts.echoed++;
      if (!trySend(next)) waiting = true;
    }
  });
  session.on('close', () => {
    queue.length = 0;
    queued = 0;
  });
}

const server = createServer(
  {
    interval: FUZZ_LIMITS.interval,
    timeout: FUZZ_LIMITS.timeout,
    maxFrame: FUZZ_LIMITS.maxFrame,
    maxBuffered: FUZZ_LIMITS.maxBuffered,
    maxSessions: FUZZ_LIMITS.maxSessions,
    resumeWindow: FUZZ_LIMITS.resumeWindow,
    handshakeTimeout: FUZZ_LIMITS.handshakeTimeout,
  },
  echo,
);
server.on('error', (err) => send({ type: 'server-error', message: err.message }));

let peakRss = 0;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 100);
rssTimer.unref();

process.on('message', (message: { type: string }) => {
  if (message.type === 'memory') {
    gc?.();
    gc?.();
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    send({
      type: 'memory',
      heap: m.heapUsed,
      arrayBuffers: m.arrayBuffers,
      external: m.external,
      rss: m.rss,
      peakRss,
      live: server.sessions.size,
      ...counts,
    });
  } else if (message.type === 'stop') {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  }
});

server.listen(0, '127.0.0.1', () => send({ type: 'listening', port: server.address().port }));
