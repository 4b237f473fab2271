// Runs the CLI to completion with a bound, starts a `serve --json` to talk to, and reads a child's output
// by whole lines. Shared by test/cli, test/metrics and test/dashboard.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
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

/**
 * A stream read as whole lines: a line is matched only once its newline has arrived, so that a line written
 * in two pieces (`listening on 127.0.0.1:4` then `1234\n`) is never matched half-way.
 */
export class LineReader {
  readonly lines: string[] = [];
  private partial = '';
  private ended = false;
  private waiters: Array<() => void> = [];

  constructor(stream: Readable) {
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      const parts = (this.partial + text).split('\n');
      this.partial = parts.pop()!;
      this.lines.push(...parts);
      this.wake();
    });
    stream.on('end', () => {
      this.ended = true;
      this.wake();
    });
  }

  get text(): string {
    return this.lines.join('\n');
  }

  /** The first whole line matching `re` (at most `ms` from now). */
  async waitLine(re: RegExp, ms: number): Promise<RegExpMatchArray> {
    const deadline = performance.now() + ms;
    for (;;) {
      for (const line of this.lines) {
        const m = line.match(re);
        if (m) return m;
      }
      const left = deadline - performance.now();
      if (left <= 0 || this.ended) {
        throw new Error(
          `no line matching ${re} within ${ms} ms${this.ended ? ' (stream ended)' : ''}:\n${this.text}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** A CLI child whose stdout and stderr are read as lines. */
export class CliChild {
  readonly stdout: LineReader;
  readonly stderr: LineReader;
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    this.stdout = new LineReader(child.stdout!);
    this.stderr = new LineReader(child.stderr!);
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** Resolves with the exit status, or rejects when the child is still running after `ms`. */
  async exit(ms: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`still running after ${ms} ms:\n${this.stdout.text}\n${this.stderr.text}`)),
        ms,
      );
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Starts `lifeline ...args` with its output read as lines (stdin a pipe, left open). */
export function startCli(args: string[]): CliChild {
  const [cmd, ...rest] = cliArgv(args);
  return new CliChild(spawn(cmd!, rest, { stdio: ['pipe', 'pipe', 'pipe'] }));
}
