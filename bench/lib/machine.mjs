// What the results were measured on: written into every results file.
import { readFileSync } from 'node:fs';
import os from 'node:os';

const root = new URL('../../', import.meta.url);

function version(pkg) {
  try {
    return JSON.parse(readFileSync(new URL(`node_modules/${pkg}/package.json`, root), 'utf8')).version;
  } catch {
    return undefined;
  }
}

export function machine(fd) {
  const lifeline = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')).version;
  return {
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    loadAverage: os.loadavg().map((v) => +v.toFixed(2)),
    fileLimit: fd,
    // Which lifeline build was measured: dist/ unless LIFELINE_DIST pointed elsewhere.
    lifelineBuild: process.env.LIFELINE_DIST ?? 'dist/',
    packages: {
      lifeline,
      ws: version('ws'),
      'socket.io': version('socket.io'),
      'socket.io-client': version('socket.io-client'),
      'engine.io': version('engine.io'),
    },
  };
}

export function resultsDir() {
  return new URL('../results/', import.meta.url);
}
