// Prometheus metrics for a HeartbeatServer, on a prom-client Registry: what an operator's monitoring needs
// to see sessions, their round trips and why they die. Listens to the server's events; never changes a
// session, never sends a frame.
import type { Counter, Histogram, Registry } from 'prom-client';
import type { HeartbeatServer } from '../server/server.js';
import type { Session } from '../server/session.js';
import { type DeathReport, isGoodbye } from '../session/death.js';
import { loadOptional } from './optional.js';

/**
 * What lifeline needs of a Prometheus registry; a prom-client `Registry` is one. Declared here, not imported
 * from prom-client, so that lifeline's types compile for users who never install prom-client.
 */
export interface MetricsRegistry {
  /** The Content-Type of the text that metrics() returns. */
  readonly contentType: string;
  /** Every metric of the registry in Prometheus' text exposition format. */
  metrics(): Promise<string>;
}

export interface InstrumentOptions<R extends MetricsRegistry = MetricsRegistry> {
  /** The prom-client Registry to register the metrics in. Default: a new Registry, returned. */
  registry?: R;
  /** Prefix of every metric name. Default 'lifeline_'. */
  prefix?: string;
}

/**
 * RTT histogram buckets, in seconds (Prometheus' unit for time): 250 µs (loopback, one rack) to 5 s (a
 * congested mobile link retransmitting), about 2.5x apart so that LAN, region and intercontinental WAN
 * round trips (0.2-1 ms, 1-30 ms, 80-300 ms) each fall into their own buckets.
 */
export const RTT_BUCKETS = [
  0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
] as const;

type Stats = Session['stats'];
const ZERO: Stats = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, pings: 0, pongsIgnored: 0 };

/** The metrics of one registry and the servers feeding them (several servers may share one registry). */
interface Instruments {
  servers: Set<HeartbeatServer>;
  /** Totals of sessions that are gone, so that counters never go down when a session is forgotten. */
  retired: Stats;
  established: Counter;
  deaths: Counter<'cause' | 'diagnosis'>;
  rtt: Histogram;
  resumes: Counter;
  goaways: Counter<'code' | 'sender'>;
  rejected: Counter<'cause'>;
  stalls: Counter;
}

const byRegistry = new WeakMap<Registry, Instruments>();

type PromClient = typeof import('prom-client');
let promClient: PromClient | undefined;

/**
 * prom-client, loaded on first use: importing lifeline must not cost a process that never instruments a
 * server the ~10 MB of resident memory prom-client takes (measured: bench/README, "fixed costs"), and it is
 * an optional peer dependency: a clear error names it when it is not installed.
 */
function prom(): PromClient {
  promClient ??= loadOptional<PromClient>('prom-client');
  return promClient;
}

/**
 * Instruments `server`: its sessions (also those open already), deaths, round trips, traffic, resumes,
 * GOAWAYs and refused connections become metrics in a prom-client Registry, which is returned. Mount it
 * yourself (`res.end(await registry.metrics())` with `registry.contentType`), or use `serve --http`.
 *
 * Note: a server measures a round trip only when it sends a PING itself, which on a healthy link it does
 * not (the client pings). Use probeRtt() to sample RTTs from the server's side.
 *
 * Needs prom-client installed (an optional peer dependency); throws LIFELINE_UNSUPPORTED naming it if not.
 * The registry returned is typed as the one passed, or as MetricsRegistry (a prom-client Registry at run time).
 */
export function instrument<R extends MetricsRegistry = MetricsRegistry>(
  server: HeartbeatServer,
  options: InstrumentOptions<R> = {},
): R {
  const { Registry } = prom();
  const given: MetricsRegistry | undefined = options.registry;
  const registry = given ?? new Registry();
  if (!(registry instanceof Registry))
    throw new TypeError('instrument(): registry must be a prom-client Registry');
  let m = byRegistry.get(registry);
  if (m === undefined) {
    m = createInstruments(registry, options.prefix ?? 'lifeline_');
    byRegistry.set(registry, m);
  }
  // R is the type of the registry passed, or MetricsRegistry, which a prom-client Registry is.
  const typed = registry as unknown as R;
  if (m.servers.has(server)) return typed;
  m.servers.add(server);
  const metrics = m;
  for (const session of server.sessions.values()) watchSession(session, metrics);
  server.on('session', (session) => {
    metrics.established.inc();
    watchSession(session, metrics);
  });
  server.on('rejected', (report) => {
    metrics.rejected.inc({ cause: report.cause });
    countGoaway(report, metrics);
  });
  server.on('close', () => metrics.servers.delete(server));
  return typed;
}

