// Runs the lifeline command (from source, through tsx) and reads its --json events as they come, with
// bounded waits. Works for a process started anywhere, a network namespace included.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = `${ROOT}src/cli/main.ts`;

/** argv that runs the lifeline CLI with this Node (prefix it with `ip netns exec NAME` as needed). */
export function cliArgv(args: string[]): string[] {
  return [process.execPath, '--import', 'tsx', MAIN, ...args];
}

export interface JsonEvent {
  event: string;
  t: number;
  [key: string]: unknown;
}

/** Collects a child's JSON lines; `next(pred, ms)` resolves with the first matching event not yet taken. */
export class EventReader {
  readonly events: Array<JsonEvent & { receivedAt: number }> = [];
  readonly stderr: string[] = [];
  private waiters: Array<() => void> = [];
  private buffer = '';
  private exited = false;

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      this.buffer += text;
      let nl = this.buffer.indexOf('\n');
      while (nl >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (line.trim()) this.events.push({ ...JSON.parse(line), receivedAt: performance.now() });
        nl = this.buffer.indexOf('\n');
      }
      this.wake();
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => this.stderr.push(text));
    child.on('exit', () => {
      this.exited = true;
      this.wake();
    });
  }

  /** Waits (at most `ms`) for an event matching `pred` among those received from index `from` on. */
  async waitFor(
    pred: (e: JsonEvent) => boolean,
    ms: number,
    from = 0,
  ): Promise<JsonEvent & { receivedAt: number }> {
    const deadline = performance.now() + ms;
    for (;;) {
      const found = this.events.slice(from).find(pred);
      if (found) return found;
      if (this.exited)
        throw new Error(`process exited before the expected event; stderr: ${this.stderr.join('')}`);
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(
          `no matching event within ${ms} ms; got: ${this.events.map((e) => e.event).join(', ')}; stderr: ${this.stderr.join('')}`,
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

  async stop(): Promise<void> {
    if (this.exited || this.child.exitCode !== null) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await once(this.child, 'exit');
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Starts the CLI locally (not in a namespace). */
export function runCli(args: string[]): EventReader {
  const [cmd, ...rest] = cliArgv(args);
  return new EventReader(spawn(cmd!, rest, { stdio: ['pipe', 'pipe', 'pipe'] }));
}
