// prom-client and uplot are optional peer dependencies: only metrics and the dashboard load them, on first
// use, so that a program that never serves metrics need not install them. This module finds them and,
// when one is missing, says which package to install. It never loads anything at import.
import { createRequire } from 'node:module';
import { UnsupportedError } from '../errors.js';

const require = createRequire(import.meta.url);

/** What each optional package is for, in the error that names it. */
const PURPOSE: Record<string, string> = {
  'prom-client': 'Prometheus metrics (instrument, createMetricsHttp, serve --http)',
  uplot: "the dashboard's RTT chart (createMetricsHttp, serve --http)",
};

/** The absolute path of `specifier` (a package or a file in one), or undefined when it is not installed. */
export function resolveOptional(specifier: string): string | undefined {
  try {
    return require.resolve(specifier);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

/** Throws an UnsupportedError naming every package of `specifiers` that is not installed. */
export function requireInstalled(specifiers: string[]): void {
  const missing = specifiers.filter((s) => resolveOptional(s) === undefined).map(packageName);
  if (missing.length === 0) return;
  const names = [...new Set(missing)];
  const uses = names.map((n) => `${n} for ${PURPOSE[n] ?? 'metrics'}`).join(', and ');
  throw new UnsupportedError(
    `${names.join(' and ')} ${names.length > 1 ? 'are' : 'is'} not installed: tcp-lifeline needs ${uses}. ` +
      `Install ${names.length > 1 ? 'them' : 'it'} beside tcp-lifeline: npm install ${names.join(' ')}`,
  );
}

/** Loads an optional package with require (both are CommonJS), after checking that it is installed. */
export function loadOptional<T>(name: string): T {
  requireInstalled([name]);
  return require(name) as T;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}
