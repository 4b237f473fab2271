// The server end of the slow-link fault tests, run in a network namespace (started by BulkPeer in bulk.ts):
// a lifeline server whose one session reports every message it receives (index, size, hash) and every
// event as a JSON line on stdout, and takes commands as JSON lines on stdin (send, pause, resume, stats).
// It exits when its stdin closes, so that it never outlives the test.
// Usage: node --import tsx bulk-peer.ts --host IP --interval MS --timeout MS [--receive-window B] [--max-message B]
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { createServer } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import { indexOf, messages, type PeerCommand, sendAll, sha } from './bulk.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function say(event: string, fields: object = {}): void {
  process.stdout.write(`${JSON.stringify({ event, t: performance.now(), ...fields })}\n`);
}

const numberFlag = (name: string) => (flag(name) === undefined ? undefined : Number(flag(name)));

const server = createServer({
  interval: Number(flag('interval')),
  timeout: Number(flag('timeout')),
  receiveWindow: numberFlag('receive-window'),
  maxMessageSize: numberFlag('max-message'),
  // A death ends the session at once: these tests look at one connection, and what it never acknowledged
  // is reported 'unconfirmed' then rather than after a resume window.
  resumeWindow: 0,
});

let session: Session | undefined;
/** Payload bytes delivered to this application ('message' events). */
let consumed = 0;
/** The most bytes read from the socket and not consumed by the application, sampled (see watch()). */
let heldMax = 0;

function held(): number {
  const read = session?.socket?.bytesRead;
  return read === undefined ? 0 : read - consumed;
}

// Sampled on every chunk the socket delivers (the most the process ever held lies just after one) and on
// every message the application consumes.
function sample(): void {
  heldMax = Math.max(heldMax, held());
}

server.on('session', (s) => {
  session = s;
  say('session', { id: s.id });
  s.socket?.on('data', sample);
  s.on('message', (m) => {
    consumed += m.length;
    say('message', { index: indexOf(m), bytes: m.length, sha: sha(m) });
    sample();
  });
  s.on('rtt', (ms) => say('rtt', { ms }));
  s.on('dead', (r) => say('dead', { ...r }));
  s.on('unconfirmed', (list) => say('unconfirmed', { count: list.length }));
  s.on('close', () => say('close'));
});
server.on('error', (err) => say('error', { message: err.message }));

async function send(count: number, size: number): Promise<void> {
  const s = session;
  if (s === undefined) return say('send-failed', { error: 'no session' });
  try {
    const progress = await sendAll(s, messages(count, size), {
      onSent: (index, m) => say('sent', { index, sha: sha(m), buffered: s.buffered }),
      onBlocked: () => say('blocked', { buffered: s.buffered }),
      drainMs: 120_000,
    });
    say('send-done', { ...progress });
    // Everything acknowledged: nothing would be reported 'unconfirmed' if the session ended now.
    const poll = setInterval(() => {
      if (s.buffered > 0) return;
      clearInterval(poll);
      say('acked');
    }, 10);
  } catch (err) {
    say('send-failed', { error: (err as Error).message });
  }
}

function onCommand(c: PeerCommand): void {
  switch (c.cmd) {
    case 'send':
      void send(c.count, c.size);
      return;
    case 'pause':
      session?.pause();
      return say('paused');
    case 'resume':
      session?.resume();
      return say('resumed-app');
    case 'stats':
      sample();
      return say('stats', {
        buffered: session?.buffered,
        paused: session?.paused,
        bytesRead: session?.socket?.bytesRead,
        consumed,
        held: held(),
        heldMax,
        arrayBuffers: process.memoryUsage().arrayBuffers,
        stats: session?.stats,
      });
  }
}

createInterface({ input: process.stdin })
  .on('line', (line) => onCommand(JSON.parse(line) as PeerCommand))
  .on('close', () => process.exit(0));

server.listen(0, flag('host'), () => say('listening', { port: server.address().port }));
