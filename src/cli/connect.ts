// lifeline connect: netcat that knows when its peer dies. Each line of stdin is sent as one message;
// each message received is written to stdout; status goes to stderr (or, with --json, every event is a
// JSON line on stdout). Every reconnect attempt says why the last one failed. The first Ctrl-C waits
// (briefly) for what was sent to be acknowledged, says goodbye and exits; a second one quits at once.
import { createInterface } from 'node:readline';
import { connect as dial, type HeartbeatClient } from '../client/client.js';
import type { DeathReport } from '../session/death.js';
import {
  heartbeatFlags,
  heartbeatOptions,
  keepAliveFlags,
  keepAliveOptions,
  noMorePositionals,
  parse,
  parseHostPort,
} from './args.js';
import { type AttemptContext, attemptFailure, finalFailure } from './failure.js';
import { createOutput, type Fields, humanText, messageFields, ms } from './output.js';
import { deathLine } from './table.js';
import { clientSecurity, tlsFlags } from './tls.js';

export const connectFlags = {
  json: { type: 'boolean' },
  'no-heartbeat': { type: 'boolean' },
  'no-reconnect': { type: 'boolean' },
  ...heartbeatFlags,
  ...keepAliveFlags,
  ...tlsFlags,
} as const;

/** After Ctrl-C, how long to wait for the server to acknowledge what was sent before saying goodbye. */
const ACK_WAIT_ON_SIGNAL_MS = 2000;

