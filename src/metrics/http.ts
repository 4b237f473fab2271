// The HTTP side of metrics and the dashboard: GET /metrics (Prometheus text), GET / (the live dashboard),
// GET /events (its server-sent events) and the chart library's two files. Read-only: no route changes a
// session, so it can be exposed to whoever may see the sessions' addresses.
import { readFileSync } from 'node:fs';
import type { Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { HeartbeatServer } from '../server/server.js';
import { DashboardFeed, type FeedOptions } from './feed.js';
import { instrument, type MetricsRegistry } from './instrument.js';
import { requireInstalled, resolveOptional } from './optional.js';
import { DASHBOARD_HTML } from './page.js';

const require = createRequire(import.meta.url);

/** The chart library's files, served at /uplot.js and /uplot.css. */
const UPLOT_JS = 'uplot/dist/uPlot.iife.min.js';
const UPLOT_CSS = 'uplot/dist/uPlot.min.css';

export interface MetricsHttpOptions extends FeedOptions {
  /** The prom-client Registry to serve. Default: instrument(server). */
  registry?: MetricsRegistry;
  /** Shown in the dashboard's header (the heartbeat server's address, its settings...). */
  info?: Record<string, unknown>;
}

export interface MetricsHttp {
  readonly http: Server;
  readonly registry: MetricsRegistry;
  readonly feed: DashboardFeed;
  /** Stops the feed and the HTTP server (open event streams are ended). */
  close(callback?: () => void): void;
}

/** Throws LIFELINE_UNSUPPORTED naming the optional packages the dashboard needs and that are not installed. */
export function checkDashboardDependencies(): void {
  requireInstalled(['prom-client', UPLOT_JS]);
}

/**
 * An http.Server (not listening yet: call `.http.listen(port, host)`) serving /metrics, the dashboard at /
 * and its event stream at /events for `server`. Needs the optional peer dependencies prom-client and uplot;
 * throws LIFELINE_UNSUPPORTED naming those that are not installed.
 */
export function createMetricsHttp(server: HeartbeatServer, options: MetricsHttpOptions = {}): MetricsHttp {
  checkDashboardDependencies();
  const registry = options.registry ?? instrument(server);
  const feed = new DashboardFeed(server, options.info, options);
  // node:http is loaded here, not at import: a process that never serves metrics does not pay for it.
  const { createServer } = require('node:http') as typeof import('node:http');
  const httpServer = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    switch (path) {
      case '/':
      case '/index.html':
        return reply(res, 200, 'text/html; charset=utf-8', DASHBOARD_HTML);
      case '/metrics':
        registry.metrics().then(
          (text) => reply(res, 200, registry.contentType, text),
          (err: Error) => reply(res, 500, 'text/plain', `${err.message}\n`),
        );
        return;
      case '/events':
        return feed.attach(res);
      case '/uplot.js':
        return asset(res, UPLOT_JS, 'text/javascript; charset=utf-8');
      case '/uplot.css':
        return asset(res, UPLOT_CSS, 'text/css; charset=utf-8');
      default:
        return reply(res, 404, 'text/plain', 'not found: try / (dashboard) or /metrics\n');
    }
  });
  return {
    http: httpServer,
    registry,
    feed,
    close(callback) {
      feed.close();
      httpServer.close(() => callback?.());
      httpServer.closeAllConnections();
    },
  };
}

function reply(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

const assets = new Map<string, Buffer | undefined>();

/** A file of the uplot package (checked for when the server was created), read once. */
function asset(res: ServerResponse, specifier: string, type: string): void {
  if (!assets.has(specifier)) {
    const path = resolveOptional(specifier);
    assets.set(specifier, path === undefined ? undefined : readFileSync(path));
  }
  const body = assets.get(specifier);
  if (body === undefined) return reply(res, 404, 'text/plain', `${specifier} is not installed\n`);
  res.writeHead(200, { 'content-type': type, 'cache-control': 'max-age=3600' });
  res.end(body);
}
