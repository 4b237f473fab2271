// createServer: accepts TCP or TLS connections, runs the handshake (HELLO -> authenticate -> WELCOME),
// owns the sessions and enforces the limits. Everything per-connection after the handshake belongs to the
// Session and its Transport; this file never touches a frame of an established session.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { checkOption } from '../errors.js';
import { deriveKeepAlive, type KeepAliveOptions } from '../keepalive/index.js';
import { TOKEN_LENGTH } from '../protocol/constants.js';
import type { Frame, HelloFrame } from '../protocol/frames.js';
import type { DeathReport } from '../session/death.js';
import { type HeartbeatOptions, type ResolvedHeartbeat, resolveHeartbeat } from '../session/options.js';
import { type LivenessParams, Transport, type TransportHandler } from '../session/transport.js';
import { Session, type SessionEnding, type SessionOwner } from './session.js';
import { MemorySessionStore, type SessionRecord, type SessionStore } from './store.js';

export interface HelloInfo {
  /** Credentials the client sent (opaque bytes; lifeline's client sends UTF-8). */
  credentials: Buffer;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  /** The client certificate's subject, when TLS with client certificates is used. */
  peerCertificate?: tls.PeerCertificate;
}

/**
 * Decides whether a client may in: return a string (its identity, which binds its sessions), `true`
 * (accepted, identity ''), or false/undefined or a throw (refused: GOAWAY auth-failed). May be async.
 */
export type Authenticate = (
  hello: HelloInfo,
) => string | boolean | undefined | Promise<string | boolean | undefined>;

export interface ServerOptions extends HeartbeatOptions {
  /**
   * Kernel keepalive and TCP_USER_TIMEOUT for every accepted socket. Default: derived from interval and
   * timeout (see deriveKeepAlive in the keepalive layer); false leaves the kernel's settings alone.
   */
  keepAlive?: KeepAliveOptions | false;
  /**
   * Linux TCP_THIN_LINEAR_TIMEOUTS on every socket: under packet loss a lost PING is retransmitted every
   * ~200 ms instead of after 0.2, 0.4, 0.8, 1.6 s..., so loss is not mistaken for death. Default true.
   */
  linearTimeouts?: boolean;
  /** How long a new connection has to complete its HELLO, in ms. Default 10000. */
  handshakeTimeout?: number;
  /**
   * Bounds within which a client's proposed interval/timeout are accepted (clamped). Default: none, the
   * server dictates its own values.
   */
  clientProposal?: { minInterval?: number; maxInterval?: number; minTimeout?: number; maxTimeout?: number };
  /** Most sessions held at once (open or waiting to resume). Default Infinity. */
  maxSessions?: number;
  /**
   * How long a session whose connection died is kept for its client to resume it, in ms. Default 30000:
   * long enough for a client to notice the death and reconnect with backoff; 0 disables resume.
   */
  resumeWindow?: number;
  /**
   * Where sessions waiting to be resumed are recorded. Default: this process's memory. A shared store lets
   * a client resume on another server of a fleet, and close() then hands every session over to it.
   */
  store?: SessionStore;
  /** Most unacknowledged bytes buffered per session for replay. Default 8 MiB. */
  maxBuffered?: number;
  authenticate?: Authenticate;
  /** TLS server options (key, cert, ca, requestCert...): the server speaks TLS when given. */
  tls?: tls.TlsOptions;
}

export interface ServerEvents {
  session: [session: Session];
  listening: [];
  close: [];
  error: [err: Error];
  /** A connection that never became a session (refused, hostile, timed out), with why. */
  rejected: [report: DeathReport, remote: string];
}

export const SERVER_DEFAULTS = { handshakeTimeout: 10_000, resumeWindow: 30_000 } as const;

export class HeartbeatServer extends EventEmitter<ServerEvents> implements SessionOwner {
  /** Live sessions by id. */
  readonly sessions = new Map<string, Session>();
  readonly heartbeat: ResolvedHeartbeat;
  private readonly byToken = new Map<string, Session>();
  private readonly store: SessionStore;
  private readonly pending = new Set<Transport>();
  /**
   * What a connection's frames go to until its session adopts it: one object for all connections (no
   * closures per connection). Before the HELLO, and after it while the client is authenticated.
   */
  private readonly awaitingHello: TransportHandler = {
    onFrame: (frame, t) => this.onHandshakeFrame(frame, t),
    onRtt: () => {},
    ackDue: () => 0,
    lastReceived: () => 0,
    onEnd: (report, t) => this.onHandshakeEnd(report, t),
  };
  private readonly helloReceived: TransportHandler = {
    ...this.awaitingHello,
    // Frames decoded from the same chunk after the HELLO (the client must wait for WELCOME).
    onFrame: (frame, t) => t.violation(`expected one HELLO first, got ${frame.type.toUpperCase()}`),
  };
  private readonly server: net.Server;
  private readonly options: ServerOptions;
  private readonly keepAlive: KeepAliveOptions | false;
  private readonly handshakeTimeout: number;
  private readonly resumeWindow: number;
  private readonly maxSessions: number;
  private shuttingDown = false;
  /** stopAccepting() closed the listener; `drained`: its last connection has ended too. */
  private acceptingStopped = false;
  private drained = false;
  private sharedParams: LivenessParams | undefined;