export async function connect(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, connectFlags);
  const { host, port } = parseHostPort(positionals[0]);
  noMorePositionals('connect', positionals, 1);
  const json = values.json === true;
  const heartbeat = heartbeatOptions(values);
  const keepAlive = keepAliveOptions(values, heartbeat);
  const security = clientSecurity(values);
  const out = createOutput(json, () => undefined);
  const client = dial({
    host,
    port,
    ...heartbeat,
    ...(keepAlive ? { keepAlive } : {}),
    ...(values['no-heartbeat'] ? { heartbeat: false } : {}),
    ...security,
    reconnect: values['no-reconnect'] !== true,
  });
  const attempt: AttemptContext = { host, port, tls: security.tls !== undefined, handshaking: true };
  let everConnected = false;
  let closing = false;
  let status = 0;

  client.on('connected', (c) => {
    attempt.handshaking = false;
    everConnected = true;
    out.event('connected', { local: c.local, remote: c.remote, id: c.sessionId });
    out.status(
      `connected to ${c.remote} (session ${c.sessionId}, interval ${ms(c.interval)}, timeout ${ms(c.timeout)})`,
    );
  });
  client.on('rtt', (rtt) => out.event('rtt', { ms: Math.round(rtt * 1000) / 1000 }));
  client.on('message', (payload) => {
    if (json) out.event('message', messageFields(payload));
    else if (process.stdout.isTTY) process.stdout.write(humanText(payload.toString('utf8')));
    else process.stdout.write(Buffer.concat([payload, Buffer.from('\n')]));
  });
  client.on('dead', (r: DeathReport) => {
    out.event('dead', deadFields(r));
    out.status(`peer ${deathLine(r)}`);
    if (values['no-reconnect']) status = 1;
  });
  client.on('reconnecting', (r) => {
    // `error` is the Error that ended the previous attempt (its `code` an errno or a LIFELINE_* code).
    const error = (r as { error?: Error }).error;
    const reason = error === undefined ? undefined : attemptFailure(error, attempt);
    attempt.handshaking = true;
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    out.event('reconnecting', {
      attempt: r.attempt,
      delayMs: r.delayMs,
      ...(reason ? { reason } : {}),
      ...(code ? { code } : {}),
    });
    out.status(`reconnecting in ${ms(r.delayMs)} (attempt ${r.attempt})${reason ? `: ${reason}` : ''}`);
  });
  client.on('resumed', () => {
    out.event('resumed', { id: client.sessionId });
    out.status(`session ${client.sessionId} resumed`);
  });
  client.on('unconfirmed', (messages) => {
    const count = messages.length;
    out.event('unconfirmed', { count });
    out.status(
      closing
        ? `${count} message(s) not acknowledged before closing: they may not have arrived`
        : `the server could not resume the session: ${count} message(s) may not have arrived`,
    );
  });
  client.on('error', (err) => {
    status = 1;
    const message = finalFailure(err, attempt, everConnected);
    const code = (err as NodeJS.ErrnoException).code;
    out.event('error', { message, ...(code ? { code } : {}) });
    if (!json) process.stderr.write(humanText(`lifeline connect: ${message}`));
  });

  const input = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  // Backpressure: when send() says wait, stop reading standard input until 'drain'; lines readline had
  // already split wait here, in order. Nothing is dropped, however fast the input.
  const waiting: string[] = [];
  let blocked = false;
  let inputEnded = false;
  const sendLine = (line: string): boolean => {
    try {
      return client.send(line);
    } catch (err) {
      out.event('error', { message: (err as Error).message });
      out.status(`lifeline connect: ${(err as Error).message}`);
      return true;
    }
  };
  const flush = () => {
    blocked = false;
    while (waiting.length > 0 && !blocked) if (!sendLine(waiting.shift()!)) block();
    if (blocked) return;
    if (inputEnded) endOfInput();
    else input.resume();
  };
  const block = () => {
    blocked = true;
    input.pause();
    client.once('drain', flush);
  };
  input.on('line', (line) => {
    if (blocked || closing) {
      if (!closing) waiting.push(line);
      return;
    }
    if (!sendLine(line)) block();
  });
  const goodbye = (maxWaitMs: number) => {
    if (closing) return;
    closing = true;
    whenAcknowledged(client, maxWaitMs, () => client.close());
  };
  // End of input: once connected at all and every line sent, let it be acknowledged, then say goodbye.
  const endOfInput = () => {
    if (closing || blocked) return;
    if (client.sessionId === undefined) client.once('connected', () => goodbye(Number.POSITIVE_INFINITY));
    else goodbye(Number.POSITIVE_INFINITY);
  };
  input.on('close', () => {
    inputEnded = true;
    endOfInput();
  });
  let interrupted = false;
  const interrupt = () => {
    if (interrupted) {
      out.status('interrupted again: quitting without waiting');
      process.exit(130);
    }
    interrupted = true;
    goodbye(ACK_WAIT_ON_SIGNAL_MS);
    // Usually acknowledged within a round trip; say so when it takes long.
    setTimeout(() => {
      if (client.buffered > 0 && client.connected) {
        out.status(
          `closing: waiting for ${client.buffered} byte(s) to be acknowledged (Ctrl-C again to quit now)`,
        );
      }
    }, 300).unref();
    input.close(); // typed lines are no longer read: none is taken and then dropped
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);

  await new Promise<void>((resolve) => client.once('close', resolve));
  process.off('SIGINT', interrupt);
  process.off('SIGTERM', interrupt);
  input.close();
  process.stdin.destroy();
  if (closing && client.lastEnd?.goaway === 'normal') out.status('closed: said goodbye (GOAWAY normal)');
  out.event('closed', {});
  return status;
}

/**
 * Calls `then` once the peer has acknowledged everything sent, the connection is down (nothing more can be
 * acknowledged on it), or `maxWaitMs` has passed, whichever comes first. A peer acknowledges with its next
 * PING or PONG (docs/PROTOCOL.md), so a PING now gets the acknowledgement within a round trip.
 */
function whenAcknowledged(client: HeartbeatClient, maxWaitMs: number, then: () => void): void {
  const startedAt = performance.now();
  const done = () => client.buffered === 0 || !client.connected || performance.now() - startedAt >= maxWaitMs;
  if (done()) return then();
  client.ping();
  const timer = setInterval(() => {
    if (!done()) return;
    clearInterval(timer);
    then();
  }, 20);
}

export function deadFields(r: DeathReport): Fields {
  return {
    cause: r.cause,
    silentMs: Math.round(r.silentMs),
    ...(r.diagnosis ? { diagnosis: r.diagnosis } : {}),
    ...(r.detail ? { detail: r.detail } : {}),
  };
}
