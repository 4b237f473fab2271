// lifeline serve: a heartbeat server that prints its sessions' lives (and with --echo sends every
// message back to its sender).
import { createServer } from '../server/server.js';
import type { Session } from '../server/session.js';
import {
  heartbeatFlags,
  heartbeatOptions,
  keepAliveFlags,
  keepAliveOptions,
  parse,
  parsePort,
} from './args.js';
import { createOutput, type Fields, messageFields, ms } from './output.js';

export const serveFlags = {
  host: { type: 'string' },
  port: { type: 'string', short: 'p' },
  echo: { type: 'boolean' },
  json: { type: 'boolean' },
  http: { type: 'string' },
  ...heartbeatFlags,
  ...keepAliveFlags,
} as const;

export async function serve(argv: string[]): Promise<number> {
  const { values } = parse(argv, serveFlags);
  const host = typeof values.host === 'string' ? values.host : '0.0.0.0';
  const port = typeof values.port === 'string' ? parsePort('--port', values.port) : 7070;
  const keepAlive = keepAliveOptions(values);
  const out = createOutput(values.json === true, human);
  const server = createServer({ ...heartbeatOptions(values), ...(keepAlive ? { keepAlive } : {}) });

  server.on('session', (session: Session) => {
    const id = session.id;
    out.event('session', { id, remote: `${session.remoteAddress}:${session.remotePort}` });
    session.on('rtt', (rtt) => out.event('rtt', { id, ms: round(rtt) }));
    session.on('message', (payload) => {
      out.event('message', { id, ...messageFields(payload) });
      if (values.echo) session.send(payload);
    });
    session.on('dead', (r) =>
      out.event('dead', {
        id,
        cause: r.cause,
        silentMs: Math.round(r.silentMs),
        ...(r.diagnosis ? { diagnosis: r.diagnosis } : {}),
        ...(r.detail ? { detail: r.detail } : {}),
      }),
    );
    session.on('resumed', () =>
      out.event('resumed', { id, remote: `${session.remoteAddress}:${session.remotePort}` }),
    );
    session.on('close', () => out.event('closed', { id }));
  });
  server.on('error', (err) => out.event('error', { message: err.message }));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  out.event('listening', { host: address.address, port: address.port });

  return new Promise((resolve) => {
    const stop = () => server.close(() => resolve(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function human(event: string, f: Fields): string | undefined {
  switch (event) {
    case 'listening':
      return `listening on ${f.host}:${f.port}`;
    case 'session':
      return `[${f.id}] session from ${f.remote}`;
    case 'rtt':
      return undefined;
    case 'message':
      return `[${f.id}] ${f.text ?? `<${f.bytes} bytes>`}`;
    case 'dead':
      return `[${f.id}] DEAD ${f.cause}${f.diagnosis ? ` (${f.diagnosis})` : ''} after ${ms(Number(f.silentMs))} of silence`;
    case 'resumed':
      return `[${f.id}] resumed from ${f.remote}`;
    case 'closed':
      return `[${f.id}] closed`;
    default:
      return `${event}: ${JSON.stringify(f)}`;
  }
}
