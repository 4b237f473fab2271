// One simulated world: a lifeline client and a fleet of lifeline servers (one listening at a time, sharing a
// session store) on the simulated network, the applications on both ends (which number every message they
// send and record every event they get), and the invariants of DESIGN.md checked against those records.
import { connect, type HeartbeatClient } from '../../src/client/client.js';
import type { GoawayName } from '../../src/protocol/constants.js';
import { createServer, type HeartbeatServer } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import type { Endpoint } from '../../src/session/endpoint.js';
import type { Transport } from '../../src/session/transport.js';
import { type Listener, Network } from './network.js';
import { prng, Scheduler, SimProcess } from './scheduler.js';
import type { LinkOptions } from './socket.js';
import { SimStore } from './store.js';

export type Side = 'client' | 'server';
/** Events from whose listener the application sends (the server's 'session' included). */
export type HookEvent = 'drain' | 'resumed' | 'connected' | 'session' | 'dead';

/** Everything about a world that a schedule draws once. */
export interface WorldParams {
  seed: number;
  link: LinkOptions;
  /** The fleet shares a store (server.close() hands sessions over); false: each server its own. */
  sharedStore: boolean;
  /** Resume window, ms (0: no resume). */
  resumeWindow: number;
  /** Replay buffer bound of both ends, bytes. */
  maxBuffered: number;
}

/** Heartbeat settings of both ends, ms. */
export const INTERVAL = 1000;
export const TIMEOUT = 3000;
const HANDSHAKE_TIMEOUT = 2000;
const CONNECT_TIMEOUT = 1500;
const BACKOFF = { initialDelay: 100, maxDelay: 2000 };

interface ServerNode extends Listener {
  server: HeartbeatServer;
  listening: boolean;
  /** Every Session the 'session' event announced on this server, by id. */
  announced: Map<string, Session>;
}

/** The events an endpoint emitted, in order. */
type EventLog = string[];

export class World {
  readonly scheduler = new Scheduler();
  readonly random: () => number;
  readonly net: Network;
  readonly store: SimStore | undefined;
  readonly servers: ServerNode[] = [];
  readonly clientProcess = new SimProcess('client');
  readonly client: HeartbeatClient;
  /** What each side's application sent (accepted by send()), delivered, and was told was unconfirmed. */
  readonly sent: Record<Side, number[]> = { client: [], server: [] };
  readonly delivered: Record<Side, number[]> = { client: [], server: [] };
  readonly unconfirmed: Record<Side, number[]> = { client: [], server: [] };
  /**
   * Messages reported unconfirmed after a fault touched them (see faultDuring): the sender cannot know
   * whether a message arrived whose acknowledgement the fault may have lost.
   */
  readonly unconfirmedByLoss = new Set<string>();
  /** When each message was sent (key: side + number), and when a fault (cut, stall, pause...) was made. */
  readonly sentAt = new Map<string, number>();
  readonly faultsAt: number[] = [];
  /** An application called close() (client, session or server). */
  closeCalled = false;
  /** Problems seen while the schedule ran (checked with the rest at the end). */
  readonly problems: string[] = [];
  /** Sends to make from inside the next such event, per side. */
  readonly hooks: Record<Side, Map<HookEvent, number>> = { client: new Map(), server: new Map() };
  readonly logs = new Map<Endpoint, EventLog>();
  /** The session the server-side application talks to: the one announced last. */
  current: Session | undefined;
  private counter: Record<Side, number> = { client: 0, server: 0 };
  private readonly storeProcess = new SimProcess('store');

  constructor(readonly params: WorldParams) {
    this.random = prng(params.seed);
    this.net = new Network(this.scheduler, this.random, params.link);
    this.store = params.sharedStore ? new SimStore(this.scheduler, this.storeProcess) : undefined;
    this.net.route = () => this.servers.find((n) => n.listening);
    this.startServer();
    this.client = connect({
      host: 'fleet.sim',
      port: 7000,
      clock: this.scheduler.clockFor(this.clientProcess),
      createConnection: () => this.net.dial(this.clientProcess) as unknown as import('node:net').Socket,
      keepAlive: false,
      linearTimeouts: false,
      interval: INTERVAL,
      timeout: TIMEOUT,
      connectTimeout: CONNECT_TIMEOUT,
      handshakeTimeout: HANDSHAKE_TIMEOUT,
      reconnect: BACKOFF,
      maxBuffered: params.maxBuffered,
    });
    this.watch(this.client, 'client');
    this.client.on('message', (m) => this.deliver('server', m));
    this.client.on('unconfirmed', (ms) => this.report('client', ms));
    this.client.on('error', () => {});
    for (const event of ['drain', 'resumed', 'connected', 'dead'] as const)
      this.client.on(event, () => this.hook('client', event, this.client));
  }

