// The package as a user gets it: `npm pack`, installed from the tarball into an empty folder, and the README's
// quick start run as ESM, CommonJS and TypeScript (type-checked under --strict with tsc's default module
// settings and with nodenext). prom-client and uplot are optional peers: not installed, and named when needed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const TSX = import.meta.resolve('tsx');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (at most `ms`), never throwing for a non-zero exit. */
function run(cmd: string, args: string[], cwd: string, ms: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: ms, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr: err?.killed ? `${stderr}\n(killed after ${ms} ms)` : stderr });
    });
  });
}

function ok(r: Run, what: string): void {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
}

/** The first ```ts block of the README's "Quick start" section. */
function quickStart(readme: string): string {
  const section = readme.slice(readme.indexOf('## Quick start'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'README has a ```ts block under ## Quick start');
  return m[1]!;
}

/** The quick start as CommonJS: its import line becomes a require(). */
function asCommonJs(source: string): string {
  const out = source.replace(
    /^import \{([^}]+)\} from '([^']+)';$/m,
    (_, names: string, from: string) => `const {${names}} = require('${from}');`,
  );
  assert.notEqual(out, source, 'the quick start imports from one module');
  return out;
}

describe('the packed package, installed in an empty folder', { concurrency: false }, () => {
  let work: string;
  let app: string;
  let tarball: string;
  let example: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'lifeline-package-'));
    app = join(work, 'app');
    mkdirSync(app);
    // prepack builds dist/ afresh.
    ok(await run('npm', ['pack', '--pack-destination', work], ROOT, 180_000), 'npm pack');
    const name = readdirSync(work).find((f) => f.endsWith('.tgz'));
    assert.ok(name, `npm pack left a tarball in ${work}`);
    tarball = join(work, name);
    writeFileSync(
      join(app, 'package.json'),
      `${JSON.stringify({ name: 'app', private: true, type: 'module' })}\n`,
    );
    ok(
      await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], app, 180_000),
      'npm install of the tarball',
    );
    example = quickStart(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('ships dist, docs and LICENSE, without source maps, the screenshot or the tests', async () => {
    const r = await run('tar', ['-tzf', tarball], work, 30_000);
    ok(r, 'tar -t');
    const files = r.stdout.split('\n').filter(Boolean);
    for (const f of [
      'LICENSE',
      'README.md',
      'package.json',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
    ])
      assert.ok(files.includes(`package/${f}`), `${f} is in the tarball`);
    assert.deepEqual(
      files.filter((f) => /\.map$|\.png$|^package\/(src|test|bench)\//.test(f)),
      [],
      'no source maps, images, sources, tests or benchmarks',
    );
  });

  test('installs as tcp-lifeline with the lifeline bin, and without its optional peers', async (t) => {
    const modules = join(app, 'node_modules');
    const pkg = JSON.parse(readFileSync(join(modules, 'tcp-lifeline', 'package.json'), 'utf8'));
    assert.equal(pkg.name, 'tcp-lifeline');
    assert.deepEqual(pkg.bin, { lifeline: './dist/cli/main.js' });
    assert.deepEqual(pkg.peerDependenciesMeta, {
      'prom-client': { optional: true },
      uplot: { optional: true },
    });
    const installed = readdirSync(modules);
    assert.ok(!installed.includes('prom-client'), 'prom-client is not installed');
    assert.ok(!installed.includes('uplot'), 'uplot is not installed');
    const du = await run('du', ['-sk', modules], app, 30_000);
    t.diagnostic(`node_modules after installing the tarball: ${du.stdout.split('\t')[0]} kB (du -sk)`);
  });

  test('the quick start runs as ESM (.mjs): a client connects, its message is echoed, the program exits', async () => {
    writeFileSync(join(app, 'quick-start.mjs'), example);
    const r = await run(process.execPath, ['quick-start.mjs'], app, 20_000);
    ok(r, 'node quick-start.mjs');
    assert.match(r.stdout, /^echoed: hello$/m);
    assert.doesNotMatch(r.stderr, /Error/);
  });

  test('the quick start runs as CommonJS (.cjs), through require(esm)', async () => {
    writeFileSync(join(app, 'quick-start.cjs'), asCommonJs(example));
    const r = await run(process.execPath, ['quick-start.cjs'], app, 20_000);
    ok(r, 'node quick-start.cjs');
    assert.match(r.stdout, /^echoed: hello$/m);
    assert.doesNotMatch(r.stderr, /Error/);
  });

  test('the quick start type-checks (--strict, nodenext and tsc defaults) and runs as TypeScript', async () => {
    writeFileSync(join(app, 'quick-start.ts'), example);
    // The project's @types/node, so that the check needs nothing from the network.
    const types = ['--typeRoots', join(ROOT, 'node_modules', '@types'), '--types', 'node'];
    const nodenext = ['--module', 'nodenext', '--moduleResolution', 'nodenext'];
    const check = async (flags: string[], what: string) => {
      const r = await run(process.execPath, [TSC, '--strict', '--noEmit', ...types, ...flags], app, 120_000);
      ok(r, `tsc ${what}`);
    };
    await check([...nodenext, 'quick-start.ts'], '--strict --module nodenext');
    await check(['quick-start.ts'], '--strict (default module and target)');
    // A CommonJS TypeScript file (.cts) importing the ESM package: require(esm), as TypeScript >= 5.8 allows.
    writeFileSync(join(app, 'quick-start.cts'), example);
    await check([...nodenext, 'quick-start.cts'], '--strict --module nodenext on a .cts');
    const r = await run(process.execPath, ['--import', TSX, 'quick-start.ts'], app, 30_000);
    ok(r, 'node --import tsx quick-start.ts');
    assert.match(r.stdout, /^echoed: hello$/m);
  });

  test('metrics without prom-client and uplot: an error that names what to install', async () => {
    writeFileSync(
      join(app, 'metrics.mjs'),
      `import { createMetricsHttp, createServer, instrument } from 'tcp-lifeline';
const server = createServer();
for (const f of [() => instrument(server), () => createMetricsHttp(server)]) {
  try { f(); console.log('no error'); } catch (err) { console.log(err.code, err.message); }
}
`,
    );
    const r = await run(process.execPath, ['metrics.mjs'], app, 20_000);
    ok(r, 'node metrics.mjs');
    const [first, second] = r.stdout.trim().split('\n');
    assert.match(first!, /^LIFELINE_UNSUPPORTED prom-client is not installed: .* npm install prom-client$/);
    assert.match(
      second!,
      /^LIFELINE_UNSUPPORTED prom-client and uplot are not installed: .* npm install prom-client uplot$/,
    );
  });

  test('the lifeline bin answers --version, and serve --http says what to install', async () => {
    const bin = join(app, 'node_modules', '.bin', 'lifeline');
    const version = await run(bin, ['--version'], app, 20_000);
    ok(version, 'lifeline --version');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    assert.equal(version.stdout, `lifeline ${pkg.version}\n`);
    const serve = await run(bin, ['serve', '--host', '127.0.0.1', '--port', '0', '--http', '0'], app, 20_000);
    assert.equal(serve.code, 1, `exit status 1; stderr: ${serve.stderr}`);
    assert.equal(serve.stderr.trimEnd().split('\n').length, 1, `one line on stderr: ${serve.stderr}`);
    assert.match(serve.stderr, /npm install prom-client uplot/);
  });
});
