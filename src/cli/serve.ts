// lifeline serve: a heartbeat server that shows its sessions' lives (and with --echo sends every message
// back to its sender); with --http PORT also Prometheus metrics at /metrics and the live dashboard at /,
// on 127.0.0.1 unless --http-host says otherwise, behind a token printed in the dashboard's address.
// A port it cannot have (the heartbeat's or the dashboard's) ends it: exit status 1 and one line.
import { checkDashboardDependencies, createMetricsHttp, type MetricsHttp } from '../metrics/http.js';
import { probeRtt } from '../metrics/probe.js';
import { createServer, type HeartbeatServer } from '../server/server.js';
import {
  FatalError,
  heartbeatFlags,
  heartbeatOptions,
  keepAliveFlags,
  keepAliveOptions,
  noMorePositionals,
  parse,
  parsePort,
} from './args.js';
import { monitor } from './monitor.js';
import { ms } from './output.js';
import { serverSecurity, tlsFlags } from './tls.js';

export const serveFlags = {
  host: { type: 'string' },
  port: { type: 'string', short: 'p' },
  echo: { type: 'boolean' },
  json: { type: 'boolean' },
  http: { type: 'string' },
  'http-host': { type: 'string' },
  'http-token': { type: 'string' },
  ...heartbeatFlags,
  ...keepAliveFlags,
  ...tlsFlags,
} as const;

export async function serve(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, serveFlags);
  noMorePositionals('serve', positionals, 0);
  const host = typeof values.host === 'string' ? values.host : '0.0.0.0';
  const port = typeof values.port === 'string' ? parsePort('--port', values.port) : 7070;
  const httpPort = typeof values.http === 'string' ? parsePort('--http', values.http) : undefined;
  const httpHost = typeof values['http-host'] === 'string' ? values['http-host'] : '127.0.0.1';
  const httpToken = dashboardToken(values['http-token']);
  const json = values.json === true;
  const heartbeat = heartbeatOptions(values);
  const keepAlive = keepAliveOptions(values, heartbeat);
  const security = serverSecurity(values);
  if (httpPort !== undefined) needDashboard();
  const server = createServer({ ...heartbeat, ...(keepAlive ? { keepAlive } : {}), ...security });
  const view = monitor(server, {
    json,
    live: process.stdout.isTTY === true,
    echo: values.echo === true,
  });

  await listen(server, port, host);
  const address = server.address();
  view.out.event('listening', {
    host: address.address,
    port: address.port,
    ...(security.tls ? { tls: true } : {}),
  });
  const hb = server.heartbeat;
  view.log(`heartbeat: interval ${ms(hb.interval)}, timeout ${ms(hb.timeout)}, ${hb.detector} detector`);
  if (security.tls || security.authenticate) {
    const tls = security.tls ? `TLS${security.tls.requestCert ? ' with client certificates' : ''}` : '';
    const auth = security.authenticate ? 'clients must present --credentials' : '';
    view.log(`security: ${[tls, auth].filter(Boolean).join('; ')}`);
  }

  // The server hears RTTs only from PINGs it sends; the table and the dashboard want them.
  if (!json || httpPort !== undefined) probeRtt(server, Math.max(1000, hb.interval));
  let http: MetricsHttp | undefined;
  if (httpPort !== undefined) {
    try {
      http = await startHttp(server, httpPort, httpHost, `${address.address}:${address.port}`, httpToken);
    } catch (err) {
      view.stop();
      server.close();
      throw err;
    }
    const where = http.http.address() as { address: string; port: number };
    const url = http.url();
    view.out.event('http', { host: where.address, port: where.port, url });
    view.log(`dashboard: ${url}   metrics: ${dashboardOrigin(url)}metrics`);
  }

  return new Promise((resolve) => {
    const stop = () => {
      view.stop();
      http?.close();
      server.close(() => resolve(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** Listens on host:port; a port that cannot be had is one clear error naming the flag. */
export function listen(server: HeartbeatServer, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => reject(portError(err, '--port', port, host));
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve();
    });
  });
}

/** EADDRINUSE and friends, said for people: which flag, which port, what to do. */
function portError(err: NodeJS.ErrnoException, flag: string, port: number, host: string): Error {
  const where = `${host}:${port}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new FatalError(`${flag}: ${where} is already in use (pick another port)`);
    case 'EACCES':
      return new FatalError(`${flag}: not allowed to listen on ${where} (ports below 1024 need root)`);
    case 'EADDRNOTAVAIL':
      return new FatalError(`${flag}: ${host} is not an address of this machine`);
    default:
      return err;
  }
}

/** --http needs the optional peer dependencies prom-client and uplot: said before anything starts. */
function needDashboard(): void {
  try {
    checkDashboardDependencies();
  } catch (err) {
    throw new FatalError(
      `--http: ${(err as Error).message} (with -g when lifeline itself is installed globally)`,
    );
  }
}

/** --http-token: a token of at least 16 characters, or `none` for no token; by default one is made. */
function dashboardToken(value: unknown): string | false | undefined {
  if (typeof value !== 'string') return undefined;
  if (value === 'none') return false;
  if (value.length < 16) {
    throw new FatalError(
      '--http-token: give at least 16 characters (or none, only behind a proxy that authenticates)',
    );
  }
  return value;
}

/** The dashboard's address without its token: where /metrics is. */
function dashboardOrigin(url: string): string {
  return url.replace(/\?token=.*$/, '');
}

/** Starts metrics and the dashboard for `server` on host:port (`token` as createDashboardHandler's). */
export async function startHttp(
  server: HeartbeatServer,
  port: number,
  host: string,
  address: string,
  token?: string | false,
): Promise<MetricsHttp> {
  const hb = server.heartbeat;
  const http = createMetricsHttp(server, {
    info: { address, interval: hb.interval, timeout: hb.timeout, detector: hb.detector },
    ...(token === undefined ? {} : { token }),
  });
  await new Promise<void>((resolve, reject) => {
    http.http.once('error', (err: NodeJS.ErrnoException) => {
      http.close();
      reject(portError(err, '--http', port, host));
    });
    http.http.listen(port, host, () => resolve());
  });
  return http;
}