  /** The server now listening (undefined between a server's close and its replacement). */
  get listening(): ServerNode | undefined {
    return this.servers.find((n) => n.listening);
  }

  /** A new server process joins the fleet and takes the front door. */
  startServer(): ServerNode {
    const process = new SimProcess(`server${this.servers.length + 1}`);
    const store = this.store ?? undefined;
    const server = createServer({
      clock: this.scheduler.clockFor(process),
      keepAlive: false,
      linearTimeouts: false,
      interval: INTERVAL,
      timeout: TIMEOUT,
      handshakeTimeout: HANDSHAKE_TIMEOUT,
      resumeWindow: this.params.resumeWindow,
      maxBuffered: this.params.maxBuffered,
      ...(store === undefined ? {} : { store }),
    });
    const node: ServerNode = {
      process,
      server,
      port: 7000 + this.servers.length,
      listening: true,
      announced: new Map(),
      accept: (socket) => server.accept(socket as unknown as import('node:net').Socket),
    };
    server.on('error', (err) => this.problems.push(`${process.name} emitted 'error': ${err.message}`));
    server.on('session', (session) => this.announced(node, session));
    this.servers.push(node);
    return node;
  }

  /** server.close() on the listening server; a replacement starts `gapMs` later. */
  closeServer(gapMs: number): void {
    const node = this.listening;
    if (node === undefined) return;
    node.listening = false;
    this.closeCalled = true;
    node.server.close();
    this.scheduler.at(this.storeProcess, this.scheduler.now + gapMs, () => this.startServer(), 'replacement');
  }