  constructor(options: ServerOptions = {}) {
    super();
    this.heartbeat = resolveHeartbeat(options);
    this.options = options;
    this.handshakeTimeout = checkOption(
      'handshakeTimeout',
      options.handshakeTimeout ?? SERVER_DEFAULTS.handshakeTimeout,
      1,
      0x7fff_ffff,
      'ms',
    );
    this.resumeWindow = checkOption(
      'resumeWindow',
      options.resumeWindow ?? SERVER_DEFAULTS.resumeWindow,
      0,
      0x7fff_ffff,
      'ms',
    );
    this.maxSessions = options.maxSessions ?? Number.POSITIVE_INFINITY;
    this.store = options.store ?? new MemorySessionStore();
    if (options.maxSessions !== undefined) checkOption('maxSessions', options.maxSessions, 1, 2 ** 31);
    if (options.maxBuffered !== undefined)
      checkOption('maxBuffered', options.maxBuffered, 1, 2 ** 40, 'bytes');
    this.keepAlive = options.keepAlive ?? deriveKeepAlive(this.heartbeat);
    this.server = options.tls
      ? tls.createServer(options.tls).on('secureConnection', this.onConnection)
      : net.createServer(this.onConnection);
    this.server.on('listening', () => this.emit('listening'));
    this.server.on('error', (err) => this.emit('error', err));
    this.server.on('close', () => {
      this.drained = true;
      this.emit('close');
    });
    if (options.tls) {
      // A failed TLS handshake (bad certificate, plain TCP) never becomes a connection: report, don't crash.
      this.server.on('tlsClientError', (err, socket) => {
        this.emit(
          'rejected',
          { cause: 'protocol-error', silentMs: 0, detail: `TLS: ${err.message}` },
          remoteOf(socket),
        );
      });
    }
  }

  /** Like net.Server#listen: (port, host, callback) or (options, callback). */
  listen(port?: number, host?: string, callback?: () => void): this;
  listen(options: net.ListenOptions, callback?: () => void): this;
  listen(a?: number | net.ListenOptions, b?: string | (() => void), c?: () => void): this {
    if (typeof a === 'object') this.server.listen(a, b as (() => void) | undefined);
    else this.server.listen(a, b as string | undefined, c);
    return this;
  }

  address(): net.AddressInfo {
    return this.server.address() as net.AddressInfo;
  }

  /**
   * Stops accepting, says GOAWAY server-shutdown to every session (their clients may reconnect elsewhere),
   * lets written data flush, and calls back once every connection has closed. With a `store` of the
   * application's, every session is recorded in it as its connection ends, so that another server of the
   * fleet resumes it with nothing lost; with the default (private) store, the sessions end.
   */
  close(callback?: (err?: Error) => void): this {
    this.shuttingDown = true;
    if (!this.acceptingStopped) this.server.close(callback);
    else if (callback !== undefined) {
      // stopAccepting() closed the listener already: 'close' comes (or came) with the last connection.
      if (this.drained) process.nextTick(callback);
      else this.server.once('close', () => callback());
    }
    for (const t of this.pending) t.goaway('server-shutdown', 'server shutting down', 0, shutdownReport);
    for (const session of this.sessions.values()) {
      // With a store of the application's (shared by a fleet), sessions are handed over, not ended.
      if (this.options.store !== undefined) session.handOver('server shutting down');
      else session.close('server shutting down', 'server-shutdown');
    }
    return this;
  }

  /**
   * Stops accepting connections and keeps every session (close() ends them too): to drain a process before
   * it is replaced, or to hand new clients to the other servers of a fleet or the other workers of a
   * node:cluster. The open sessions go on while their connections last (a client that reconnects needs
   * another server). 'close' follows once the last connection has ended.
   */
  stopAccepting(): this {
    if (this.acceptingStopped || !this.server.listening) return this;
    this.acceptingStopped = true;
    this.server.close();
    return this;
  }

