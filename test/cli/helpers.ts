// Runs the CLI to completion with a bound, and starts a `serve --json` to talk to. Shared by test/cli,
// test/metrics and test/dashboard.
import { spawn } from 'node:child_process';
import { cliArgv, type EventReader, runCli } from '../helpers/cli.js';

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `lifeline ...args` and waits (at most `ms`) for it to exit. */
export function runToEnd(args: string[], ms = 15_000, input = ''): Promise<Finished> {
  const [cmd, ...rest] = cliArgv(args);
  const child = spawn(cmd!, rest, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `lifeline ${args.join(' ')} did not exit within ${ms} ms; stdout: ${stdout} stderr: ${stderr}`,
        ),
      );
    }, ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      // Let the pipes drain.
      setImmediate(() => resolve({ code, stdout, stderr }));
    });
  });
}

export interface Served {
  reader: EventReader;
  port: number;
  http?: { port: number; url: string };
}

/** Starts `lifeline serve --json` on a free loopback port and waits for it to listen. */
export async function startServe(extra: string[] = []): Promise<Served> {
  const reader = runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--json', ...extra]);
  const listening = await reader.waitFor((e) => e.event === 'listening', 10_000);
  const served: Served = { reader, port: Number(listening.port) };
  if (extra.includes('--http')) {
    const h = await reader.waitFor((e) => e.event === 'http', 10_000);
    served.http = { port: Number(h.port), url: String(h.url) };
  }
  return served;
}

export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
