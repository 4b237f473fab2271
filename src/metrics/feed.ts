// What the dashboard shows, as data: a snapshot of a server's sessions, a short RTT history per session
// and a log of deaths, pushed to browsers as server-sent events. Reads sessions; never changes them.
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { HeartbeatServer } from '../server/server.js';
import type { Session } from '../server/session.js';
import type { DeathReport } from '../session/death.js';

export interface SessionView {
  id: string;
  remote: string;
  state: Session['state'];
  /** Last RTT measured, ms; null before the first. */
  rttMs: number | null;
  silentMs: number;
  detector: { kind: 'deadline' | 'phi'; leftMs: number; phi?: number } | null;
  interval: number;
  timeout: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  resumes: number;
  ageMs: number;
}

export interface DeathView {
  /** ms on the feed's clock (performance.now()). */
  t: number;
  /** Session id, or null for a connection that never became a session. */
  id: string | null;
  remote: string;
  /** 'dead' for an established session, 'rejected' for a refused connection. */
  kind: 'dead' | 'rejected';
  cause: DeathReport['cause'];
  diagnosis: DeathReport['diagnosis'] | null;
  silentMs: number;
  detail: string | null;
  goaway: string | null;
}

export interface Snapshot {
  t: number;
  sessions: SessionView[];
}

export interface FeedOptions {
  /** ms between snapshots pushed to browsers. Default 1000. */
  period?: number;
  /** How much RTT history to keep and send to a new browser, ms. Default 300000 (5 min). */
  historyMs?: number;
  /** Deaths kept for the log. Default 200. */
  maxDeaths?: number;
}

/** One sample of the RTT chart: when, and the highest RTT (ms) each session measured since the last one. */
export interface RttSample {
  t: number;
  rtt: Record<string, number>;
}

export function viewOf(session: Session, now = performance.now()): SessionView {
  const d = session.detectorState(now);
  return {
    id: session.id,
    remote: `${session.remoteAddress ?? '?'}:${session.remotePort ?? '?'}`,
    state: session.state,
    rttMs: session.rtt === undefined ? null : round(session.rtt),
    silentMs: Math.round(session.state === 'open' ? session.silentMs(now) : 0),
    detector:
      session.state !== 'open' || d === undefined
        ? null
        : d.kind === 'phi'
          ? { kind: 'phi', leftMs: Math.round(d.leftMs), phi: round(d.phi) }
          : { kind: 'deadline', leftMs: Math.round(d.leftMs) },
    interval: session.interval,
    timeout: session.timeout,
    ...session.stats,
    resumes: session.resumes,
    ageMs: Math.round(now - session.createdAt),
  };
}

/** Pushes snapshots, deaths and RTT history of one server to any number of SSE responses. */
export class DashboardFeed {
  readonly deaths: DeathView[] = [];
  readonly history: RttSample[] = [];
  private readonly clients = new Set<ServerResponse>();
  /** RTTs measured since the last sample, by session: a hung peer's last RTT must not linger in the chart. */
  private fresh = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private readonly period: number;
  private readonly historyMs: number;
  private readonly maxDeaths: number;

  constructor(
    private readonly server: HeartbeatServer,
    private readonly info: Record<string, unknown> = {},
    options: FeedOptions = {},
  ) {
    this.period = options.period ?? 1000;
    this.historyMs = options.historyMs ?? 300_000;
    this.maxDeaths = options.maxDeaths ?? 200;
    for (const s of server.sessions.values()) this.watch(s);
    server.on('session', (s) => {
      this.watch(s);
      this.push();
    });
    server.on('rejected', (report, remote) => this.death(report, null, remote, 'rejected'));
    this.timer = setInterval(() => this.tick(), this.period);
    this.timer.unref();
  }

  snapshot(now = performance.now()): Snapshot {
    const sessions = [...this.server.sessions.values()].map((s) => viewOf(s, now));
    return { t: Math.round(now), sessions };
  }

  /** Serves the event stream on `res` (GET /events). */
  attach(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write('retry: 1000\n\n');
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
    send(res, 'hello', {
      ...this.info,
      period: this.period,
      history: this.history,
      deaths: this.deaths,
      ...this.snapshot(),
    });
  }

  close(): void {
    clearInterval(this.timer);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private watch(session: Session): void {
    session.on('rtt', (ms) => this.fresh.set(session.id, Math.max(ms, this.fresh.get(session.id) ?? 0)));
    session.on('dead', (report) => {
      this.death(report, session.id, `${session.remoteAddress}:${session.remotePort}`, 'dead');
      this.push();
    });
    session.on('close', () => this.push());
  }

  private death(report: DeathReport, id: string | null, remote: string, kind: DeathView['kind']): void {
    const view: DeathView = {
      t: Math.round(performance.now()),
      id,
      remote,
      kind,
      cause: report.cause,
      diagnosis: report.diagnosis ?? null,
      silentMs: Math.round(report.silentMs),
      detail: report.detail ?? null,
      goaway: report.goaway ?? null,
    };
    this.deaths.push(view);
    if (this.deaths.length > this.maxDeaths) this.deaths.shift();
    for (const res of this.clients) send(res, 'death', view);
  }

  private tick(): void {
    const now = performance.now();
    const rtt: Record<string, number> = {};
    for (const [id, ms] of this.fresh) rtt[id] = round(ms);
    this.fresh = new Map();
    this.history.push({ t: Math.round(now), rtt });
    while (this.history.length > 0 && this.history[0]!.t < now - this.historyMs) this.history.shift();
    for (const res of this.clients) send(res, 'sample', this.history[this.history.length - 1]);
    this.push(now);
  }

  private push(now = performance.now()): void {
    if (this.clients.size === 0) return;
    const snapshot = this.snapshot(now);
    for (const res of this.clients) send(res, 'state', snapshot);
  }
}

function send(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
