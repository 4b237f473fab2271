// What the dashboard's server side sends to a browser tab over its event stream: types only, shared by
// feed.ts (Node) and browser/dashboard.ts (the page), so that both sides are checked against one contract.
// Every instant is wall-clock epoch ms of the server; the page corrects for its own clock's offset.

/** One session as a row of the table. Sent when it enters a tab's page, and again only when it changed. */
export interface Row {
  id: string;
  remote: string;
  state: 'open' | 'detached' | 'closing' | 'closed';
  /** Open, and not heard for longer than 1.5 heartbeat intervals: a heartbeat is overdue. */
  late: boolean;
  /** Last round trip measured, ms; null before the first. */
  rtt: number | null;
  /** When the peer was last heard (open sessions); the page shows how long ago. */
  heardAt: number | null;
  /** When the session was established. */
  createdAt: number;
  /** Detached: when its resume window ends and it is gone for good. */
  expiresAt: number | null;
  /** The phi detector's suspicion (one decimal), null for the deadline detector. */
  phi: number | null;
  interval: number;
  timeout: number;
  messagesIn: number;
  messagesOut: number;
  resumes: number;
}

/** Counts over every session of the server, whatever a tab's search or page. */
export interface Totals {
  sessions: number;
  open: number;
  late: number;
  detached: number;
  closing: number;
  /** Deaths since the feed started (goodbyes and refused connections not counted). */
  deaths: number;
  /** Median of the open sessions' last RTT, ms; null when none has one. */
  medianRtt: number | null;
}

export interface Death {
  at: number;
  /** Session id, or null for a connection that never became a session. */
  id: string | null;
  remote: string;
  /** 'dead' for an established session, 'rejected' for a refused connection. */
  kind: 'dead' | 'rejected';
  cause: string;
  diagnosis: string | null;
  silentMs: number;
  detail: string | null;
  goaway: string | null;
}

/** RTT history of the charted sessions: `series[i][k]` is session `ids[i]`'s RTT at `times[k]`, null: none came. */
export interface Chart {
  ids: string[];
  times: number[];
  series: Array<Array<number | null>>;
}

/** The first message of a stream: everything the tab shows. */
export interface Hello {
  info: Record<string, unknown>;
  /** ms between updates. */
  period: number;
  /** How far back the chart goes, ms. */
  historyMs: number;
  now: number;
  /** The tab's view as the server understood it. */
  q: string;
  page: number;
  size: number;
  /** Sessions matching the search (all of them without one). */
  matches: number;
  /** The page: ids in order, sessions in trouble first. */
  order: string[];
  rows: Row[];
  totals: Totals;
  /** The latest deaths, oldest first. */
  deaths: Death[];
  chart: Chart;
}

/** A later message: only what changed since the last one. */
export interface Delta {
  now: number;
  matches?: number;
  /** The page shown, when it changed (the one asked for was past the last). */
  page?: number;
  /** The page's new order, when it changed (rows not in it leave the page). */
  order?: string[];
  /** Rows that changed or entered the page. */
  rows?: Row[];
  totals?: Totals;
  /** New deaths, oldest first. */
  deaths?: Death[];
  /** New deaths not sent (more than fit one message): the count is still right in totals. */
  deathsSkipped?: number;
  /** The whole chart, when the charted sessions changed. */
  chart?: Chart;
  /** One more point of the chart (ids as in the last chart). */
  sample?: { at: number; values: Array<number | null> };
}
