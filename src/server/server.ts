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
import { Session, type SessionOwner } from './session.js';

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
  private readonly pending = new Set<Transport>();
  private readonly server: net.Server;
  private readonly options: ServerOptions;
  private readonly keepAlive: KeepAliveOptions | false;
  private readonly handshakeTimeout: number;
  private readonly resumeWindow: number;
  private readonly maxSessions: number;
  private shuttingDown = false;

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
    if (options.maxSessions !== undefined) checkOption('maxSessions', options.maxSessions, 1, 2 ** 31);
    this.keepAlive = options.keepAlive ?? deriveKeepAlive(this.heartbeat);
    this.server = options.tls
      ? tls.createServer(options.tls).on('secureConnection', this.onConnection)
      : net.createServer(this.onConnection);
    this.server.on('listening', () => this.emit('listening'));
    this.server.on('error', (err) => this.emit('error', err));
    this.server.on('close', () => this.emit('close'));
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
   * lets written data flush, and calls back once every connection has closed.
   */
  close(callback?: (err?: Error) => void): this {
    this.shuttingDown = true;
    this.server.close(callback);
    for (const t of this.pending) t.goaway('server-shutdown', 'server shutting down', 0, shutdownReport);
    for (const session of this.sessions.values()) session.close('server shutting down', 'server-shutdown');
    return this;
  }

  sessionClosed(session: Session): void {
    this.sessions.delete(session.id);
    this.byToken.delete(session.token);
  }

  private readonly onConnection = (socket: net.Socket): void => {
    const handler: TransportHandler = {
      onFrame: (frame, t) => this.onHandshakeFrame(frame, t),
      onRtt: () => {},
      ackDue: () => 0,
      onEnd: (report, t) => {
        this.pending.delete(t);
        this.emit('rejected', report, remoteOf(t.socket));
      },
    };
    const transport = new Transport(socket, handler, {
      maxFrame: this.heartbeat.maxFrame,
      handshakeTimeout: this.handshakeTimeout,
      keepAlive: this.keepAlive,
    });
    this.pending.add(transport);
    if (this.shuttingDown) transport.goaway('server-shutdown', 'server shutting down', 0, shutdownReport);
  };

  private onHandshakeFrame(frame: Frame, transport: Transport): void {
    if (frame.type !== 'hello' || this.pending.has(transport) === false) {
      transport.violation(`expected HELLO first, got ${frame.type.toUpperCase()}`);
      return;
    }
    // Nothing more is read until the client is authenticated (a client must wait for WELCOME anyway).
    transport.socket.pause();
    this.authenticate(frame, transport).then(
      (identity) => this.welcome(frame, transport, identity),
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

  private welcome(hello: HelloFrame, transport: Transport, identity: string | undefined): void {
    if (transport.closed) return;
    transport.socket.resume();
    if (identity === undefined) return this.refuseAuth(transport, 'refused by authenticate()');
    this.pending.delete(transport);
    if (this.shuttingDown) {
      transport.goaway('server-shutdown', 'server shutting down', 0, shutdownReport);
      return;
    }
    // A session is resumed only with its token AND the identity that created it: a stolen or guessed token
    // from another identity simply gets a new session.
    const found = hello.token.length > 0 ? this.byToken.get(hello.token.toString('hex')) : undefined;
    const resumable = found !== undefined && found.identity === identity && found.state !== 'closed';
    if (!resumable && this.sessions.size >= this.maxSessions) {
      transport.goaway(
        'too-many-sessions',
        `the server holds its maximum of ${this.maxSessions} sessions`,
        0,
        {
          cause: 'local',
          silentMs: 0,
          goaway: 'too-many-sessions',
          detail: 'maxSessions reached',
        },
      );
      return;
    }
    const session = resumable ? found : this.newSession(identity, this.negotiate(hello));
    transport.writeOpening({
      type: 'welcome',
      interval: session.interval,
      timeout: session.timeout,
      maxFrame: this.heartbeat.maxFrame,
      resumed: resumable,
      lastReceived: session.lastReceived,
      token: Buffer.from(session.token, 'hex'),
      sessionId: session.id,
    });
    session.peerMaxFrame = hello.maxFrame;
    session.adopt(transport, resumable ? hello.lastReceived : 0, resumable);
    if (!resumable) this.emit('session', session);
  }

  private negotiate(hello: HelloFrame): LivenessParams {
    const hb = this.heartbeat;
    let { interval, timeout } = hb;
    const bounds = this.options.clientProposal;
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
    return {
      interval,
      timeout,
      detector: hb.detector,
      phiThreshold: hb.phiThreshold,
      maxPingsPerInterval: hb.maxPingsPerInterval,
      mode: 'passive',
    };
  }

  private newSession(identity: string, params: LivenessParams): Session {
    let id: string;
    do id = randomBytes(4).toString('hex');
    while (this.sessions.has(id));
    const token = randomBytes(TOKEN_LENGTH).toString('hex');
    const session = new Session(
      this,
      { id, identity, token, params, resumeWindow: this.resumeWindow },
      this.options.maxBuffered === undefined ? {} : { maxBuffered: this.options.maxBuffered },
    );
    this.sessions.set(id, session);
    this.byToken.set(token, session);
    return session;
  }
}

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
