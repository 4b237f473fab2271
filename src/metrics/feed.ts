// What the dashboard shows, as data: for each browser tab, one page of a server's sessions (those in
// trouble first, narrowed by the tab's search), totals, deaths and the RTTs of a few charted sessions —
// sent once whole over server-sent events, then only what changed. Reads sessions; never changes them.
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { HeartbeatServer } from '../server/server.js';
import type { Session } from '../server/session.js';
import type { DeathReport } from '../session/death.js';
import type { Chart, Death, Delta, Hello, Row, Totals } from './wire.js';

/** One session for a terminal table (the CLI's `serve` and `demo`). */
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

export type DeathView = Death;

export interface FeedOptions {
  /** ms between updates pushed to browsers. Default 1000: a person reading a table sees no faster. */
  period?: number;
  /**
   * RTT history kept per session for the chart, ms. Default 120 000 (2 min): it costs 4 bytes per session
   * per period (960 bytes per session at the defaults, 19 MB at 20 000 sessions).
   */
  historyMs?: number;
  /** Deaths kept for the log (and sent to a new tab). Default 200. */
  maxDeaths?: number;
}

/** What a tab asks to see: its search, its page, and the sessions it charts (none: the top of its page). */
export interface ViewQuery {
  q?: string;
  page?: number;
  size?: number;
  chart?: string[];
}

/** Rows per page: enough to see the trouble at a glance, few enough to keep the browser idle. */
export const PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;
/** Sessions charted when a tab picked none (the top of its page), and the most it may pick. */
export const AUTO_CHART = 5;
export const MAX_CHART = 8;
/** Deaths in one message at most: a partition that kills thousands at once must not send megabytes. */
const DEATHS_PER_MESSAGE = 100;
/** A stream that sent nothing for this long gets a comment, so that proxies do not close it as idle. */
const KEEPALIVE_MS = 15_000;

export function viewOf(session: Session, now = performance.now()): SessionView {
  const d = session.detectorState(now);
  return {
    id: session.id,
    remote: remoteOf(session),
    state: session.state,
    rttMs: session.rtt === undefined ? null : round3(session.rtt),
    silentMs: Math.round(session.state === 'open' ? session.silentMs(now) : 0),
    detector:
      session.state !== 'open' || d === undefined
        ? null
        : d.kind === 'phi'
          ? { kind: 'phi', leftMs: Math.round(d.leftMs), phi: round3(d.phi) }
          : { kind: 'deadline', leftMs: Math.round(d.leftMs) },
    interval: session.interval,
    timeout: session.timeout,
    ...session.stats,
    resumes: session.resumes,
    ageMs: Math.round(now - session.createdAt),
  };
}

/** The server's sessions in the order the dashboard shows them, with the totals, for one instant. */
interface Ranking {
  at: number;
  sessions: Session[];
  totals: Totals;
  /** Search results of this instant, by query, so that tabs searching the same thing share the work. */
  searches: Map<string, Session[]>;
}

/** One tab: its view and what it was last sent, to send only the difference. */
interface Tab {
  res: ServerResponse;
  q: string;
  page: number;
  /** The page shown: `page`, or the last one when there are fewer. */
  shown: number;
  size: number;
  pinned: string[];
  rows: Map<string, string>;
  order: string;
  matches: number;
  totals: string;
  chart: string;
  deathsSent: number;
  /** The socket's buffer is full: skip updates until it drains, then send everything again. */
  blocked: boolean;
  lastWriteAt: number;
}

/** Feeds any number of dashboard tabs with one server's sessions, deaths and RTTs. */
export class DashboardFeed {
  readonly deaths: Death[] = [];
  /** Deaths ever recorded (the log keeps only the last maxDeaths). */
  private deathCount = 0;
  private deadCount = 0;
  private readonly tabs = new Set<Tab>();
  /** RTTs measured since the last sample, by session: a hung peer's last RTT must not linger in the chart. */
  private fresh = new Map<string, number>();
  /** Per session, RTT (ms) at each of the last `slots` samples, NaN where none came: a ring. */
  private readonly rings = new Map<string, Float32Array>();
  /** Wall-clock time of each slot's sample; NaN before the first. */
  private readonly times: Float64Array;
  private readonly slots: number;
  private tick = 0;
  private readonly timer: NodeJS.Timeout;
  private soon: NodeJS.Timeout | undefined;
  readonly period: number;
  private readonly maxDeaths: number;

