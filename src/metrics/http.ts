// The HTTP side of metrics and the dashboard: a request handler that mounts under a path of any http.Server
// (the page, its script, its event stream, /metrics, the chart library's files, a favicon), and a server of
// its own for `serve --http`. Read-only: no route changes a session. The page and the data need a token.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { HeartbeatServer } from '../server/server.js';
import { DashboardFeed, type FeedOptions, MAX_CHART } from './feed.js';
import { instrument, type MetricsRegistry } from './instrument.js';
import { requireInstalled, resolveOptional } from './optional.js';
import { DASHBOARD_HTML, FAVICON_SVG, unauthorizedPage } from './page.js';
import { dashboardScript } from './script.js';

const require = createRequire(import.meta.url);

/** The chart library's files, served beside the page as uplot.js and uplot.css. */
const UPLOT_JS = 'uplot/dist/uPlot.iife.min.js';
const UPLOT_CSS = 'uplot/dist/uPlot.min.css';
/** A token the operator chooses must be at least this long: it is all that guards the sessions' addresses. */
const MIN_TOKEN_LENGTH = 16;

export interface DashboardOptions extends FeedOptions {
  /** The prom-client Registry to serve at `metrics`. Default: instrument(server). */
  registry?: MetricsRegistry;
  /** Shown in the dashboard's header (the heartbeat server's address, its settings...). */
  info?: Record<string, unknown>;
  /**
   * The path the dashboard is mounted at, with a leading and a trailing '/'. Default '/'. Every link of the
   * page is relative, so a proxy may also serve it under another prefix.
   */
  path?: string;
  /**
   * The secret a browser (`?token=`, then a cookie) or a scraper (`Authorization: Bearer`) must present.
   * Default: 24 random bytes, base64url, made at start (see `token` and `url()` of the handler). At least 16
   * characters. `false` serves everyone: only behind something that authenticates, the page shows every
   * session's address.
   */
  token?: string | false;
}

/** A request handler: true when it answered the request (it was under `path`), false to leave it to you. */
export interface DashboardHandler {
  (req: IncomingMessage, res: ServerResponse): boolean;
  readonly path: string;
  /** The token requests need, or undefined when none is (token: false). */
  readonly token: string | undefined;
  readonly registry: MetricsRegistry;
  readonly feed: DashboardFeed;
  /** The dashboard's address on `origin` (e.g. 'http://127.0.0.1:9090'), with the token: the one to open. */
  url(origin: string): string;
  /** Stops the feed and ends the open event streams. */
  close(): void;
}

export interface MetricsHttpOptions extends Omit<DashboardOptions, 'path'> {}

export interface MetricsHttp {
  readonly http: Server;
  readonly registry: MetricsRegistry;
  readonly feed: DashboardFeed;
  readonly token: string | undefined;
  /** The dashboard's address on `origin`, with the token. Default origin: where `http` listens. */
  url(origin?: string): string;
  /** Stops the feed and the HTTP server (open event streams are ended). */
  close(callback?: () => void): void;
}

/** Throws LIFELINE_UNSUPPORTED naming the optional packages the dashboard needs and that are not installed. */
export function checkDashboardDependencies(): void {
  requireInstalled(['prom-client', UPLOT_JS]);
}

/**
 * A handler serving the dashboard of `server` under `options.path` of your own http.Server:
 * `http.createServer((req, res) => { if (!dashboard(req, res)) myRoutes(req, res); })`. Serves the page
 * (`path`), its event stream (`path` + 'events'), Prometheus metrics (`path` + 'metrics') and static files.
 * Needs the optional peer dependencies prom-client and uplot; throws LIFELINE_UNSUPPORTED naming those that
 * are not installed.
 */
