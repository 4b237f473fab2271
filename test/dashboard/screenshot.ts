// Makes docs/dashboard.png: runs `lifeline demo`, lets one act play (a hang, a kill, a resume, a newcomer),
// and photographs the dashboard in headless Chromium. Not a test: `node --import tsx test/dashboard/screenshot.ts`.
import { spawn } from 'node:child_process';
import { cliArgv, ROOT } from '../helpers/cli.js';
import { launch } from './browser.js';

const [cmd, ...rest] = cliArgv(['demo', '--http', '0']);
const demo = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
demo.stdout.setEncoding('utf8').on('data', (t: string) => {
  out += t;
  process.stdout.write(t);
});
const url = await new Promise<string>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('the demo printed no dashboard URL within 15 s')), 15_000);
  const poll = setInterval(() => {
    const m = /dashboard: (http:\S+)/.exec(out);
    if (m) {
      clearInterval(poll);
      clearTimeout(timer);
      resolve(m[1]!);
    }
  }, 50);
});
const browser = await launch();
try {
  const page = await browser.context.newPage();
  await page.goto(url);
  await page.waitForTimeout(Number(process.env.SHOT_AFTER_MS ?? 17_000));
  await page.screenshot({ path: `${ROOT}docs/dashboard.png`, fullPage: true });
  console.log(`wrote ${ROOT}docs/dashboard.png`);
} finally {
  await browser.close();
  demo.kill('SIGINT');
}