  /** The application on `side` sends `n` messages (numbered; a refused send() is not counted). */
  send(side: Side, n: number, on?: Endpoint, big = false): void {
    const endpoint = on ?? (side === 'client' ? this.client : this.current);
    if (endpoint === undefined) return;
    for (let i = 0; i < n; i++) {
      const number = ++this.counter[side];
      try {
        const text = `${side === 'client' ? 'c' : 's'}${number}`;
        // A big one is padded with spaces (its number still reads): 20 000 bytes, two fragments — on a link
        // that can carry a 16 KiB frame within the frame completion deadline (docs/PROTOCOL.md section 6:
        // 10 s + 1 s for 16 KiB); a slower link is below what lifeline supports (README, limits).
        endpoint.send(big && this.carriesFragments ? text.padEnd(20_000, ' ') : text);
        this.sent[side].push(number);
        this.sentAt.set(`${side}${number}`, this.scheduler.now);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code !== 'LIFELINE_CLOSED' && code !== 'LIFELINE_BUFFER_FULL')
          this.problems.push(`${side} send() threw ${code ?? ''} ${(err as Error).message}`);
      }
    }
  }

  /** Whether the link moves 16 KiB in 8 s even at its slowest (a window per round trip). */
  private get carriesFragments(): boolean {
    const { window, latencyMs, jitterMs } = this.params.link;
    return (window * 8000) / (2 * (latencyMs + jitterMs)) >= 16 * 1024;
  }

  /** The application on `side` pauses its session (flow control) and resumes it `ms` later. */
  appPause(side: Side, ms: number): void {
    const endpoint = side === 'client' ? this.client : this.current;
    const process = side === 'client' ? this.clientProcess : this.listening?.process;
    if (endpoint === undefined || process === undefined) return;
    endpoint.pause();
    this.scheduler.at(process, this.scheduler.now + ms, () => endpoint.resume(), `${side} resume()`);
  }

  /** The side's current connection says GOAWAY `name` (as another implementation, or a future one, might). */
  goaway(side: Side, name: GoawayName): void {
    const endpoint = side === 'client' ? this.client : this.current;
    // The transport is the endpoint's own; reaching it is the only way to make this side say GOAWAY `name`.
    const transport = (endpoint as unknown as { transport?: Transport } | undefined)?.transport;
    if (transport === undefined || transport.closed) return;
    transport.goaway(name, `simulated ${name}`, endpoint!.lastReceived(), {
      cause: 'local',
      silentMs: 0,
      goaway: name,
      detail: `simulated ${name}`,
    });
  }

  /** The client PINGs far more often than allowed: the server's too-many-pings. */
  pingFlood(): void {
    for (let i = 0; i < 30; i++) this.client.ping();
  }

  private announced(node: ServerNode, session: Session): void {
    const name = `${node.process.name} session ${session.id}`;
    if (node.announced.has(session.id)) {
      const same = node.announced.get(session.id) === session;
      this.problems.push(
        `${name}: 'session' emitted again for the same id (${same ? 'same' : 'another'} object)`,
      );
    }
    if (session.socket === undefined) this.problems.push(`${name}: announced without a socket`);
    node.announced.set(session.id, session);
    this.watch(session, name);
    this.current = session;
    session.on('message', (m) => this.deliver('client', m));
    session.on('unconfirmed', (ms) => this.report('server', ms));
    for (const event of ['drain', 'resumed', 'dead'] as const)
      session.on(event, () => this.hook('server', event, session));
    this.hook('server', 'session', session);
  }

  private hook(side: Side, event: HookEvent, endpoint: Endpoint): void {
    const n = this.hooks[side].get(event);
    if (n === undefined) return;
    this.hooks[side].delete(event);
    this.send(side, n, endpoint);
  }

  /** Records every event an endpoint emits, to check that 'close' is its last. */
  private watch(endpoint: Endpoint, name: string): void {
    const log: EventLog = [];
    this.logs.set(endpoint, log);
    Object.defineProperty(log, 'name', { value: name });
    const emit = endpoint.emit;
    const world = this;
    endpoint.emit = function (this: Endpoint, event: string, ...args: unknown[]) {
      log.push(event);
      if (TRACE) console.log(`t=${world.scheduler.now} ${name} ${event} ${traceArgs(args)}`);
      return (emit as (e: string, ...a: unknown[]) => boolean).call(this, event, ...args);
    } as typeof endpoint.emit;
  }

  private deliver(from: Side, payload: Buffer): void {
    const text = payload.toString();
    const n = Number(text.slice(1));
    if (text[0] !== (from === 'client' ? 'c' : 's') || !Number.isInteger(n)) {
      this.problems.push(`${from === 'client' ? 'server' : 'client'} got a message nobody sent: ${text}`);
      return;
    }
    this.delivered[from].push(n);
  }

  /**
   * Whether a fault touched message `key` between its send (less the longest stall or pause a step makes, so
   * that one already under way counts) and now: only then may its acknowledgement have been lost.
   */
  private faultDuring(key: string): boolean {
    const from = (this.sentAt.get(key) ?? 0) - FAULT_REACH_MS;
    return this.faultsAt.some((at) => at >= from && at <= this.scheduler.now);
  }

  private report(from: Side, messages: Array<{ payload: Buffer }>): void {
    for (const m of messages) {
      const n = Number(m.payload.toString().slice(1));
      this.unconfirmed[from].push(n);
      if (this.faultDuring(`${from}${n}`)) this.unconfirmedByLoss.add(`${from}${n}`);
    }
  }
}

/** LIFELINE_SIM_TRACE=1: every application event of a replayed schedule, with its virtual time. */
const TRACE = process.env.LIFELINE_SIM_TRACE === '1';

function traceArgs(args: unknown[]): string {
  return args
    .map((a) =>
      Buffer.isBuffer(a)
        ? a.toString()
        : Array.isArray(a)
          ? a.map((m) => String(m?.payload ?? m)).join(',')
          : JSON.stringify(a),
    )
    .join(' ')
    .slice(0, 200);
}

/** The longest a fault made by one step lasts (stalls and pauses), in ms. */
const FAULT_REACH_MS = 10_000;

export function logName(log: EventLog): string {
  return (log as unknown as { name: string }).name;
}
