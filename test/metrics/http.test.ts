// createDashboardHandler in an application's own http.Server: it answers only under its path, sends the
// mount point without its slash to the one with it, links only relatively, and guards the page, the event
// stream and the metrics with its token (a cookie after the first visit, Bearer for scrapers).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createDashboardHandler, type DashboardHandler } from '../../src/metrics/index.js';
import { createServer, type HeartbeatServer } from '../../src/server/server.js';

describe('createDashboardHandler mounted under /ops/lifeline/', () => {
  let server: HeartbeatServer;
  let dashboard: DashboardHandler;
  let app: Server;
  let origin: string;
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${origin}${path}`, { headers, redirect: 'manual', signal: AbortSignal.timeout(5000) });

  before(async () => {
    server = createServer({});
    dashboard = createDashboardHandler(server, { path: '/ops/lifeline/' });
    app = createHttpServer((req, res) => {
      if (!dashboard(req, res)) res.writeHead(418).end('mine');
    }).listen(0, '127.0.0.1');
    await once(app, 'listening');
    origin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  });
  after(() => {
    dashboard.close();
    app.close();
    server.close();
  });

  test("leaves the application's own routes to it", async () => {
    const res = await get('/health');
    assert.equal(res.status, 418);
    assert.equal(await res.text(), 'mine');
  });

  test('sends the mount point without its slash to the one with it, relatively', async () => {
    const res = await get('/ops/lifeline?token=x');
    assert.equal(res.status, 308);
    assert.equal(res.headers.get('location'), 'lifeline/?token=x');
  });

  test('links only relatively, and serves its favicon and scripts without a token', async () => {
    const res = await get(`/ops/lifeline/?token=${dashboard.token}`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.doesNotMatch(html, /(src|href)="\//);
    for (const file of ['favicon.svg', 'uplot.js', 'uplot.css', 'dashboard.js']) {
      const asset = await get(`/ops/lifeline/${file}`);
      assert.equal(asset.status, 200, file);
      await asset.arrayBuffer();
    }
  });

  test('the token: its url(), a cookie after the first visit, Bearer for metrics, 401 otherwise', async () => {
    assert.equal(dashboard.url('http://h:1'), `http://h:1/ops/lifeline/?token=${dashboard.token}`);
    const first = await get(`/ops/lifeline/?token=${dashboard.token}`);
    await first.text();
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
    assert.match(first.headers.get('set-cookie')!, /HttpOnly; SameSite=Strict/);
    const again = await get('/ops/lifeline/', { cookie });
    assert.equal(again.status, 200);
    await again.text();
    const metrics = await get('/ops/lifeline/metrics', { authorization: `Bearer ${dashboard.token}` });
    assert.equal(metrics.status, 200);
    await metrics.text();
    for (const headers of [{}, { authorization: 'Bearer wrong-token-wrong-token' }] as Array<
      Record<string, string>
    >) {
      const res = await get('/ops/lifeline/metrics', headers);
      assert.equal(res.status, 401);
      await res.text();
    }
  });

  test('a token of fewer than 16 characters is refused; token: false serves everyone', () => {
    assert.throws(() => createDashboardHandler(server, { token: 'short' }), RangeError);
    assert.throws(() => createDashboardHandler(server, { path: 'ops' }), TypeError);
    const open = createDashboardHandler(server, { token: false });
    assert.equal(open.token, undefined);
    assert.equal(open.url('http://h:1'), 'http://h:1/');
    open.close();
  });
});
