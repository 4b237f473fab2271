// connect: dials, says HELLO, and keeps the session alive across connections — on a death it reconnects
// with backoff and resumes the session (token + last sequence received) so that nothing is lost or
// duplicated. The per-connection work (frames, PINGs, death) belongs to the Transport. Its life is one
// state machine (CLIENT_TRANSITIONS), each state with its own data; every change goes through move().
import * as net from 'node:net';
import * as tls from 'node:tls';
import { checkOption, GoawayError, LifelineError } from '../errors.js';
import { deriveKeepAlive, type KeepAliveOptions, setKeepAlive } from '../keepalive/index.js';
import type { Frame, WelcomeFrame } from '../protocol/frames.js';
import { type Clock, systemClock, type Timer } from '../session/clock.js';
import { type DeathReport, endsSession, isGoodbye } from '../session/death.js';
import { type ClientState, type ConnectedInfo, Endpoint, type EndpointOptions } from '../session/endpoint.js';
import { step, type Transitions } from '../session/machine.js';
import { channels, debug, publish } from '../session/observe.js';
import {
  feasibleTimeout,
  type HeartbeatOptions,
  largestInterval,
  MAX_DURATION,
  MIN_INTERVAL,
  type ResolvedHeartbeat,
  resolveHeartbeat,
} from '../session/options.js';
import { Transport } from '../session/transport.js';
import { type BackoffOptions, backoffDelay, validateBackoff } from './backoff.js';

export interface ClientOptions<T = Buffer> extends HeartbeatOptions, EndpointOptions<T> {
  host?: string;
  port: number;
  /** Local address to bind (a source address), as in net.connect. */
  localAddress?: string;
  family?: number;
  /** TLS client options (ca, servername, cert, key...), or true for the defaults: the client speaks TLS. */
  tls?: tls.ConnectionOptions | true;
  /** Sent in HELLO for the server's authenticate() hook (strings are sent as UTF-8). */
  credentials?: string | Buffer;
  /**
   * Reconnect after a death (not after close()). Default true, with the default backoff; an object tunes
   * the backoff; false ends the client at the first death.
   */
  reconnect?: boolean | BackoffOptions;
  /** How long a TCP (and TLS) connect may take before the attempt is abandoned, in ms. Default 10000. */
  connectTimeout?: number;
  /** How long the server has to answer HELLO with WELCOME, in ms. Default 10000. */
  handshakeTimeout?: number;
  /**
   * false: this side sends no PINGs and declares no heartbeat death; it still answers the server's PINGs
   * and relies on kernel keepalive (keepAlive option) to notice a dead peer ('keepalive-timeout').
   * Default true.
   */
  heartbeat?: boolean;
  /**
   * Linux TCP_THIN_LINEAR_TIMEOUTS on every socket: under packet loss a lost PING is retransmitted every
   * ~200 ms instead of after 0.2, 0.4, 0.8, 1.6 s..., so loss is not mistaken for death. Default true.
   */
  linearTimeouts?: boolean;
  /** Kernel keepalive and TCP_USER_TIMEOUT. Default: derived from the agreed heartbeat; false: untouched. */
  keepAlive?: KeepAliveOptions | false;
  /**
   * Opens the connection instead of net.connect / tls.connect (as http.request's `createConnection`): a
   * socket through a proxy, over a Unix socket, or an in-memory pair. The client waits for its 'connect'
   * event; `tls`, `localAddress` and `family` are then the function's business.
   */
  createConnection?: (options: { host: string; port: number }) => net.Socket;
  /** Aborting it closes the client (as close()), whatever it is doing; `ready` then rejects with its reason. */
  signal?: AbortSignal;
  /** @internal Time and timers (Node's by default); the simulated network of the tests passes its own. */
  clock?: Clock;
}

export const CLIENT_DEFAULTS = {
  connectTimeout: 10_000,
  handshakeTimeout: 10_000,
  host: 'localhost',
} as const;

