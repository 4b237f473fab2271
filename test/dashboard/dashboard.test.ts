// The live dashboard of `serve --http` in real headless Chromium: the page loads, shows a connected
// session with its RTT, and shows its death (with cause) after the client is killed, in the same update as
// the session's new state — all pushed by server-sent events, no reload. Also /metrics and /events over
// plain HTTP, behind the token printed in the dashboard's address, on 127.0.0.1 by default.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type Served, startServe } from '../cli/helpers.js';
import { type EventReader, runCli } from '../helpers/cli.js';
import { type Browser, CHROMIUM, launch } from './browser.js';

/** Polls `check` every 50 ms until it holds, at most `ms`. */
async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the dashboard', { concurrency: false }, () => {
  let served: Served;
  const clients: EventReader[] = [];

  before(async () => {
    served = await startServe(['--http', '0', '--interval', '300ms', '--timeout', '1500ms']);
  });
  after(async () => {
    for (const c of clients) await c.stop();
    await served.reader.stop();
  });

  const base = () => served.http!.url.replace(/\?.*$/, '');
  const token = () => new URL(served.http!.url).searchParams.get('token')!;

  test('prints the dashboard address with its token, on 127.0.0.1', () => {
    assert.match(served.http!.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{32}$/);
  });

  test('refuses /metrics, /events and the page without the token', async () => {
    for (const path of ['metrics', 'events', '']) {
      const res = await fetch(`${base()}${path}`, { signal: AbortSignal.timeout(5000) });
      assert.equal(res.status, 401, path);
      await res.text();
    }
  });

  test('serves /metrics in Prometheus text format to a scraper with the token', async () => {
    const res = await fetch(`${base()}metrics`, {
      headers: { authorization: `Bearer ${token()}` },
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^# TYPE lifeline_rtt_seconds histogram$/m);
    assert.match(text, /^lifeline_sessions\{state="open"\} 0$/m);
  });

  test('streams a hello event on /events', async () => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 5000);
    const res = await fetch(`${base()}events?token=${token()}`, { signal: controller.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('event: hello')) text += new TextDecoder().decode((await reader.read()).value);
    clearTimeout(timer);
    controller.abort();
    assert.match(text, /"timeout":1500/);
  });

  test('in Chromium: shows a connected session, then its death after the client is killed', async (t) => {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing (apt-get install -y chromium)`);
      t.skip(`${CHROMIUM} is not installed`);
      return;
    }
    let browser: Browser | undefined;
    try {
      browser = await launch();
      const page = await browser.context.newPage();
      const failed: string[] = [];
      page.on('response', (r) => {
        if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
      });
      await page.goto(served.http!.url, { timeout: 10_000 });
      await page.locator('#status.live').waitFor({ timeout: 10_000 });

      const client = runCli(['connect', `127.0.0.1:${served.port}`, '--json', '--no-reconnect']);
      clients.push(client);
      const id = String((await client.waitFor((e) => e.event === 'connected', 10_000)).id);
      const row = page.locator(`#sessions tr[data-id="${id}"]`);
      await row.waitFor({ timeout: 5000 });
      assert.equal(await row.getAttribute('data-state'), 'open');
      assert.match((await row.textContent()) ?? '', /127\.0\.0\.1:\d+/);
      // The server samples RTTs for the table and the chart.
      await until(
        async () => /\d ms/.test((await row.locator('td').nth(3).textContent()) ?? ''),
        5000,
        'an RTT in the table',
      );
      await page.locator('#chart .uplot').waitFor({ timeout: 5000 });
      assert.deepEqual(failed, [], 'every request answered (the favicon too)');
      const body = (await page.locator('body').textContent()) ?? '';
      assert.doesNotMatch(body, /0\.00 ms ago|\b60 s\b/);
      // A session's colour is chosen by its id: the same after a reload.
      const dot = row.locator('.dot');
      const colour = await dot.getAttribute('style');
      await page.reload();
      await page.locator('#chart .uplot').waitFor({ timeout: 5000 });
      assert.equal(await dot.getAttribute('style'), colour);

      client.child.kill('SIGKILL');
      const death = page.locator(`#deaths tr[data-id="${id}"]`);
      await death.waitFor({ timeout: 5000 });
      // Its death and its new state came in one update: never "open" next to its own death row.
      assert.equal(await row.getAttribute('data-state'), 'detached');
      assert.match(String(await death.getAttribute('data-cause')), /^(closed|reset)$/);
      assert.equal(await page.locator('#c-deaths').textContent(), '1');
    } finally {
      await browser?.close();
    }
  });
});
