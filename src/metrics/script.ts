// The dashboard page's script, as the browser gets it. It is written in TypeScript (browser/dashboard.ts,
// type-checked against the DOM by tsconfig.browser.json) and built to browser/dashboard.js beside this
// module; run from source (tests, tsx), there is no build, and the TypeScript is transpiled once here with
// the compiler the project develops with. Never loads anything at import.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

let script: string | undefined;

/** The page's script (read, or transpiled from source, on first use). */
export function dashboardScript(): string {
  script ??= load();
  return script;
}

function load(): string {
  const built = fileURLToPath(new URL('./browser/dashboard.js', import.meta.url));
  if (existsSync(built)) return readFileSync(built, 'utf8');
  const source = fileURLToPath(new URL('./browser/dashboard.ts', import.meta.url));
  // Only in a source checkout, where typescript is a dev dependency.
  const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript');
  return ts.transpileModule(readFileSync(source, 'utf8'), {
    compilerOptions: { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.None, removeComments: true },
    fileName: 'dashboard.ts',
  }).outputText;
}