/**
 * - `idle`: created, about to dial; `connecting`: TCP (and TLS) connect under way; `handshaking`: HELLO
 *   sent, waiting for WELCOME; `open`: the session is up; `waiting`: the backoff before the next attempt;
 * - `closing`: close() said GOAWAY and waits for the connection to end; `closed`: over, 'close' emitted.
 */
export type { ClientState } from '../session/endpoint.js';

const CLIENT_TRANSITIONS: Transitions<ClientState> = {
  idle: ['connecting', 'closed'],
  connecting: ['handshaking', 'waiting', 'closed'],
  handshaking: ['open', 'waiting', 'closing', 'closed'],
  open: ['waiting', 'closing', 'closed'],
  waiting: ['connecting', 'closed'],
  closing: ['closed'],
  closed: [],
};

/** Each state with what it holds. */
type Link =
  | { state: 'idle' | 'closed' }
  | { state: 'connecting'; socket: net.Socket; timer: Timer }
  | { state: 'handshaking' | 'closing'; transport: Transport }
  | { state: 'open'; transport: Transport; openedAt: number }
  | { state: 'waiting'; timer: Timer };

/** What the 'reconnecting' event says: the attempt to come, after how long, and why the last one failed. */
export interface ReconnectingInfo {
  attempt: number;
  delayMs: number;
  /**
   * What ended the previous attempt or connection: a socket error (`code` ECONNREFUSED, ENOTFOUND,
   * ETIMEDOUT...), or a LifelineError (LIFELINE_CONNECTION_LOST, LIFELINE_NOT_LIFELINE, a GoawayError...).
   */
  error: Error & { code?: string };
}

export class HeartbeatClient<T = Buffer> extends Endpoint<T> {
  /** Session id from the server's WELCOME (undefined before the first handshake). */
  sessionId: string | undefined;
  /**
   * Heartbeat interval and timeout in force, ms: the server's, within this client's bounds (see
   * acceptWelcome).
   */
  interval: number | undefined;
  timeout: number | undefined;
  private readonly options: ClientOptions<T>;
  private readyPromise: Promise<ConnectedInfo> | undefined;
  /** What the first connection's 'connected' said: what `ready` resolves with. */
  private firstInfo: ConnectedInfo | undefined;
  private readonly heartbeat: ResolvedHeartbeat;
  private readonly backoff: ReturnType<typeof validateBackoff> | undefined;
  private readonly connectTimeout: number;
  private readonly handshakeTimeout: number;
  private readonly clock: Clock;
  private token: Buffer = Buffer.alloc(0);
  private attempt = 0;
  private link: Link = { state: 'idle' };
  /** Why this side refused the last WELCOME, if it did: the code of the error the attempt ends with. */
  private refusedWelcome: 'LIFELINE_BAD_WELCOME' | 'LIFELINE_PROTOCOL_ERROR' | undefined;

  constructor(options: ClientOptions<T>) {
    super(requireObject(options));
    checkOption('port', options.port, 1, 65535);
    if (options.createConnection !== undefined && typeof options.createConnection !== 'function')
      throw new TypeError('createConnection must be a function returning a net.Socket');
    this.options = options;
    this.heartbeat = resolveHeartbeat(options);
    this.clock = options.clock ?? systemClock;
    const reconnect = options.reconnect ?? true;
    this.backoff = reconnect === false ? undefined : validateBackoff(reconnect === true ? {} : reconnect);
    this.connectTimeout = checkOption(
      'connectTimeout',
      options.connectTimeout ?? CLIENT_DEFAULTS.connectTimeout,
      1,
      0x7fff_ffff,
      'ms',
    );
    this.handshakeTimeout = checkOption(
      'handshakeTimeout',
      options.handshakeTimeout ?? CLIENT_DEFAULTS.handshakeTimeout,
      1,
      0x7fff_ffff,
      'ms',
    );
    const signal = options.signal;
    if (signal !== undefined) {
      if (typeof signal !== 'object' || signal === null || typeof signal.aborted !== 'boolean')
        throw new TypeError('signal must be an AbortSignal');
      if (signal.aborted) {
        process.nextTick(() => this.close());
        return;
      }
      const abort = () => this.close();
      signal.addEventListener('abort', abort, { once: true });
      this.once('close', () => signal.removeEventListener('abort', abort));
    }
    process.nextTick(() => this.dial());
  }

