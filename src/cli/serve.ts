// lifeline serve: a heartbeat server that shows its sessions' lives (and with --echo sends every message
// back to its sender); with --http PORT also Prometheus metrics at /metrics and the live dashboard at /.
import { createMetricsHttp, type MetricsHttp } from '../metrics/http.js';
import { probeRtt } from '../metrics/probe.js';
import { createServer, type HeartbeatServer } from '../server/server.js';
import {
  heartbeatFlags,
  heartbeatOptions,
  keepAliveFlags,
  keepAliveOptions,
  parse,
  parsePort,
  UsageError,
} from './args.js';
import { monitor } from './monitor.js';
import { ms } from './output.js';

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
  const { values, positionals } = parse(argv, serveFlags);
  if (positionals.length > 0) throw new UsageError(`serve: unexpected argument "${positionals[0]}"`);
  const host = typeof values.host === 'string' ? values.host : '0.0.0.0';
  const port = typeof values.port === 'string' ? parsePort('--port', values.port) : 7070;
  const httpPort = typeof values.http === 'string' ? parsePort('--http', values.http) : undefined;
  const json = values.json === true;
  const keepAlive = keepAliveOptions(values);
  const server = createServer({ ...heartbeatOptions(values), ...(keepAlive ? { keepAlive } : {}) });
  const view = monitor(server, {
    json,
    live: process.stdout.isTTY === true,
    echo: values.echo === true,
  });

  await listen(server, port, host);
  const address = server.address();
  view.out.event('listening', { host: address.address, port: address.port });
  const hb = server.heartbeat;
  view.log(`heartbeat: interval ${ms(hb.interval)}, timeout ${ms(hb.timeout)}, ${hb.detector} detector`);

  // The server hears RTTs only from PINGs it sends; the table and the dashboard want them.
  if (!json || httpPort !== undefined) probeRtt(server, Math.max(1000, hb.interval));
  let http: MetricsHttp | undefined;
  if (httpPort !== undefined) {
    http = await startHttp(server, httpPort, host, `${address.address}:${address.port}`);
    const where = http.http.address() as { address: string; port: number };
    const url = `http://${urlHost(where.address)}:${where.port}/`;
    view.out.event('http', { host: where.address, port: where.port, url });
    view.log(`dashboard: ${url}   metrics: ${url}metrics`);
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

export function listen(server: HeartbeatServer, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Starts metrics and the dashboard for `server` on host:port. */
export async function startHttp(
  server: HeartbeatServer,
  port: number,
  host: string,
  address: string,
): Promise<MetricsHttp> {
  const hb = server.heartbeat;
  const http = createMetricsHttp(server, {
    info: { address, interval: hb.interval, timeout: hb.timeout, detector: hb.detector },
  });
  await new Promise<void>((resolve, reject) => {
    http.http.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE' ? new UsageError(`--http: port ${port} is already in use on ${host}`) : err,
      ),
    );
    http.http.listen(port, host, () => resolve());
  });
  return http;
}

/** A host for a URL people can click: the wildcard addresses become localhost, IPv6 gets brackets. */
export function urlHost(address: string): string {
  if (address === '0.0.0.0' || address === '::') return 'localhost';
  return address.includes(':') ? `[${address}]` : address;
}
