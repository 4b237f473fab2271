// The dashboard at 20 000 sessions in headless Chromium: 18 950 clients answering, 50 hung (their kernel
// ACKs, their program is silent) and 1 000 gone and waiting to be resumed, on a server whose dashboard is
// mounted under a sub-path of an application's own http.Server. Measures the first render, the bytes per
// second the tab receives and how busy the browser's main thread is, and takes screenshots at 1280 and
// 420 px wide (printed paths). Sessions in trouble come first; search and paging are done by the server.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createDashboardHandler, type DashboardHandler, probeRtt } from '../../src/metrics/index.js';
import { createServer, type HeartbeatServer } from '../../src/server/server.js';
import { ROOT } from '../helpers/cli.js';
import { type Browser, CHROMIUM, launch } from './browser.js';

const OPEN = 19_000;
const HUNG = 50;
const DETACHED = 1_000;
const SESSIONS = OPEN + DETACHED;
/** How long the tab is watched for its traffic and its main thread's load. */
const WINDOW_MS = 10_000;

const missing = !existsSync(CHROMIUM);
if (missing && process.env.CI === 'true')
  throw new Error(`${CHROMIUM} is missing (apt-get install -y chromium)`);

describe('the dashboard at 20 000 sessions', { skip: missing && `${CHROMIUM} is not installed` }, () => {
  let server: HeartbeatServer;
  let app: Server;
  let dashboard: DashboardHandler;
  let swarm: ChildProcess;
  let url: string;
  let hungPorts: number[] = [];
  let browser: Browser;

  before(async () => {
    // A long resume window and timeout: the gone and the hung stay in trouble for the whole test.
    server = createServer({ interval: 5000, timeout: 60_000, resumeWindow: 600_000 });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    probeRtt(server, 5000);
    dashboard = createDashboardHandler(server, {
      path: '/ops/lifeline/',
      info: { address: `127.0.0.1:${server.address().port}`, interval: 5000, timeout: 60_000 },
    });
    app = createHttpServer((req, res) => {
      if (!dashboard(req, res)) res.writeHead(404).end('the application’s own 404\n');
    });
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    url = dashboard.url(`http://127.0.0.1:${(app.address() as AddressInfo).port}`);

    swarm = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'test/dashboard/swarm.ts'),
        String(server.address().port),
        String(OPEN),
        String(HUNG),
        String(DETACHED),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`the swarm was not ready within 60 s: ${out}`)),
        60_000,
      );
      swarm.stdout!.setEncoding('utf8').on('data', (t: string) => {
        out += t;
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(out);
        }
      });
      swarm.on('exit', (code) => reject(new Error(`the swarm exited (${code}): ${out}`)));
    });
    const ready = JSON.parse(line) as { ready: number; hungPorts: number[]; ms: number };
    hungPorts = ready.hungPorts;
    console.log(`# ${ready.ready} clients answering or hung, ${DETACHED} gone, set up in ${ready.ms} ms`);
    const deadline = performance.now() + 10_000;
    while (server.sessions.size < SESSIONS && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(server.sessions.size, SESSIONS);
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    swarm?.stdin?.end();
    swarm?.kill();
    dashboard?.close();
    app?.close();
    app?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  test('renders within 1 s, receives little, and leaves the main thread mostly idle', async () => {
    const page = await browser.context.newPage();
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Performance.enable');
    let bytes = 0;
    let counting = false;
    cdp.on('Network.dataReceived', (e) => {
      if (counting) bytes += e.encodedDataLength > 0 ? e.encodedDataLength : e.dataLength;
    });
    const notFound: string[] = [];
    page.on('response', (r) => {
      if (r.status() >= 400) notFound.push(`${r.status()} ${r.url()}`);
    });

    await page.goto(url, { timeout: 10_000 });
    await page.locator('#sessions tbody tr[data-id]').first().waitFor({ timeout: 10_000 });
    const firstRender = await page.evaluate(
      () => performance.getEntriesByName('lifeline:first-render')[0]?.startTime ?? Number.NaN,
    );
    console.log(
      '# timing',
      await page.evaluate(() =>
        JSON.stringify(
          performance
            .getEntries()
            .map((e) => [e.name.replace(/^.*\//, ''), Math.round(e.startTime), Math.round(e.duration)]),
        ),
      ),
    );

    // Trouble first: the sessions waiting to be resumed, then the hung ones once their heartbeat is late.
    assert.equal(await page.locator('#sessions tbody tr').first().getAttribute('data-state'), 'detached');
    assert.equal(await page.locator('#c-sessions').textContent(), '20,000');
    assert.equal(await page.locator('#sessions tbody tr').count(), 50);
    assert.equal(await page.locator('#range').textContent(), '1–50 of 20,000');
    assert.deepEqual(notFound, [], 'no request failed (a favicon included)');
    assert.doesNotMatch(page.url(), /token=/, 'the token left the address bar');

    const metric = async (name: string) => {
      const { metrics } = (await cdp.send('Performance.getMetrics')) as {
        metrics: Array<{ name: string; value: number }>;
      };
      return metrics.find((m) => m.name === name)?.value ?? Number.NaN;
    };
    counting = true;
    const busy0 = await metric('TaskDuration');
    const t0 = performance.now();
    await page.waitForTimeout(WINDOW_MS);
    const busy1 = await metric('TaskDuration');
    const elapsed = (performance.now() - t0) / 1000;
    counting = false;
    const busyFraction = (busy1 - busy0) / elapsed;
    const bytesPerSecond = bytes / elapsed;
    console.log(
      `# ${SESSIONS} sessions: first render ${firstRender.toFixed(0)} ms, ` +
        `${(bytesPerSecond / 1024).toFixed(1)} kB/s per tab, main thread ${(busyFraction * 100).toFixed(1)} % busy`,
    );
    assert.ok(firstRender <= 1000, `first render ${firstRender} ms`);
    assert.ok(busyFraction < 0.2, `main thread ${busyFraction} busy`);
    assert.ok(bytesPerSecond < 50_000, `${bytesPerSecond} bytes/s`);

    // The hung sessions went silent more than 1.5 intervals ago: late, and counted as such.
    assert.equal(await page.locator('#c-late').textContent(), String(HUNG));
    const shots = join(tmpdir(), 'lifeline-dashboard');
    await page.screenshot({ path: `${shots}-1280.png`, fullPage: true });

    // The server pages and searches: the next page, and one session found among 20 000 by its address.
    await page.locator('#next').click();
    await page.locator('#range', { hasText: '51–100 of 20,000' }).waitFor({ timeout: 5000 });
    await page.locator('#search').fill(`:${hungPorts[0]}`);
    await page.locator('#range', { hasText: '1–1 of 1' }).waitFor({ timeout: 5000 });
    assert.equal(await page.locator('#sessions tbody tr[data-id]').count(), 1);
    assert.equal(await page.locator('#sessions tbody tr[data-id]').getAttribute('data-late'), 'true');
    await page.locator('#search').fill('');
    await page.locator('#range', { hasText: '1–50 of 20,000' }).waitFor({ timeout: 5000 });

    await page.setViewportSize({ width: 420, height: 900 });
    await page.waitForTimeout(300);
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    await page.screenshot({ path: `${shots}-420.png`, fullPage: true });
    console.log(`# screenshots: ${shots}-1280.png ${shots}-420.png`);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than a 420 px window`);
    await page.close();
  });
});