  /**
   * Resolves with the first connection's ConnectedInfo (at once if connected already); rejects with the
   * error that ended the client before it ever connected (a refusal, attempts exhausted, the signal's
   * reason, or LIFELINE_CLOSED after close()). \`const client = await connect(options).ready\`.
   */
  get ready(): Promise<ConnectedInfo> {
    if (this.readyPromise !== undefined) return this.readyPromise;
    this.readyPromise = new Promise<ConnectedInfo>((resolve, reject) => {
      if (this.firstInfo !== undefined) return resolve(this.firstInfo);
      if (this.link.state === 'closed') {
        const reason = this.options.signal?.aborted ? this.options.signal.reason : undefined;
        return reject(
          reason ?? new LifelineError('LIFELINE_CLOSED', 'the client closed before it connected'),
        );
      }
      let failure: Error | undefined;
      const onError = (err: Error) => {
        failure ??= err;
      };
      const settle = () => {
        this.off('connected', resolve);
        this.off('error', onError);
        this.off('close', onClose);
      };
      const onClose = () => {
        settle();
        const reason = this.options.signal?.aborted ? this.options.signal.reason : undefined;
        reject(
          failure ?? reason ?? new LifelineError('LIFELINE_CLOSED', 'the client closed before it connected'),
        );
      };
      this.once('connected', (info) => {
        settle();
        resolve(info);
      });
      this.on('error', onError);
      this.once('close', onClose);
    });
    this.readyPromise.catch(() => {}); // a rejection nobody awaits is not an unhandled one
    return this.readyPromise;
  }

  /** Where the client is in its life (see ClientState). */
  get state(): ClientState {
    return this.link.state;
  }

  /**
   * Says GOAWAY normal, lets written data flush, and ends the client: no reconnect. Messages the server
   * never acknowledged are reported 'unconfirmed', then 'close' is emitted; the promise resolves then.
   * Aborting `options.signal` ends the wait for the server's last ACK and FIN at once (the socket is
   * destroyed; what was not acknowledged is reported unconfirmed).
   */
  close(options: { signal?: AbortSignal } = {}): Promise<void> {
    const closed =
      this.link.state === 'closed'
        ? Promise.resolve()
        : new Promise<void>((r) => this.once('close', () => r()));
    const signal = options.signal;
    if (signal !== undefined) {
      const force = () => {
        const link = this.link;
        if ('transport' in link)
          link.transport.destroy({ cause: 'local', silentMs: 0, detail: 'close() aborted' });
      };
      if (signal.aborted) process.nextTick(force);
      else {
        signal.addEventListener('abort', force, { once: true });
        void closed.then(() => signal.removeEventListener('abort', force));
      }
    }
    this.transact(() => {
      const link = this.link;
      this.ended = true;
      switch (link.state) {
        case 'closing':
        case 'closed':
          return;
        case 'connecting':
          this.clock.clearTimeout(link.timer);
          link.socket.destroy();
          return this.finish();
        case 'handshaking':
        case 'open':
          if (link.transport.closed) return this.finish();
          return this.sayGoodbye(link.transport);
        default:
          return this.finish();
      }
    });
    return closed;
  }

  /** GOAWAY normal, announcing what was received (read before the move: 0 unless the session is open). */
  private sayGoodbye(transport: Transport): void {
    const received = this.lastReceived();
    this.move({ state: 'closing', transport });
    transport.goaway('normal', 'client closed', received, { cause: 'local', silentMs: 0, goaway: 'normal' });
  }

  private move(link: Link): void {
    step('HeartbeatClient', CLIENT_TRANSITIONS, this.link.state, link.state);
    if (this.link.state === 'waiting') this.clock.clearTimeout((this.link as { timer: Timer }).timer);
    if (debug.enabled) debug('client %s: %s -> %s', this.sessionId ?? '-', this.link.state, link.state);
    this.link = link;
    this.announce('state', link.state);
  }

