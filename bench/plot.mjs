#!/usr/bin/env node
// Plots server CPU and server RSS against N for every system from a results file of bench/run.mjs:
// writes an SVG and renders it to PNG with headless Chromium (playwright-core, /usr/bin/chromium by default,
// or $CHROMIUM). Usage: node bench/plot.mjs [results.json] [--out file.png]
// Without a file, plots the newest non-cluster steady-state results in bench/results/.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { log } from './lib/proc.mjs';

const COLORS = {
  'net-idle': '#7f7f7f',
  'net-ping': '#1f77b4',
  ws: '#ff7f0e',
  socketio: '#d62728',
  lifeline: '#2ca02c',
};
const WIDTH = 1000;
const HEIGHT = 700;

const argv = process.argv.slice(2);
let input;
let out;
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--out') out = resolve(argv[++i]);
  else if (argv[i].startsWith('--')) {
    process.stderr.write(
      `unknown flag ${argv[i]}\nusage: node bench/plot.mjs [results.json] [--out file.png]\n`,
    );
    process.exit(2);
  } else input = resolve(argv[i]); // absolute: the SVG is opened as a file:// URL
}

const dir = fileURLToPath(new URL('./results/', import.meta.url));
if (!input) {
  const steady = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ f, data: JSON.parse(readFileSync(join(dir, f), 'utf8')) }))
    .filter(({ data }) => data.meta?.kind === 'steady')
    .sort((a, b) => a.data.meta.startedAt.localeCompare(b.data.meta.startedAt));
  if (steady.length === 0) {
    process.stderr.write('no steady-state results in bench/results/: run bench/run.mjs first\n');
    process.exit(2);
  }
  input = join(dir, steady.at(-1).f);
}
const data = JSON.parse(readFileSync(input, 'utf8'));
out ??= input.replace(/\.json$/, '.png');
const svgPath = out.replace(/\.png$/, '.svg');

const rows = data.summary.rows.filter((r) => r.runs > 0);
const systems = [...new Set(rows.map((r) => r.system))];
const series = (key, scale) =>
  systems.map((system) => ({
    system,
    points: rows
      .filter((r) => r.system === system)
      .map((r) => [r.n, r[key] / scale])
      .sort((a, b) => a[0] - b[0]),
  }));

const o = data.meta.options;
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${WIDTH / 2}" y="28" text-anchor="middle" font-size="18">lifeline benchmark: ${escapeXml(data.meta.label)} run, ${data.meta.startedAt.slice(0, 10)} — one server process, interval ${o.interval} ms, timeout ${o.timeout} ms</text>
<text x="${WIDTH / 2}" y="48" text-anchor="middle" font-size="13" fill="#555">Node ${data.meta.machine.node}, ${data.meta.machine.cpus} CPUs, window ${o.windowS} s, median of ${o.repeat} run(s)</text>
${panel(40, 70, 440, 520, 'server CPU (% of one core)', series('serverCpuPct', 1))}
${panel(530, 70, 440, 520, 'server RSS after GC (MB)', series('serverRss', 1024 * 1024))}
${legend(40, 650)}
</svg>`;
writeFileSync(svgPath, svg);
await render(svgPath, out);
log(`wrote ${out} (and ${basename(svgPath)}) from ${input}`);

function panel(x, y, w, h, title, lines) {
  const all = lines.flatMap((l) => l.points);
  const maxX = Math.max(...all.map((p) => p[0]));
  const maxY = niceCeil(Math.max(...all.map((p) => p[1])) * 1.05);
  const left = x + 55;
  const bottom = y + h - 40;
  const plotW = w - 70;
  const plotH = h - 70;
  const px = (v) => left + (v / maxX) * plotW;
  const py = (v) => bottom - (v / maxY) * plotH;
  const parts = [`<text x="${x + w / 2}" y="${y + 15}" text-anchor="middle" font-size="15">${title}</text>`];
  for (let i = 0; i <= 5; i++) {
    const v = (maxY * i) / 5;
    parts.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${py(v)}" y2="${py(v)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${py(v) + 4}" text-anchor="end" font-size="12">${tick(v)}</text>`,
    );
  }
  for (const n of [...new Set(all.map((p) => p[0]))]) {
    parts.push(
      `<line x1="${px(n)}" x2="${px(n)}" y1="${bottom}" y2="${bottom + 5}" stroke="#333"/>`,
      `<text x="${px(n)}" y="${bottom + 20}" text-anchor="middle" font-size="12">${n}</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" x2="${left + plotW}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`,
    `<line x1="${left}" x2="${left}" y1="${bottom}" y2="${py(maxY)}" stroke="#333"/>`,
    `<text x="${left + plotW / 2}" y="${bottom + 38}" text-anchor="middle" font-size="13">connections (N)</text>`,
  );
  for (const { system, points } of lines) {
    const color = COLORS[system] ?? '#000';
    const d = points.map(([a, b]) => `${px(a).toFixed(1)},${py(b).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${d}" fill="none" stroke="${color}" stroke-width="2.5"/>`);
    for (const [a, b] of points) {
      parts.push(`<circle cx="${px(a).toFixed(1)}" cy="${py(b).toFixed(1)}" r="4" fill="${color}"/>`);
    }
  }
  return parts.join('\n');
}

function legend(x, y) {
  return systems
    .map((s, i) => {
      const lx = x + i * 180;
      return `<rect x="${lx}" y="${y - 10}" width="24" height="4" fill="${COLORS[s] ?? '#000'}"/><text x="${lx + 30}" y="${y - 4}" font-size="14">${s}</text>`;
    })
    .join('\n');
}

function niceCeil(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function tick(v) {
  return v >= 100
    ? v.toFixed(0)
    : v >= 10
      ? v.toFixed(1).replace(/\.0$/, '')
      : v.toFixed(2).replace(/0+$/, '').replace(/\.$/, '');
}

function escapeXml(s) {
  return String(s).replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]);
}

async function render(svgFile, pngFile) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'],
    timeout: 30_000,
  });
  try {
    const page = await browser.newPage({ viewport: { width: WIDTH, height: HEIGHT } });
    await page.goto(`file://${svgFile}`, { timeout: 30_000 });
    await page.screenshot({ path: pngFile, timeout: 30_000 });
  } finally {
    await browser.close();
  }
}