export function createDashboardHandler(
  server: HeartbeatServer,
  options: DashboardOptions = {},
): DashboardHandler {
  checkDashboardDependencies();
  const base = checkPath(options.path ?? '/');
  const token = checkToken(options.token);
  const cookie = token === undefined ? '' : `lifeline_${digest(token).subarray(0, 6).toString('hex')}`;
  const registry = options.registry ?? instrument(server);
  const feed = new DashboardFeed(server, options.info, options);
  // Read (or, from a source checkout, transpiled) now rather than on the first page load.
  const script = dashboardScript();

  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://x');
    // The mount point without its slash: relative links would resolve one level up, so add it.
    if (url.pathname === base.slice(0, -1)) {
      const last = base.slice(0, -1).split('/').pop()!;
      res.writeHead(308, { location: `${last}/${url.search}` }).end();
      return true;
    }
    if (!url.pathname.startsWith(base)) return false;
    const route = url.pathname.slice(base.length);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    switch (route) {
      case 'dashboard.js':
        return asset(res, 'text/javascript; charset=utf-8', script, 'no-cache');
      case 'uplot.js':
        return asset(res, 'text/javascript; charset=utf-8', uplot(UPLOT_JS));
      case 'uplot.css':
        return asset(res, 'text/css; charset=utf-8', uplot(UPLOT_CSS));
      case 'favicon.svg':
      case 'favicon.ico':
        return asset(res, 'image/svg+xml', FAVICON_SVG);
    }
    const given = presented(req, url, cookie);
    if (token !== undefined && (given === undefined || !same(given, token))) {
      const html = route === '' || route === 'index.html';
      reply(
        res,
        401,
        html ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8',
        html
          ? unauthorizedPage(given !== undefined)
          : 'a token is needed: Authorization: Bearer TOKEN, or ?token=TOKEN\n',
      );
      return true;
    }
    switch (route) {
      case '':
      case 'index.html': {
        const headers: Record<string, string> = {};
        // The token leaves the address bar (the page removes it) and lives on in a cookie for this path.
        if (token !== undefined && url.searchParams.get('token') === token) {
          headers['set-cookie'] = `${cookie}=${token}; HttpOnly; SameSite=Strict`;
        }
        reply(res, 200, 'text/html; charset=utf-8', DASHBOARD_HTML, headers);
        return true;
      }
      case 'metrics':
        registry.metrics().then(
          (text) => reply(res, 200, registry.contentType, text),
          (err: Error) => reply(res, 500, 'text/plain', `${err.message}\n`),
        );
        return true;
      case 'events': {
        const p = url.searchParams;
        const chart = (p.get('chart') ?? '').split(',').filter((id) => id !== '');
        feed.attach(res, {
          q: p.get('q') ?? '',
          page: Number(p.get('page')) || 0,
          size: Number(p.get('size')) || undefined,
          chart: chart.slice(0, MAX_CHART),
        });
        return true;
      }
      default:
        reply(
          res,
          404,
          'text/plain; charset=utf-8',
          'not found: the dashboard is at ./ and metrics at ./metrics\n',
        );
        return true;
    }
  };
  return Object.assign(handle, {
    path: base,
    token,
    registry,
    feed,
    url: (origin: string) =>
      `${origin.replace(/\/$/, '')}${base}${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`,
    close: () => feed.close(),
  });
}

/**
 * An http.Server (not listening yet: call `.http.listen(port, '127.0.0.1')`) serving the dashboard of
 * `server` at / and its metrics at /metrics. See createDashboardHandler for the options; the token is the
 * handler's (`token`, and `url()` once listening).
 */
export function createMetricsHttp(server: HeartbeatServer, options: MetricsHttpOptions = {}): MetricsHttp {
  const handler = createDashboardHandler(server, { ...options, path: '/' });
  // node:http is loaded here, not at import: a process that never serves metrics does not pay for it.
  const { createServer } = require('node:http') as typeof import('node:http');
  const httpServer = createServer((req, res) => {
    if (!handler(req, res)) reply(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  });
  return {
    http: httpServer,
    registry: handler.registry,
    feed: handler.feed,
    token: handler.token,
    url(origin) {
      if (origin !== undefined) return handler.url(origin);
      const where = httpServer.address();
      if (where === null || typeof where === 'string')
        throw new Error('url(): the HTTP server is not listening');
      const host = where.address === '0.0.0.0' || where.address === '::' ? 'localhost' : where.address;
      return handler.url(`http://${host.includes(':') ? `[${host}]` : host}:${where.port}`);
    },
    close(callback) {
      handler.close();
      httpServer.close(() => callback?.());
      httpServer.closeAllConnections();
    },
  };
}

/** The token a request presents: Authorization: Bearer, ?token=, or the cookie the page set. */
function presented(req: IncomingMessage, url: URL, cookie: string): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const query = url.searchParams.get('token');
  if (query !== null) return query;
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === cookie) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** Compares digests, in constant time: how long a wrong guess takes says nothing about the token. */
function same(given: string, token: string): boolean {
  return timingSafeEqual(digest(given), digest(token));
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function checkPath(path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/') || !path.endsWith('/')) {
    throw new TypeError(
      `createDashboardHandler(): path must start and end with '/', got ${JSON.stringify(path)}`,
    );
  }
  return path;
}

function checkToken(token: string | false | undefined): string | undefined {
  if (token === false) return undefined;
  if (token === undefined) return randomBytes(24).toString('base64url');
  if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH) {
    throw new RangeError(
      `createDashboardHandler(): token must be a string of at least ${MIN_TOKEN_LENGTH} characters (or false for none)`,
    );
  }
  return token;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  // The page's address may carry the token: never send it on.
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
};

function reply(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    ...SECURITY_HEADERS,
    ...headers,
  });
  res.end(body);
}

/** A file that is the same for everyone: no token, cached for an hour. */
function asset(
  res: ServerResponse,
  type: string,
  body: string | Buffer | undefined,
  cache = 'max-age=3600',
): boolean {
  if (body === undefined) {
    reply(res, 404, 'text/plain', 'not installed\n');
    return true;
  }
  res.writeHead(200, { 'content-type': type, 'cache-control': cache, ...SECURITY_HEADERS });
  res.end(body);
  return true;
}

const uplotFiles = new Map<string, Buffer | undefined>();

/** A file of the uplot package (checked for when the handler was created), read once. */
function uplot(specifier: string): Buffer | undefined {
  if (!uplotFiles.has(specifier)) {
    const path = resolveOptional(specifier);
    uplotFiles.set(specifier, path === undefined ? undefined : readFileSync(path));
  }
  return uplotFiles.get(specifier);
}