  private dial(): void {
    if (this.link.state !== 'idle' && this.link.state !== 'waiting') return;
    const o = this.options;
    const host = o.host ?? CLIENT_DEFAULTS.host;
    const socket = o.createConnection ? o.createConnection({ host, port: o.port }) : this.open(host, o.port);
    const timer = this.clock.setTimeout(() => {
      socket.destroy(
        new LifelineError(
          'LIFELINE_CONNECT_TIMEOUT',
          `connect to ${host}:${o.port} timed out after ${this.connectTimeout} ms`,
        ),
      );
    }, this.connectTimeout);
    timer.unref();
    this.move({ state: 'connecting', socket, timer });
    publish(channels.connect, () => ({ client: this, host, port: o.port, attempt: this.attempt + 1 }));
    const onFail = (err: Error) => {
      this.clock.clearTimeout(timer);
      if (this.link.state === 'connecting' && this.link.socket === socket)
        this.transact(() => this.attemptFailed(err));
    };
    socket.once('error', onFail);
    socket.once(o.tls && !o.createConnection ? 'secureConnect' : 'connect', () => {
      this.clock.clearTimeout(timer);
      socket.off('error', onFail);
      if (this.link.state !== 'connecting' || this.link.socket !== socket) {
        socket.destroy();
        return;
      }
      this.handshake(socket);
    });
  }

  private open(host: string, port: number): net.Socket {
    const o = this.options;
    const base: net.TcpNetConnectOpts = { host, port };
    if (o.localAddress !== undefined) base.localAddress = o.localAddress;
    if (o.family !== undefined) base.family = o.family;
    return o.tls
      ? tls.connect({
          ...base,
          ...(o.tls === true ? {} : o.tls),
          ...(net.isIP(host) ? {} : { servername: host }),
        })
      : net.connect(base);
  }

  private handshake(socket: net.Socket): void {
    const hb = this.heartbeat;
    const proposed = this.options.interval !== undefined || this.options.timeout !== undefined;
    const transport = new Transport(socket, this, {
      maxFrame: hb.maxFrame,
      handshakeTimeout: this.handshakeTimeout,
      keepAlive: this.options.keepAlive ?? deriveKeepAlive(hb),
      linearTimeouts: this.options.linearTimeouts !== false,
      clock: this.clock,
    });
    this.move({ state: 'handshaking', transport });
    const credentials = this.options.credentials;
    transport.writeOpening({
      type: 'hello',
      interval: proposed ? hb.interval : 0,
      timeout: proposed ? hb.timeout : 0,
      maxFrame: hb.maxFrame,
      maxMessage: this.maxMessageSizeIn,
      window: this.windowToAnnounce(),
      token: this.token,
      lastReceived: this.receivedSeq,
      credentials: credentials === undefined ? Buffer.alloc(0) : Buffer.from(credentials),
    });
  }

  /**
   * @internal What a GOAWAY of this client announces as received: nothing before WELCOME, since until then
   * the client cannot know whether the server continues its session or starts a new one — numbers of the
   * old session would acknowledge the new one's messages, never delivered.
   */
  override lastReceived(): number {
    return this.link.state === 'open' ? this.receivedSeq : 0;
  }

  /** @internal WELCOME (or a frame that has no business here) */
  protected onControlFrame(frame: Frame, transport: Transport): void {
    if (frame.type !== 'welcome' || this.link.state !== 'handshaking' || this.link.transport !== transport) {
      transport.violation(`unexpected ${frame.type.toUpperCase()} from the server`);
      return;
    }
    const agreed = acceptWelcome(frame);
    if (typeof agreed === 'string') {
      this.refusedWelcome = 'LIFELINE_BAD_WELCOME';
      transport.violation(agreed);
      return;
    }
    const resumedFrom = frame.resumed ? frame.lastReceived : 0;
    const why = frame.resumed ? this.checkPeerReceived(resumedFrom) : undefined;
    if (why !== undefined) {
      this.refusedWelcome = 'LIFELINE_PROTOCOL_ERROR';
      transport.violation(why);
      return;
    }
    this.transact(() => this.welcomed(frame, agreed, transport));
  }