  sessionDetached(session: Session): void {
    this.storeCall(() => this.store.save(session.toRecord(), this.resumeWindow));
  }

  sessionClosed(session: Session, ending: SessionEnding): void {
    this.sessions.delete(session.id);
    this.byToken.delete(session.token);
    // Only a session that ended for good is forgotten by the store: an expired record goes by its time to
    // live, one left at a shutdown may still be resumed elsewhere, and one that moved is another's now.
    if (ending === 'ended') this.storeCall(() => this.store.delete(session.token, session.recordedState()));
  }

  private storeCall(call: () => void | Promise<void>): void {
    try {
      Promise.resolve(call()).catch((err: unknown) => this.emit('error', err as Error));
    } catch (err) {
      this.emit('error', err as Error);
    }
  }

  private readonly onConnection = (socket: net.Socket): void => {
    // Reading the peer's address now makes the socket keep it (net caches it): it is gone once it has closed,
    // when a rejected connection is reported.
    socket.remoteAddress;
    const transport = new Transport(socket, this.awaitingHello, {
      maxFrame: this.heartbeat.maxFrame,
      handshakeTimeout: this.handshakeTimeout,
      keepAlive: this.keepAlive,
      linearTimeouts: this.options.linearTimeouts !== false,
    });
    this.pending.add(transport);
    if (this.shuttingDown) transport.goaway('server-shutdown', 'server shutting down', 0, shutdownReport);
  };

  private onHandshakeEnd(report: DeathReport, transport: Transport): void {
    this.pending.delete(transport);
    this.emit('rejected', report, remoteOf(transport.socket));
  }

  private onHandshakeFrame(frame: Frame, transport: Transport): void {
    if (frame.type !== 'hello') {
      transport.violation(`expected one HELLO first, got ${frame.type.toUpperCase()}`);
      return;
    }
    transport.setHandler(this.helloReceived);
    // Nothing more is read until the client is authenticated (a client must wait for WELCOME anyway).
    transport.socket.pause();
    this.authenticate(frame, transport).then(
      (identity) =>
        this.welcome(frame, transport, identity).catch((err: unknown) => {
          // The session store failed: this client cannot be served now, the server goes on.
          const detail = `session store: ${err instanceof Error ? err.message : String(err)}`;
          transport.socket.resume();
          transport.goaway('internal-error', 'server error', 0, {
            cause: 'local',
            silentMs: 0,
            goaway: 'internal-error',
            detail,
          });
        }),
      (err: unknown) => this.refuseAuth(transport, err instanceof Error ? err.message : String(err)),
    );
  }

  private async authenticate(hello: HelloFrame, transport: Transport): Promise<string | undefined> {
    const hook = this.options.authenticate;
    if (hook === undefined) return '';
    const socket = transport.socket;
    const info: HelloInfo = {
      credentials: hello.credentials,
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
    };
    if (socket instanceof tls.TLSSocket) info.peerCertificate = socket.getPeerCertificate();
    const verdict = await hook(info);
    if (verdict === true) return '';
    if (typeof verdict === 'string') return verdict;
    return undefined;
  }

  private refuseAuth(transport: Transport, why: string): void {
    transport.goaway('auth-failed', 'authentication failed', 0, {
      cause: 'local',
      silentMs: 0,
      goaway: 'auth-failed',
      detail: `authentication failed: ${why}`,
    });
    transport.socket.resume();
  }

  private async welcome(
    hello: HelloFrame,
    transport: Transport,
    identity: string | undefined,
  ): Promise<void> {
    if (transport.closed) return;
    if (identity === undefined) {
      transport.socket.resume();
      return this.refuseAuth(transport, 'refused by authenticate()');
    }
    this.pending.delete(transport);
    const found = await this.findSession(hello, identity);
    transport.socket.resume();
    if (transport.closed) return;
    if (this.shuttingDown) {
      transport.goaway('server-shutdown', 'server shutting down', 0, shutdownReport);
      return;
    }
    const resumed = found !== undefined;
    if (!resumed && this.sessions.size >= this.maxSessions) {
      const detail = `the server holds its maximum of ${this.maxSessions} sessions`;
      transport.goaway('too-many-sessions', detail, 0, {
        cause: 'local',
        silentMs: 0,
        goaway: 'too-many-sessions',
        detail,
      });
      return;
    }
    const session = found ?? this.register(identity, this.negotiate(hello));
    transport.writeOpening({
      type: 'welcome',
      interval: session.interval,
      timeout: session.timeout,
      maxFrame: this.heartbeat.maxFrame,
      resumed,
      lastReceived: session.lastReceived(),
      token: Buffer.from(session.token, 'hex'),
      sessionId: session.id,
    });
    session.peerMaxFrame = hello.maxFrame;
    session.remoteAddress = transport.socket.remoteAddress;
    session.remotePort = transport.socket.remotePort;
    // Announced once, before its connection is adopted, so that listeners see everything from the first
    // message (or, for a session continued from another server's record, from its 'resumed').
    if (!session.announced) {
      session.announced = true;
      this.emit('session', session);
    }
    session.adopt(transport, resumed ? hello.lastReceived : 0, resumed);
  }

