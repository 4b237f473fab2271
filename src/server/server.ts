// createServer: the listener, the options and the server's life (listen, stopAccepting, close). A connection
// goes to the handshake (handshake.ts) until it becomes a session; sessions live in the registry
// (registry.ts). This file never touches a frame.
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { checkOption } from '../errors.js';
import { deriveKeepAlive, type KeepAliveOptions } from '../keepalive/index.js';
import { type Clock, systemClock } from '../session/clock.js';
import { type CodecOption, resolveCodec } from '../session/codec.js';
import type { DeathReport } from '../session/death.js';
import { resolveFlow } from '../session/endpoint.js';
import { type HeartbeatOptions, type ResolvedHeartbeat, resolveHeartbeat } from '../session/options.js';
import { Transport } from '../session/transport.js';
import { type Authenticate, type ClientProposalBounds, Handshake } from './handshake.js';
import { SessionRegistry } from './registry.js';
import type { Session } from './session.js';
import { MemorySessionStore, type SessionStore } from './store.js';

export type { Authenticate, ClientProposalBounds, HelloInfo } from './handshake.js';

export interface ServerOptions<T = Buffer> extends HeartbeatOptions {
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
  /**
   * How long a new connection has to complete its HELLO, in ms. Default 10000. With TLS, the TLS handshake
   * has as long again (Node's own default would be 120 s).
   */
  handshakeTimeout?: number;
  /**
   * Largest HELLO accepted, in bytes (its credentials included): a longer one is refused with GOAWAY
   * frame-too-large as soon as its header is read, before a byte of it is buffered. Default 8192: room for
   * a JWT or a client certificate's worth of credentials; an unauthenticated peer can make the server hold
   * no more than this per connection before authenticate() runs.
   */
  maxHelloSize?: number;
  /**
   * Most connections in their handshake (before WELCOME) at once. A connection beyond it is closed at once
   * and reported 'rejected'. Default 4096: a burst of reconnects after a network blip gets through, a
   * flood of idle sockets does not hold the server's descriptors.
   */
  maxPendingHandshakes?: number;
  /**
   * Bounds within which a client's proposed interval/timeout are accepted (clamped). Default: none, the
   * server dictates its own values.
   */
  clientProposal?: ClientProposalBounds;
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
  /** Largest message a session accepts from its client, bytes (see EndpointOptions.maxMessageSize). Default 1 MiB. */
  maxMessageSize?: number;
  /** Each session's receive window, bytes (see EndpointOptions.receiveWindow). Default max(4 MiB, maxMessageSize). */
  receiveWindow?: number;
  /**
   * Most bytes, in all, that the replay buffers of sessions waiting to be resumed may hold on this server.
   * Past it the oldest detached sessions end as if their resume window ran out (their messages reported
   * 'unconfirmed'). Default 256 MiB: 32 full default buffers, or thousands of ordinary ones.
   */
  maxDetachedBuffered?: number;
  /** How messages are encoded (see EndpointOptions.codec): 'binary' (default), 'utf8', 'json', or your own. */
  codec?: CodecOption<T>;
  authenticate?: Authenticate;
  /** TLS server options (key, cert, ca, requestCert...): the server speaks TLS when given. */
  tls?: tls.TlsOptions;
  /** @internal Time and timers (Node's by default); the simulated network of the tests passes its own. */
  clock?: Clock;
}

export interface ServerEvents<T = Buffer> {
  session: [session: Session<T>];
  listening: [];
  close: [];
  error: [err: Error];
  /** A connection that never became a session (refused, hostile, timed out), with why. */
  rejected: [report: DeathReport, remote: string];
}

export const SERVER_DEFAULTS = {
  maxDetachedBuffered: 256 * 1024 * 1024,
  handshakeTimeout: 10_000,
  resumeWindow: 30_000,
  maxHelloSize: 8192,
  maxPendingHandshakes: 4096,
} as const;

export class HeartbeatServer<T = Buffer> extends EventEmitter<ServerEvents<T>> {
  readonly heartbeat: ResolvedHeartbeat;
  /** @internal */
  readonly registry: SessionRegistry;
  /** @internal */
  readonly authenticate: Authenticate | undefined;
  /** @internal */
  readonly clientProposal: ClientProposalBounds | undefined;
  /** @internal */
  readonly maxSessions: number;
  /** @internal close() was called */
  shuttingDown = false;
  private readonly handshake: Handshake;
  private readonly server: net.Server;
  private readonly options: ServerOptions<T>;
  private readonly keepAlive: KeepAliveOptions | false;
  private readonly handshakeTimeout: number;
  private readonly maxHelloSize: number;
  private readonly maxPendingHandshakes: number;
  /** stopAccepting() closed the listener; `drained`: its last connection has ended too. */
  private acceptingStopped = false;
  private drained = false;
  private readonly clock: Clock;