  private welcomed(welcome: WelcomeFrame, agreed: Agreed, transport: Transport): void {
    const hadSession = this.token.length > 0;
    if (hadSession && !welcome.resumed) {
      // The server no longer knows our session: start afresh. Messages that were written to an old
      // connection may or may not have arrived — the application is told; those never written go out now.
      this.restartSession();
    }
    this.move({ state: 'open', transport, openedAt: this.clock.now() });
    this.token = welcome.token;
    this.sessionId = welcome.sessionId;
    this.interval = agreed.interval;
    this.timeout = agreed.timeout;
    this.ackedSeq = this.receivedSeq;
    this.peerMaxFrame = welcome.maxFrame;
    this.peerMaxMessage = welcome.maxMessage;
    this.peerWindow = welcome.window;
    if (this.options.keepAlive === undefined && agreed.timeout !== this.heartbeat.timeout) {
      // The kernel layer follows the heartbeat in force, not the one this side proposed.
      applyDerivedKeepAlive(transport.socket, agreed);
    }
    transport.open({
      interval: agreed.interval,
      timeout: agreed.timeout,
      detector: this.heartbeat.detector,
      phiThreshold: this.heartbeat.phiThreshold,
      maxPingsPerInterval: this.heartbeat.maxPingsPerInterval,
      mode: this.options.heartbeat === false ? 'off' : 'active',
    });
    this.attach(transport, welcome.resumed ? welcome.lastReceived : 0);
    const s = transport.socket;
    const info: ConnectedInfo = {
      local: `${s.localAddress}:${s.localPort}`,
      remote: `${s.remoteAddress}:${s.remotePort}`,
      sessionId: welcome.sessionId,
      resumed: welcome.resumed,
      interval: agreed.interval,
      timeout: agreed.timeout,
    };
    this.firstInfo ??= info;
    this.announce('connected', info);
    if (welcome.resumed) this.announce('resumed');
    const sessionId = welcome.sessionId;
    publish(channels.handshake, () => ({ endpoint: this, sessionId, resumed: welcome.resumed }));
    if (welcome.resumed) publish(channels.resume, () => ({ endpoint: this, sessionId }));
  }

  /** @internal the connection ended (called by the Transport) */
  onEnd(report: DeathReport, transport: Transport): void {
    const link = this.link;
    if (!('transport' in link) || link.transport !== transport) return; // not the current connection
    this.transact(() => {
      this.detach(transport);
      const wasOpen = transport.opened;
      if (wasOpen) this.lastEnd = report;
      if (link.state === 'closing') return this.finish();
      if (wasOpen && !isGoodbye(report)) {
        this.announce('dead', report);
        publish(channels.death, () => ({ endpoint: this, report }));
        if (debug.enabled)
          debug('client %s: dead (%s) %s', this.sessionId, report.cause, report.detail ?? '');
      }
      // A connection that lasted an interval counted as a success: the backoff starts over. (Not at
      // WELCOME: a server that accepts and drops at once must not make the client retry without pause.)
      if (link.state === 'open' && this.clock.now() - link.openedAt >= (this.interval ?? 0)) this.attempt = 0;
      const err = attemptError(report, wasOpen, this.refusedWelcome);
      this.refusedWelcome = undefined;
      if (endsSession(report)) {
        // Retrying cannot help (a goodbye, refused credentials, a broken protocol): no retry storm.
        if (!isGoodbye(report)) this.fail(err);
        return this.finish();
      }
      this.attemptFailed(err);
    });
  }

  private attemptFailed(err: Error): void {
    this.attempt++;
    const b = this.backoff;
    if (b === undefined || this.attempt > b.maxAttempts || isCertificateError(err)) {
      // A client that never connected, or ran out of attempts, failed; one that was connected just died.
      if (this.sessionId === undefined || b !== undefined) this.fail(err);
      return this.finish();
    }
    const delayMs = Math.round(backoffDelay(this.attempt, b));
    const timer = this.clock.setTimeout(() => this.dial(), delayMs);
    this.move({ state: 'waiting', timer });
    this.announce('reconnecting', { attempt: this.attempt, delayMs, error: err });
  }

