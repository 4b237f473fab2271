// lifeline demo: what lifeline does, in a minute, without root. A server with the dashboard, and clients in
// child processes (this very CLI's `connect`), of which one is hung (SIGSTOP: only the heartbeat can notice)
// and one is killed (its kernel closes the connection at once), over and over until Ctrl-C. Children are
// always cleaned up: on exit, SIGINT and SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { MetricsHttp } from '../metrics/http.js';
import { probeRtt } from '../metrics/probe.js';
import { createServer } from '../server/server.js';
import { parse, parsePort, UsageError } from './args.js';
import { monitor } from './monitor.js';
import { formatLong } from './output.js';
import { listen, startHttp } from './serve.js';

export const demoFlags = { port: { type: 'string', short: 'p' }, http: { type: 'string' } } as const;

const INTERVAL = 1000;
const TIMEOUT = 3000;
const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
/** One act of the story, in ms from its start; it repeats with the next clients as victims. */
const ACT = { hang: 4000, kill: 8000, resume: 12_000, replace: 14_000, length: 20_000 } as const;

interface Peer {
  name: string;
  child: ChildProcess;
  session?: string;
  stopped: boolean;
}

export async function demo(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, demoFlags);
  if (positionals.length > 0) throw new UsageError(`demo: unexpected argument "${positionals[0]}"`);
  const port = typeof values.port === 'string' ? parsePort('--port', values.port) : 0;
  const httpPort = typeof values.http === 'string' ? parsePort('--http', values.http) : undefined;
  const host = '127.0.0.1';

  const server = createServer({ interval: INTERVAL, timeout: TIMEOUT });
  const view = monitor(server, {
    json: false,
    live: process.stdout.isTTY === true,
    echo: true,
    printMessages: false,
  });
  await listen(server, port, host);
  const address = `${host}:${server.address().port}`;
  probeRtt(server, INTERVAL);
  let http: MetricsHttp;
  try {
    http = await startHttp(server, httpPort ?? 7080, host, address);
  } catch (err) {
    if (httpPort !== undefined) throw err;
    http = await startHttp(server, 0, host, address); // 7080 is taken: any free port will do
  }
  const url = http.url();
  const say = (line: string) => view.log(line);
  say(
    `lifeline demo: server on ${address} (interval ${formatLong(INTERVAL)}, timeout ${formatLong(TIMEOUT)})`,
  );
  say(`dashboard: ${url}   metrics: ${url.replace(/\?.*$/, '')}metrics   (Ctrl-C to stop)`);

  const peers: Peer[] = [];
  let nextName = 0;
  const cli = cliEntry();
  const startPeer = (): Peer => {
    const name = NAMES[nextName++ % NAMES.length]!;
    const child = spawn(process.execPath, [...cli, 'connect', address, '--json'], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const peer: Peer = { name, child, stopped: false };
    peers.push(peer);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = safeJson(line);
      if (event?.event === 'connected' && peer.session === undefined) {
        peer.session = String(event.id);
        say(`client ${name} (pid ${child.pid}) → session ${peer.session}`);
      } else if (event?.event === 'resumed') {
        say(`client ${name} resumed session ${event.id}: nothing lost`);
      }
    });
    child.stdin!.on('error', () => {}); // a killed child's stdin
    child.on('exit', () => {
      const i = peers.indexOf(peer);
      if (i >= 0) peers.splice(i, 1);
    });
    return peer;
  };
  const cleanup = () => {
    for (const p of peers) {
      p.child.kill('SIGCONT');
      p.child.kill('SIGKILL');
    }
  };
  process.on('exit', cleanup);

  for (let i = 0; i < 4; i++) startPeer();

  // Traffic, so that the message counters move: a line to a random running client, echoed back.
  let n = 0;
  const chatter = setInterval(() => {
    const running = peers.filter((p) => !p.stopped && p.session !== undefined);
    const p = running[Math.floor(Math.random() * running.length)];
    if (p) p.child.stdin!.write(`hello #${++n} from ${p.name}\n`);
  }, 700);

  const timers: NodeJS.Timeout[] = [];
  const at = (ms: number, f: () => void) => timers.push(setTimeout(f, ms));
  const act = (start: number) => {
    let hung: Peer | undefined;
    at(start + ACT.hang, () => {
      hung = peers.find((p) => !p.stopped && p.session !== undefined);
      if (!hung) return;
      hung.stopped = true;
      hung.child.kill('SIGSTOP');
      say(
        `▶ ${hung.name} hangs (kill -STOP ${hung.child.pid}): its kernel still ACKs, so TCP keepalive sees ` +
          `nothing wrong; only the heartbeat can tell: expect heartbeat-timeout (peer-unresponsive) in ~${formatLong(TIMEOUT)}`,
      );
    });
    at(start + ACT.kill, () => {
      const victim = peers.find((p) => !p.stopped && p.session !== undefined);
      if (!victim) return;
      victim.child.kill('SIGKILL');
      say(
        `▶ ${victim.name} is killed (kill -9 ${victim.child.pid}): its kernel closes the socket for it: expect closed (or reset) at once`,
      );
    });
    at(start + ACT.resume, () => {
      if (!hung || hung.child.exitCode !== null) return;
      hung.stopped = false;
      hung.child.kill('SIGCONT');
      say(
        `▶ ${hung.name} continues (kill -CONT): it finds its connection gone, reconnects and resumes its session`,
      );
    });
    at(start + ACT.replace, () => {
      const p = startPeer();
      say(`▶ a new client, ${p.name}, connects`);
    });
    at(start + ACT.length, () => act(start + ACT.length));
  };
  act(0);

  return new Promise((resolve) => {
    const stop = () => {
      clearInterval(chatter);
      for (const t of timers) clearTimeout(t);
      cleanup();
      view.stop();
      http.close();
      server.close(() => resolve(0));
      setTimeout(() => resolve(0), 3000).unref();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** argv (after the Node binary) that runs this CLI: its main file, through tsx when running from source. */
function cliEntry(): string[] {
  const self = fileURLToPath(import.meta.url);
  const main = fileURLToPath(new URL(`./main${extname(self)}`, import.meta.url));
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--inspect'));
  return [...execArgv, main];
}

function safeJson(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