  constructor(options: ServerOptions<T> = {}) {
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
    this.maxHelloSize = checkOption(
      'maxHelloSize',
      options.maxHelloSize ?? SERVER_DEFAULTS.maxHelloSize,
      64,
      0xffff_ffff,
      'bytes',
    );
    this.maxPendingHandshakes = checkOption(
      'maxPendingHandshakes',
      options.maxPendingHandshakes ?? SERVER_DEFAULTS.maxPendingHandshakes,
      1,
      2 ** 31,
    );
    const resumeWindow = checkOption(
      'resumeWindow',
      options.resumeWindow ?? SERVER_DEFAULTS.resumeWindow,
      0,
      0x7fff_ffff,
      'ms',
    );
    this.maxSessions = options.maxSessions ?? Number.POSITIVE_INFINITY;
    if (options.maxSessions !== undefined) checkOption('maxSessions', options.maxSessions, 1, 2 ** 31);
    if (options.maxBuffered !== undefined)
      checkOption('maxBuffered', options.maxBuffered, 1, 2 ** 40, 'bytes');
    this.clock = options.clock ?? systemClock;
    this.authenticate = options.authenticate;
    this.clientProposal = options.clientProposal;
    this.registry = new SessionRegistry({
      store: options.store ?? new MemorySessionStore(this.clock),
      resumeWindow,
      maxBuffered: options.maxBuffered,
      flow: resolveFlow(options),
      maxDetachedBuffered: checkOption(
        'maxDetachedBuffered',
        options.maxDetachedBuffered ?? SERVER_DEFAULTS.maxDetachedBuffered,
        0,
        2 ** 50,
        'bytes',
      ),
      codec: resolveCodec(options.codec) as CodecOption<unknown> | undefined,
      clock: this.clock,
      // A store failure is the server's to report, never a crash a peer could cause: 'error' when the
      // application listens, else a process warning.
      onStoreError: (err) => {
        if (this.listenerCount('error') > 0) this.emit('error', err);
        else
          process.emitWarning(`lifeline: session store failed: ${err.message}`, { code: 'LIFELINE_STORE' });
      },
    });
    this.handshake = new Handshake(this);
    this.keepAlive = options.keepAlive ?? deriveKeepAlive(this.heartbeat);
    // The TLS handshake is bounded too (Node's default is 120 s): a stalled one is dropped after
    // handshakeTimeout, as a peer that sends no HELLO is, and reported as 'rejected'.
    this.server = options.tls
      ? tls
          .createServer({ handshakeTimeout: this.handshakeTimeout, ...options.tls })
          .on('secureConnection', this.onConnection)
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
        // With a listener, Node leaves the socket open: close it (the handshake timed out or failed).
        const remote = remoteOf(socket);
        socket.destroy();
        this.emit(
          'rejected',
          { cause: 'protocol-error', silentMs: 0, detail: `TLS: ${err.message}` },
          remote,
        );
      });
    }
  }

  /** Sessions by id: open, detached (waiting to be resumed) or closing. */
  get sessions(): ReadonlyMap<string, Session<T>> {
    return this.registry.sessions as ReadonlyMap<string, Session<unknown>> as ReadonlyMap<string, Session<T>>;
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
    this.handshake.refuseAll('server-shutdown', 'server shutting down');
    for (const session of [...this.registry.sessions.values()]) {
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

  /**
   * Serves a connection accepted elsewhere, as if this server's listener had accepted it: a socket handed
   * over from another process, or one end of an in-memory pair.
   */
  accept(socket: net.Socket): void {
    this.onConnection(socket);
  }

  /** @internal */
  announce(session: Session<unknown>): void {
    (this as HeartbeatServer<unknown>).emit('session', session);
  }

  /** @internal */
  rejected(report: DeathReport, transport: Transport): void {
    this.emit('rejected', report, remoteOf(transport.socket));
  }

  private readonly onConnection = (socket: net.Socket): void => {
    // Reading the peer's address now makes the socket keep it (net caches it): it is gone once it has closed,
    // when a rejected connection is reported.
    socket.remoteAddress;
    if (this.handshake.pending.size >= this.maxPendingHandshakes) {
      socket.destroy();
      const detail = `${this.maxPendingHandshakes} connections already in their handshake (maxPendingHandshakes)`;
      this.emit('rejected', { cause: 'local', silentMs: 0, detail }, remoteOf(socket));
      return;
    }
    const transport = new Transport(socket, this.handshake.awaitingHello, {
      maxFrame: this.heartbeat.maxFrame,
      handshakeMaxFrame: this.maxHelloSize,
      handshakeTimeout: this.handshakeTimeout,
      keepAlive: this.keepAlive,
      linearTimeouts: this.options.linearTimeouts !== false,
      clock: this.clock,
    });
    this.handshake.pending.add(transport);
    if (this.shuttingDown) this.handshake.refuseAll('server-shutdown', 'server shutting down');
  };
}

function remoteOf(socket: net.Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}

/** Like net.createServer: `onSession` is added as a 'session' listener. */
export function createServer<T = Buffer>(
  options?: ServerOptions<T> | ((session: Session<T>) => void),
  onSession?: (session: Session<T>) => void,
): HeartbeatServer<T> {
  if (typeof options === 'function') return createServer<T>({}, options);
  const server = new HeartbeatServer<T>(options);
  if (onSession) server.on('session', onSession);
  return server;
}