  private fail(err: Error): void {
    if (this.listenerCount('error') > 0) this.announce('error', err);
  }

  private finish(): void {
    if (this.link.state === 'closed') return;
    this.move({ state: 'closed' });
    this.ended = true;
    this.reportUnconfirmed();
    this.announce('close');
  }
}

/** The heartbeat a client keeps: the WELCOME's, within what this client can keep. */
interface Agreed {
  interval: number;
  timeout: number;
}

/**
 * Checks the heartbeat a server dictates before anything is applied. An interval below MIN_INTERVAL (a PING
 * storm) or a timeout too short for any interval is refused (a string says why: GOAWAY protocol-error, and
 * the client ends with LIFELINE_BAD_WELCOME, no retry). Longer values are brought within what this client
 * can keep: the timeout to Node's largest timer (MAX_DURATION), and the interval so that the pair leaves
 * room for a PING's answer (feasibleTimeout) — the client then PINGs more often than asked, which costs the
 * server nothing it did not allow.
 */
export function acceptWelcome(welcome: Pick<WelcomeFrame, 'interval' | 'timeout'>): Agreed | string {
  if (welcome.interval < MIN_INTERVAL)
    return `WELCOME interval ${welcome.interval} ms is below the minimum of ${MIN_INTERVAL} ms`;
  const timeout = Math.min(welcome.timeout, MAX_DURATION);
  if (timeout < feasibleTimeout(MIN_INTERVAL))
    return `WELCOME timeout ${welcome.timeout} ms is below the minimum of ${feasibleTimeout(MIN_INTERVAL)} ms`;
  return { interval: Math.max(MIN_INTERVAL, Math.min(welcome.interval, largestInterval(timeout))), timeout };
}

/** What ended an attempt or a connection, as the error the application sees ('reconnecting', 'error'). */
function attemptError(
  report: DeathReport,
  wasOpen: boolean,
  refusedWelcome: 'LIFELINE_BAD_WELCOME' | 'LIFELINE_PROTOCOL_ERROR' | undefined,
): LifelineError {
  if (report.cause === 'goaway' && report.goaway !== undefined)
    return new GoawayError(report.goaway, `the server said GOAWAY ${report.detail ?? report.goaway}`);
  if (refusedWelcome !== undefined)
    return new LifelineError(refusedWelcome, `the server's WELCOME was refused: ${report.detail ?? ''}`);
  if (!wasOpen && report.cause === 'protocol-error')
    return new LifelineError(
      'LIFELINE_NOT_LIFELINE',
      `the server does not speak lifeline: ${report.detail ?? ''}`,
    );
  if (!wasOpen && report.cause === 'handshake-timeout')
    return new LifelineError('LIFELINE_HANDSHAKE_TIMEOUT', report.detail ?? 'no WELCOME in time');
  return new LifelineError('LIFELINE_CONNECTION_LOST', report.detail ?? report.cause);
}

function applyDerivedKeepAlive(socket: net.Socket, agreed: { interval: number; timeout: number }): void {
  try {
    setKeepAlive(socket, deriveKeepAlive(agreed));
  } catch {
    // Already reported once when the connection's kernel options were first applied.
  }
}

function requireObject<T>(options: ClientOptions<T>): ClientOptions<T> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('connect() needs an options object such as { host, port }');
  }
  return options;
}

/** A certificate the client does not trust will not become trusted by retrying: no retry storm. */
function isCertificateError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return /CERT|SIGNATURE|ERR_TLS|ERR_SSL/.test(code);
}

/** Connects to a lifeline server; reconnects and resumes unless `reconnect: false`. */
export function connect<T = Buffer>(options: ClientOptions<T>): HeartbeatClient<T> {
  return new HeartbeatClient<T>(options);
}
