// lifeline connect: netcat that knows when its peer dies. Each line of stdin is sent as one message;
// each message received is written to stdout; status goes to stderr (or, with --json, every event is a
// JSON line on stdout).
import { createInterface } from 'node:readline';
import { connect as dial } from '../client/client.js';
import type { DeathReport } from '../session/death.js';
import {
  heartbeatFlags,
  heartbeatOptions,
  keepAliveFlags,
  keepAliveOptions,
  parse,
  parseHostPort,
} from './args.js';
import { describeConnectError } from './failure.js';
import { createOutput, type Fields, messageFields, ms } from './output.js';
import { deathLine } from './table.js';

export const connectFlags = {
  json: { type: 'boolean' },
  'no-heartbeat': { type: 'boolean' },
  'no-reconnect': { type: 'boolean' },
  ...heartbeatFlags,
  ...keepAliveFlags,
} as const;

export async function connect(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, connectFlags);
  const { host, port } = parseHostPort(positionals[0]);
  const json = values.json === true;
  const keepAlive = keepAliveOptions(values);
  const out = createOutput(json, () => undefined);
  const client = dial({
    host,
    port,
    ...heartbeatOptions(values),
    ...(keepAlive ? { keepAlive } : {}),
    ...(values['no-heartbeat'] ? { heartbeat: false } : {}),
    reconnect: values['no-reconnect'] !== true,
  });
  let status = 0;

  client.on('connected', (c) => {
    out.event('connected', { local: c.local, remote: c.remote, id: c.sessionId });
    out.status(
      `connected to ${c.remote} (session ${c.sessionId}, interval ${ms(c.interval)}, timeout ${ms(c.timeout)})`,
    );
  });
  client.on('rtt', (rtt) => out.event('rtt', { ms: Math.round(rtt * 1000) / 1000 }));
  client.on('message', (payload) => {
    if (json) out.event('message', messageFields(payload));
    else process.stdout.write(Buffer.concat([payload, Buffer.from('\n')]));
  });
  client.on('dead', (r: DeathReport) => {
    out.event('dead', deadFields(r));
    out.status(`peer ${deathLine(r)}`);
    if (values['no-reconnect']) status = 1;
  });
  client.on('reconnecting', (r) => {
    out.event('reconnecting', { attempt: r.attempt, delayMs: r.delayMs });
    out.status(`reconnecting in ${ms(r.delayMs)} (attempt ${r.attempt})`);
  });
  client.on('resumed', () => {
    out.event('resumed', { id: client.sessionId });
    out.status(`session ${client.sessionId} resumed`);
  });
  client.on('unconfirmed', (messages) => {
    out.event('error', {
      message: `session could not be resumed: ${messages.length} message(s) may not have arrived`,
    });
    out.status(`session could not be resumed: ${messages.length} message(s) may not have arrived`);
  });
  client.on('error', (err) => {
    status = 1;
    const message = describeConnectError(err, host, port);
    out.event('error', { message });
    if (!json) process.stderr.write(`lifeline connect: ${message}\n`);
  });

  const input = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  input.on('line', (line) => {
    try {
      client.send(line);
    } catch (err) {
      out.event('error', { message: (err as Error).message });
    }
  });
  // End of input: let what was sent be acknowledged (once connected at all), then say goodbye.
  input.on('close', () => {
    const bye = () => whenAcknowledged(client, () => client.close());
    if (client.sessionId === undefined) client.once('connected', bye);
    else bye();
  });
  process.once('SIGINT', () => client.close());
  process.once('SIGTERM', () => client.close());

  await new Promise<void>((resolve) => client.once('close', resolve));
  out.event('closed', {});
  return status;
}

function whenAcknowledged(client: ReturnType<typeof dial>, then: () => void): void {
  if (client.buffered === 0 || !client.connected) return then();
  const timer = setInterval(() => {
    if (client.buffered === 0 || !client.connected) {
      clearInterval(timer);
      then();
    }
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