  constructor(
    private readonly server: HeartbeatServer,
    private readonly info: Record<string, unknown> = {},
    options: FeedOptions = {},
  ) {
    this.period = options.period ?? 1000;
    this.maxDeaths = options.maxDeaths ?? 200;
    this.slots = Math.max(2, Math.round((options.historyMs ?? 120_000) / this.period));
    this.times = new Float64Array(this.slots).fill(Number.NaN);
    for (const s of server.sessions.values()) this.watch(s);
    server.on('session', (s) => this.watch(s));
    server.on('rejected', (report, remote) => this.death(report, null, remote, 'rejected'));
    this.timer = setInterval(() => this.sample(), this.period);
    this.timer.unref();
  }

  /** Serves the event stream of one tab on `res` (GET events), showing what `query` asks for. */
  attach(res: ServerResponse, query: ViewQuery = {}): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no', // nginx would otherwise hold the stream back
      connection: 'keep-alive',
    });
    res.write(`retry: ${Math.max(1000, this.period)}\n\n`);
    const tab: Tab = {
      res,
      q: (query.q ?? '').trim().toLowerCase().slice(0, 200),
      page: Math.max(0, Math.floor(query.page ?? 0)),
      shown: -1,
      size: Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(query.size ?? PAGE_SIZE))),
      pinned: (query.chart ?? []).slice(0, MAX_CHART),
      rows: new Map(),
      order: '',
      matches: -1,
      totals: '',
      chart: '',
      deathsSent: this.deathCount,
      blocked: false,
      lastWriteAt: 0,
    };
    this.tabs.add(tab);
    res.on('close', () => this.tabs.delete(tab));
    res.on('drain', () => {
      if (!tab.blocked) return;
      tab.blocked = false;
      this.forget(tab);
    });
    const now = wallNow();
    const delta = this.delta(tab, this.rank());
    const hello: Hello = {
      info: this.info,
      period: this.period,
      historyMs: this.slots * this.period,
      now: Math.round(now),
      q: tab.q,
      page: delta.page ?? 0,
      size: tab.size,
      matches: delta.matches ?? 0,
      order: delta.order ?? [],
      rows: delta.rows ?? [],
      totals: delta.totals!,
      deaths: this.deaths.slice(-DEATHS_PER_MESSAGE),
      chart: delta.chart ?? { ids: [], times: [], series: [] },
    };
    this.send(tab, 'hello', hello);
  }

  /** How many tabs are following the feed. */
  get tabCount(): number {
    return this.tabs.size;
  }

  close(): void {
    clearInterval(this.timer);
    clearTimeout(this.soon);
    for (const tab of this.tabs) tab.res.end();
    this.tabs.clear();
  }

  private watch(session: Session): void {
    session.on('rtt', (ms) => this.fresh.set(session.id, Math.max(ms, this.fresh.get(session.id) ?? 0)));
    session.on('dead', (report) => this.death(report, session.id, remoteOf(session), 'dead'));
    session.on('close', () => {
      this.rings.delete(session.id);
      this.fresh.delete(session.id);
    });
  }

  private death(report: DeathReport, id: string | null, remote: string, kind: Death['kind']): void {
    this.deaths.push({
      at: Math.round(wallNow()),
      id,
      remote,
      kind,
      cause: report.cause,
      diagnosis: report.diagnosis ?? null,
      silentMs: Math.round(report.silentMs),
      detail: report.detail ?? null,
      goaway: report.goaway ?? null,
    });
    if (this.deaths.length > this.maxDeaths) this.deaths.shift();
    this.deathCount++;
    if (kind === 'dead' && report.goaway !== 'normal') this.deadCount++;
    // Soon, not now: the death row and the session's new state go out in one message, once the transition
    // that caused the death is whole, so that a tab never shows a session open next to its own death.
    if (this.tabs.size > 0) this.soon ??= setTimeout(() => this.flush(), 50);
  }

  /** Every period: one point of RTT history per session, then an update to every tab. */
  private sample(): void {
    const at = wallNow();
    const slot = this.tick++ % this.slots;
    this.times[slot] = at;
    for (const id of this.fresh.keys()) {
      if (!this.rings.has(id)) this.rings.set(id, new Float32Array(this.slots).fill(Number.NaN));
    }
    for (const [id, ring] of this.rings) ring[slot] = this.fresh.get(id) ?? Number.NaN;
    this.fresh = new Map();
    this.flush(slot);
  }

  private flush(slot?: number): void {
    clearTimeout(this.soon);
    this.soon = undefined;
    if (this.tabs.size === 0) return;
    const ranking = this.rank();
    const at = slot === undefined ? undefined : this.times[slot]!;
    for (const tab of this.tabs) {
      if (tab.blocked) continue;
      const delta = this.delta(tab, ranking);
      if (at !== undefined && delta.chart === undefined && tab.chart !== '') {
        const ids = tab.chart.split('\n');
        delta.sample = { at: Math.round(at), values: ids.map((id) => rttAt(this.rings.get(id), slot!)) };
      }
      if (Object.keys(delta).length > 1) this.send(tab, 'delta', delta);
      else if (ranking.at - tab.lastWriteAt > KEEPALIVE_MS) this.write(tab, ':\n\n');
    }
  }

  /** What changed for `tab` since its last message (everything, after forget()). */
  private delta(tab: Tab, ranking: Ranking): Delta {
    const delta: Delta = { now: Math.round(ranking.at) };
    const matching = this.search(ranking, tab.q);
    if (matching.length !== tab.matches) delta.matches = tab.matches = matching.length;
    const pages = Math.max(1, Math.ceil(matching.length / tab.size));
    // Past the last page (the search narrowed, sessions left): the last page, until there are more again.
    const shown = Math.min(tab.page, pages - 1);
    if (shown !== tab.shown) delta.page = tab.shown = shown;
    const page = matching.slice(shown * tab.size, (shown + 1) * tab.size);
    const order = page.map((s) => s.id);
    const orderKey = order.join('\n');
    if (orderKey !== tab.order) {
      delta.order = order;
      tab.order = orderKey;
      for (const id of tab.rows.keys()) if (!order.includes(id)) tab.rows.delete(id);
    }
    const rows: Row[] = [];
    for (const s of page) {
      const row = rowOf(s, ranking.at);
      const text = JSON.stringify(row);
      if (tab.rows.get(s.id) === text) continue;
      tab.rows.set(s.id, text);
      rows.push(row);
    }
    if (rows.length > 0) delta.rows = rows;
    const totals = JSON.stringify(ranking.totals);
    if (totals !== tab.totals) {
      delta.totals = ranking.totals;
      tab.totals = totals;
    }
    const fresh = this.deathCount - tab.deathsSent;
    if (fresh > 0) {
      const sent = Math.min(fresh, DEATHS_PER_MESSAGE, this.deaths.length);
      delta.deaths = this.deaths.slice(-sent);
      if (fresh > sent) delta.deathsSkipped = fresh - sent;
      tab.deathsSent = this.deathCount;
    }
    // Unpicked: the first sessions of the page that ever measured an RTT (a page of sessions that died before
    // their first would chart nothing).
    const charted =
      tab.pinned.length > 0 ? tab.pinned : order.filter((id) => this.rings.has(id)).slice(0, AUTO_CHART);
    const chartKey = charted.join('\n');
    if (chartKey !== tab.chart) {
      delta.chart = this.chart(charted);
      tab.chart = chartKey;
    }
    return delta;
  }

  /** The RTT history of `ids`, oldest first. */
  private chart(ids: string[]): Chart {
    const times: number[] = [];
    const series: Array<Array<number | null>> = ids.map(() => []);
    for (let k = 0; k < this.slots; k++) {
      const slot = (this.tick + k) % this.slots;
      const at = this.times[slot]!;
      if (Number.isNaN(at)) continue;
      times.push(Math.round(at));
      ids.forEach((id, i) => {
        series[i]!.push(rttAt(this.rings.get(id), slot));
      });
    }
    return { ids, times, series };
  }

  /**
   * Every session, in trouble first: waiting to resume (soonest lost first), then open but overdue (silent
   * longest first), then closing, then the healthy ones in the order they came (a stable order, so that a
   * page of healthy sessions does not reshuffle every second). Computed once per instant for every tab.
   */
  private rank(): Ranking {
    const at = wallNow();
    const now = performance.now();
    const detached: Array<[Session, number]> = [];
    const late: Array<[Session, number]> = [];
    const closing: Session[] = [];
    const healthy: Session[] = [];
    const rtts: number[] = [];
    for (const s of this.server.sessions.values()) {
      if (s.state === 'detached') detached.push([s, s.windowLeft(now)]);
      else if (s.state === 'closing') closing.push(s);
      else if (s.state === 'open') {
        if (s.rtt !== undefined) rtts.push(s.rtt);
        const silent = s.silentMs(now);
        if (isLate(s, silent)) late.push([s, silent]);
        else healthy.push(s);
      }
    }
    detached.sort((a, b) => a[1] - b[1]);
    late.sort((a, b) => b[1] - a[1]);
    const sessions = [...detached.map((e) => e[0]), ...late.map((e) => e[0]), ...closing, ...healthy];
    const totals: Totals = {
      sessions: sessions.length,
      open: late.length + healthy.length,
      late: late.length,
      detached: detached.length,
      closing: closing.length,
      deaths: this.deadCount,
      medianRtt: median(rtts),
    };
    return { at, sessions, totals, searches: new Map() };
  }

  /** Sessions whose id or remote address contains `q` (all of them for ''), in ranking order. */
  private search(ranking: Ranking, q: string): Session[] {
    if (q === '') return ranking.sessions;
    let found = ranking.searches.get(q);
    if (found === undefined) {
      found = ranking.sessions.filter((s) => s.id.toLowerCase().includes(q) || remoteOf(s).includes(q));
      ranking.searches.set(q, found);
    }
    return found;
  }

  /** After a stall: the tab's next message carries everything, as if it were new. */
  private forget(tab: Tab): void {
    tab.rows.clear();
    tab.order = '';
    tab.matches = -1;
    tab.shown = -1;
    tab.totals = '';
    tab.chart = '';
  }

  private send(tab: Tab, event: string, data: unknown): void {
    this.write(tab, `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private write(tab: Tab, text: string): void {
    tab.lastWriteAt = wallNow();
    if (!tab.res.write(text)) tab.blocked = true;
  }
}

/** Open, and a heartbeat overdue by half an interval: worth a look before the detector decides. */
function isLate(session: Session, silentMs: number): boolean {
  return silentMs > session.interval * 1.5;
}

function rowOf(s: Session, at: number): Row {
  const now = performance.now();
  const open = s.state === 'open';
  const d = open ? s.detectorState(now) : undefined;
  const silent = open ? s.silentMs(now) : 0;
  return {
    id: s.id,
    remote: remoteOf(s),
    state: s.state,
    late: open && isLate(s, silent),
    rtt: s.rtt === undefined ? null : round3(s.rtt),
    heardAt: open ? Math.round(at - silent) : null,
    createdAt: Math.round(at - (now - s.createdAt)),
    expiresAt: s.state === 'detached' ? Math.round(at + s.windowLeft(now)) : null,
    phi: d?.kind === 'phi' ? Math.round(d.phi * 10) / 10 : null,
    interval: s.interval,
    timeout: s.timeout,
    messagesIn: s.stats.messagesIn,
    messagesOut: s.stats.messagesOut,
    resumes: s.resumes,
  };
}

function rttAt(ring: Float32Array | undefined, slot: number): number | null {
  const v = ring?.[slot];
  return v === undefined || Number.isNaN(v) ? null : round3(v);
}

function remoteOf(session: Session): string {
  return `${session.remoteAddress ?? '?'}:${session.remotePort ?? '?'}`;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  return round3(sorted[Math.floor(sorted.length / 2)]!);
}

/** The server's wall clock, ms: every instant a tab is sent is on it. */
function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Three significant decimals of a millisecond (1 µs): all an RTT on a display needs. */
function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