function watchSession(session: Session, m: Instruments): void {
  session.on('rtt', (ms) => m.rtt.observe(ms / 1000));
  session.on('resumed', () => m.resumes.inc());
  session.on('stall', () => m.stalls.inc());
  session.on('dead', (report) => {
    m.deaths.inc({ cause: report.cause, diagnosis: report.diagnosis ?? 'none' });
    countGoaway(report, m);
  });
  session.once('close', () => {
    // A goodbye (GOAWAY normal from the client) ends a session without a 'dead' event.
    if (session.lastEnd !== undefined && isGoodbye(session.lastEnd)) countGoaway(session.lastEnd, m);
    for (const key of Object.keys(ZERO) as Array<keyof Stats>) m.retired[key] += session.stats[key];
  });
}

/** A GOAWAY the peer sent (cause 'goaway') or one this side sent before closing (any other cause). */
function countGoaway(report: DeathReport, m: Instruments): void {
  if (report.goaway === undefined) return;
  m.goaways.inc({ code: report.goaway, sender: report.cause === 'goaway' ? 'peer' : 'server' });
}

/** Sums a statistic over the retired sessions and those the servers still hold. */
function total(m: Instruments, key: keyof Stats): number {
  let sum = m.retired[key];
  for (const server of m.servers) for (const s of server.sessions.values()) sum += s.stats[key];
  return sum;
}

function createInstruments(registry: Registry, p: string): Instruments {
  const { Counter, Gauge, Histogram } = prom();
  const registers = [registry];
  const m: Instruments = {
    servers: new Set(),
    retired: { ...ZERO },
    established: new Counter({
      name: `${p}sessions_established_total`,
      help: 'Sessions established (new sessions; resumes are counted separately).',
      registers,
    }),
    deaths: new Counter({
      name: `${p}deaths_total`,
      help: 'Connections of established sessions that died, by cause and (for heartbeat-timeout) diagnosis.',
      labelNames: ['cause', 'diagnosis'],
      registers,
    }),
    rtt: new Histogram({
      name: `${p}rtt_seconds`,
      help: 'Round-trip times measured by PING/PONG from the server side, in seconds.',
      buckets: [...RTT_BUCKETS],
      registers,
    }),
    resumes: new Counter({
      name: `${p}resumes_total`,
      help: 'Sessions resumed on a new connection with nothing lost.',
      registers,
    }),
    goaways: new Counter({
      name: `${p}goaways_total`,
      help: 'GOAWAY frames by code, sent by the peer or by this server (refusals included).',
      labelNames: ['code', 'sender'],
      registers,
    }),
    rejected: new Counter({
      name: `${p}rejected_connections_total`,
      help: 'Connections that never became a session (wrong protocol, failed auth, handshake timeout...), by cause.',
      labelNames: ['cause'],
      registers,
    }),
    stalls: new Counter({
      name: `${p}stalls_total`,
      help: 'Times this process itself was stalled (blocked event loop, long GC) past a heartbeat timer.',
      registers,
    }),
  };
  new Gauge({
    name: `${p}sessions`,
    help: 'Sessions held, by state: open (connected) or detached (waiting for its client to resume).',
    labelNames: ['state'],
    registers,
    collect() {
      const counts = { open: 0, detached: 0 };
      for (const server of m.servers)
        for (const s of server.sessions.values())
          if (s.state === 'open' || s.state === 'detached') counts[s.state]++;
      this.set({ state: 'open' }, counts.open);
      this.set({ state: 'detached' }, counts.detached);
    },
  });
  // Traffic lives in each session's stats; a counter summed at scrape time costs nothing per message.
  summed(registry, `${p}pings_total`, 'PINGs sent by the server and answered (each gave one RTT).', m, [
    ['pings', {}],
  ]);
  summed(
    registry,
    `${p}pongs_ignored_total`,
    'PONGs that answered no PING of ours (unsolicited or forged): ignored, never an RTT sample.',
    m,
    [['pongsIgnored', {}]],
  );
  new (prom().Gauge)({
    name: `${p}detached_buffered_bytes`,
    help: 'Bytes held by the replay buffers of sessions waiting to be resumed (bounded by maxDetachedBuffered).',
    registers,
    collect() {
      let bytes = 0;
      for (const server of m.servers)
        for (const s of server.sessions.values()) if (s.state === 'detached') bytes += s.buffered;
      this.set(bytes);
    },
  });
  summed(registry, `${p}messages_total`, 'Messages (DATA frames) delivered, by direction.', m, [
    ['messagesIn', { direction: 'in' }],
    ['messagesOut', { direction: 'out' }],
  ]);
  summed(registry, `${p}bytes_total`, 'Message payload bytes, by direction.', m, [
    ['bytesIn', { direction: 'in' }],
    ['bytesOut', { direction: 'out' }],
  ]);
  return m;
}

function summed(
  registry: Registry,
  name: string,
  help: string,
  m: Instruments,
  series: Array<[keyof Stats, Record<string, string>]>,
): void {
  const labelNames = [...new Set(series.flatMap(([, labels]) => Object.keys(labels)))];
  new (prom().Counter)({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, labels] of series) this.inc(labels, total(m, key));
    },
  });
}
