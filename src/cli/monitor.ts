// What `serve` and `demo` print about a server's sessions: DESIGN.md's JSON events with --json; for
// people, a live table redrawn in place on a terminal with log lines (sessions, messages, deaths) above
// it, or plain lines when stdout is not a terminal.
import { viewOf } from '../metrics/feed.js';
import type { HeartbeatServer } from '../server/server.js';
import type { Session } from '../server/session.js';
import { type DeathReport, isGoodbye } from '../session/death.js';
import { deadFields } from './connect.js';
import { escapeControls } from './escape.js';
import { createOutput, type Fields, humanText, messageFields, type Output } from './output.js';
import { deathLine, renderTable } from './table.js';

export interface MonitorOptions {
  json: boolean;
  /** Redraw a table in place (stdout is a terminal). Ignored with json. */
  live: boolean;
  /** Send every message back to its sender. */
  echo?: boolean;
  /** Print each message received (serve does; the demo's chatter would drown the story). */
  printMessages?: boolean;
  /** ms between redraws of the live table. Default 500. */
  redrawMs?: number;
}

export interface Monitor {
  readonly out: Output;
  /** Prints a line for people above the live table (nothing with --json). */
  log(line: string): void;
  stop(): void;
}

export function monitor(server: HeartbeatServer, options: MonitorOptions): Monitor {
  const live = options.live && !options.json;
  const table = live ? new LiveTable(server) : undefined;
  const write = (line: string) => (table ? table.log(line) : process.stdout.write(humanText(line)));
  const out = createOutput(options.json, (event, f) => humanLine(event, f, options.printMessages ?? true));
  const emit = (event: string, fields: Fields) => {
    if (options.json) return out.event(event, fields);
    const line = humanLine(event, fields, options.printMessages ?? true);
    if (line !== undefined) write(line);
  };

  const watch = (session: Session) => {
    const id = session.id;
    const remote = () => `${session.remoteAddress}:${session.remotePort}`;
    emit('session', { id, remote: remote() });
    session.on('rtt', (rtt) => {
      if (options.json) out.event('rtt', { id, ms: Math.round(rtt * 1000) / 1000 });
    });
    session.on('message', (payload) => {
      emit('message', { id, ...messageFields(payload) });
      // The echo honours backpressure: while the session cannot take it, stop taking messages (the peer's
      // window fills and it waits), whatever the peer does.
      if (options.echo && !session.send(payload)) {
        session.pause();
        session.once('drain', () => session.resume());
      }
    });
    session.on('dead', (r) => {
      if (options.json) return out.event('dead', { id, ...deadFields(r) });
      write(`[${id}] ${r.cause === 'goaway' ? goawayLine(r) : deathLine(r)}`);
    });
    session.on('resumed', () => emit('resumed', { id, remote: remote() }));
    session.on('close', () => {
      const end = session.lastEnd;
      if (!options.json && end !== undefined && isGoodbye(end)) write(`[${id}] ${goawayLine(end)}`);
      emit('closed', { id });
    });
  };
  server.on('session', watch);
  // A connection that never became a session (not lifeline, TLS or credentials refused): said for people.
  server.on('rejected', (report, remote) => {
    if (!options.json) write(`refused ${remote}: ${report.detail ?? report.cause}`);
  });
  // Errors while listening (a port in use) are the caller's to report, once; later ones (a store that
  // failed, accept() out of file descriptors) are said here: a JSON event, or a line on stderr.
  server.once('listening', () =>
    server.on('error', (err) => {
      if (options.json) out.event('error', { message: err.message });
      else process.stderr.write(humanText(`lifeline: error: ${err.message}`));
    }),
  );
  const timer = table ? setInterval(() => table.draw(), options.redrawMs ?? 500) : undefined;
  timer?.unref();

  return {
    out,
    log: (line) => {
      if (!options.json) write(line);
    },
    stop() {
      if (timer) clearInterval(timer);
      table?.draw();
    },
  };
}

function humanLine(event: string, f: Fields, printMessages: boolean): string | undefined {
  switch (event) {
    case 'listening':
      return `listening on ${f.host}:${f.port}`;
    case 'session':
      return `[${f.id}] session from ${f.remote}`;
    case 'message':
      return printMessages ? `[${f.id}] ${f.text ?? `<${f.bytes} bytes>`}` : undefined;
    case 'resumed':
      return `[${f.id}] resumed from ${f.remote}`;
    case 'closed':
      return `[${f.id}] closed`;
    default:
      return undefined;
  }
}

/** A GOAWAY from the peer: a goodbye ('normal') or a refusal, not a silent death. */
function goawayLine(r: DeathReport): string {
  // The detail repeats the code ("normal: client closed"): keep only the reason.
  const reason = r.detail?.replace(`${r.goaway}: `, '').replace(/^normal$/, '');
  if (r.goaway === 'normal') return `GOAWAY normal: the peer said goodbye${reason ? ` (${reason})` : ''}`;
  return `GOAWAY ${r.goaway ?? ''} from the peer${reason ? ` — ${reason}` : ''}`;
}

/** The session table at the bottom of the terminal: log lines scroll above it, it is redrawn in place. */
class LiveTable {
  private drawn = 0;

  constructor(private readonly server: HeartbeatServer) {}

  log(line: string): void {
    this.clear();
    process.stdout.write(humanText(line));
    this.draw();
  }

  draw(): void {
    const width = process.stdout.columns || 120;
    const views = [...this.server.sessions.values()].map((s) => viewOf(s));
    const lines = ['', ...renderTable(views, width).map(escapeControls)];
    this.clear();
    process.stdout.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }

  private clear(): void {
    // Up to the first line of the last drawing, and erase from there to the end of the screen.
    if (this.drawn > 0) process.stdout.write(`\x1b[${this.drawn}F\x1b[J`);
    this.drawn = 0;
  }
}