  /**
   * The session a HELLO's token resumes, if any. A session is resumed only with its token AND the identity
   * that created it: a stolen or guessed token simply gets a new session. A session held here is resumed
   * here; otherwise the store may hold one another server of a fleet left behind.
   */
  private async findSession(hello: HelloFrame, identity: string): Promise<Session | undefined> {
    if (hello.token.length === 0) return undefined;
    const token = hello.token.toString('hex');
    const local = this.byToken.get(token);
    if (local !== undefined && (local.identity !== identity || local.state === 'closed')) return undefined;
    // Claim the record, so that no other server resumes the session too.
    const record = await this.store.take(token, identity);
    if (local !== undefined && local.state !== 'closed') {
      // Still open here (this side has not noticed the death yet, so it recorded nothing), or waiting with
      // the record it saved: this copy is the session.
      if (local.state === 'open' || (record !== undefined && local.isRecordedAs(record))) return local;
      // The session continued on another server since this one recorded it: this copy is stale. Continue
      // from the newer record, or, if another server holds the session now, start a new one.
      local.supersede();
    }
    if (record === undefined) return undefined;
    const params = { ...this.negotiate(hello), interval: record.interval, timeout: record.timeout };
    return this.register(identity, params, record);
  }

  private negotiate(hello: HelloFrame): LivenessParams {
    const hb = this.heartbeat;
    const bounds = this.options.clientProposal;
    // Without proposals every session shares one parameters object.
    if (bounds === undefined && this.sharedParams !== undefined) return this.sharedParams;
    let { interval, timeout } = hb;
    if (bounds !== undefined) {
      if (hello.interval > 0)
        interval = clamp(
          hello.interval,
          bounds.minInterval ?? hb.interval,
          bounds.maxInterval ?? hb.interval,
        );
      if (hello.timeout > 0)
        timeout = clamp(hello.timeout, bounds.minTimeout ?? hb.timeout, bounds.maxTimeout ?? hb.timeout);
      timeout = Math.max(timeout, interval);
    }
    const params: LivenessParams = {
      interval,
      timeout,
      detector: hb.detector,
      phiThreshold: hb.phiThreshold,
      maxPingsPerInterval: hb.maxPingsPerInterval,
      mode: 'passive',
      rttSampleEvery: Math.max(RTT_SAMPLE_INTERVALS * interval, RTT_SAMPLE_MIN_MS),
    };
    if (bounds === undefined) this.sharedParams = params;
    return params;
  }

  /** Creates a session (new, or continued from a stored record) and makes it findable. */
  private register(identity: string, params: LivenessParams, record?: SessionRecord): Session {
    let id = record?.id;
    while (id === undefined || this.sessions.has(id)) id = randomBytes(4).toString('hex');
    const token = record?.token ?? randomBytes(TOKEN_LENGTH).toString('hex');
    const session = new Session(
      this,
      { id, identity, token, params, resumeWindow: this.resumeWindow },
      this.options.maxBuffered === undefined ? {} : { maxBuffered: this.options.maxBuffered },
      record,
    );
    this.sessions.set(id, session);
    this.byToken.set(token, session);
    return session;
  }
}

/**
 * The server measures an RTT of its own (a PING sent with a PONG) every 10 intervals, and at most every 30 s:
 * operators get round-trip times per session at a cost of ~1 extra PING per 30 s per connection.
 */
const RTT_SAMPLE_INTERVALS = 10;
const RTT_SAMPLE_MIN_MS = 30_000;

const shutdownReport: DeathReport = {
  cause: 'local',
  silentMs: 0,
  goaway: 'server-shutdown',
  detail: 'server shutting down',
};

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}

function remoteOf(socket: net.Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}

/** Like net.createServer: `onSession` is added as a 'session' listener. */
export function createServer(
  options?: ServerOptions | ((session: Session) => void),
  onSession?: (session: Session) => void,
): HeartbeatServer {
  if (typeof options === 'function') return createServer({}, options);
  const server = new HeartbeatServer(options);
  if (onSession) server.on('session', onSession);
  return server;
}
