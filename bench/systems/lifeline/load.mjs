// Loads the built library (dist/, from `npm run build`): the measured processes run compiled JavaScript.
// LIFELINE_DIST=/path/to/a/build points the benchmarks at another build (e.g. a baseline to compare with).
import { pathToFileURL } from 'node:url';

export function lifelineEntry() {
  const dir = process.env.LIFELINE_DIST;
  return dir
    ? pathToFileURL(`${dir.replace(/\/$/, '')}/index.js`)
    : new URL('../../../dist/index.js', import.meta.url);
}

export async function loadLifeline() {
  try {
    return await import(lifelineEntry());
  } catch (err) {
    throw new Error(
      `lifeline is not built (${lifelineEntry().pathname}): run \`npm run build\` first (${err.message})`,
    );
  }
}
