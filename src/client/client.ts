// connect: dials, says HELLO, and keeps the session alive across connections — on a death it reconnects
// with backoff and resumes the session (token + last sequence received) so that nothing is lost or
// duplicated. The per-connection work (frames, PINGs, death) belongs to the Transport.
import net from 'node:net';
import tls from 'node:tls';
import { checkOption, LifelineError } from '../errors.js';
import { deriveKeepAlive, type KeepAliveOptions, setKeepAlive } from '../keepalive/index.js';
import type { Frame, WelcomeFrame } from '../protocol/frames.js';
import { type DeathReport, isGoodbye } from '../session/death.js';
import { Endpoint, type EndpointOptions } from '../session/endpoint.js';
import { type HeartbeatOptions, type ResolvedHeartbeat, resolveHeartbeat } from '../session/options.js';
import { Transport } from '../session/transport.js';
import { type BackoffOptions, backoffDelay, validateBackoff } from './backoff.js';

export interface ClientOptions extends HeartbeatOptions, EndpointOptions {
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
}

export const CLIENT_DEFAULTS = {
  connectTimeout: 10_000,
  handshakeTimeout: 10_000,
  host: 'localhost',
} as const;

/** GOAWAY codes after which reconnecting cannot help: no retry storm. */
const FINAL_GOAWAY = new Set([
  'auth-failed',
  'unsupported-version',
  'normal',
  'protocol-error',
  'frame-too-large',
]);

export class HeartbeatClient extends Endpoint {
  /** Session id from the server's WELCOME (undefined before the first handshake). */
  sessionId: string | undefined;
  /** Heartbeat interval and timeout agreed with the server, ms. */
  interval: number | undefined;
  timeout: number | undefined;
  private readonly options: ClientOptions;
  private readonly heartbeat: ResolvedHeartbeat;
  private readonly backoff: ReturnType<typeof validateBackoff> | undefined;
  private readonly connectTimeout: number;
  private readonly handshakeTimeout: number;
  private token: Buffer = Buffer.alloc(0);
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private dialing: net.Socket | undefined;
  /** The connection between TCP connect and WELCOME (this.transport is set only once WELCOME arrived). */
  private handshaking: Transport | undefined;
  private closing = false;
  private closed = false;

  constructor(options: ClientOptions) {
    super(requireObject(options));
    checkOption('port', options.port, 1, 65535);
    this.options = options;
    this.heartbeat = resolveHeartbeat(options);
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
    process.nextTick(() => this.dial());
  }

  /** Says GOAWAY normal, lets written data flush, and ends the client: no reconnect. Emits 'close'. */
  close(): void {
    if (this.closing || this.closed) return;
    this.closing = true;
    this.ended = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.dialing?.destroy();
    const transport = this.transport ?? this.handshaking;
    if (transport !== undefined && !transport.closed) {
      transport.goaway('normal', 'client closed', this.receivedSeq, {
        cause: 'local',
        silentMs: 0,
        goaway: 'normal',
      });
    } else {
      this.finish();
    }
  }

  private dial(): void {
    if (this.closing) return;
    const o = this.options;
    const host = o.host ?? CLIENT_DEFAULTS.host;
    const base: net.TcpNetConnectOpts = { host, port: o.port };
    if (o.localAddress !== undefined) base.localAddress = o.localAddress;
    if (o.family !== undefined) base.family = o.family;
    const socket = o.tls
      ? tls.connect({
          ...base,
          ...(o.tls === true ? {} : o.tls),
          ...(net.isIP(host) ? {} : { servername: host }),
        })
      : net.connect(base);
    this.dialing = socket;
    const timer = setTimeout(() => {
      socket.destroy(
        new LifelineError(
          'LIFELINE_CONNECT_TIMEOUT',
          `connect to ${host}:${o.port} timed out after ${this.connectTimeout} ms`,
        ),
      );
    }, this.connectTimeout);
    timer.unref();
    const onFail = (err: Error) => {
      clearTimeout(timer);
      this.dialing = undefined;
      this.attemptFailed(err);
    };
    socket.once('error', onFail);
    socket.once(o.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', onFail);
      this.dialing = undefined;
      if (this.closing) {
        socket.destroy();
        return;
      }
      this.handshake(socket);
    });
  }

  private handshake(socket: net.Socket): void {
    const hb = this.heartbeat;
    const proposed = this.options.interval !== undefined || this.options.timeout !== undefined;
    const transport = new Transport(socket, this, {
      maxFrame: hb.maxFrame,
      handshakeTimeout: this.handshakeTimeout,
      keepAlive: this.options.keepAlive ?? deriveKeepAlive(hb),
      linearTimeouts: this.options.linearTimeouts !== false,
    });
    this.handshaking = transport;
    const credentials = this.options.credentials;
    transport.writeOpening({
      type: 'hello',
      interval: proposed ? hb.interval : 0,
      timeout: proposed ? hb.timeout : 0,
      maxFrame: hb.maxFrame,
      token: this.token,
      lastReceived: this.receivedSeq,
      credentials: credentials === undefined ? Buffer.alloc(0) : Buffer.from(credentials),
    });
  }

  protected onControlFrame(frame: Frame, transport: Transport): void {
    if (frame.type !== 'welcome' || transport.opened) {
      transport.violation(`unexpected ${frame.type.toUpperCase()} from the server`);
      return;
    }
    this.welcomed(frame, transport);
  }

  private welcomed(welcome: WelcomeFrame, transport: Transport): void {
    this.handshaking = undefined;
    const hadSession = this.token.length > 0;
    if (hadSession && !welcome.resumed) {
      // The server no longer knows our session: start afresh. Messages that were written to an old
      // connection may or may not have arrived — the application is told; those never written go out now.
      this.restartSession();
    }
    this.token = welcome.token;
    this.sessionId = welcome.sessionId;
    this.interval = welcome.interval;
    this.timeout = welcome.timeout;
    this.attempt = 0;
    this.ackedSeq = this.receivedSeq;
    this.peerMaxFrame = welcome.maxFrame;
    if (this.options.keepAlive === undefined && welcome.timeout !== this.heartbeat.timeout) {
      // The kernel layer follows the heartbeat the server dictated, not the one this side proposed.
      applyDerivedKeepAlive(transport.socket, welcome);
    }
    transport.open({
      interval: welcome.interval,
      timeout: welcome.timeout,
      detector: this.heartbeat.detector,
      phiThreshold: this.heartbeat.phiThreshold,
      maxPingsPerInterval: this.heartbeat.maxPingsPerInterval,
      mode: this.options.heartbeat === false ? 'off' : 'active',
    });
    this.attach(transport, welcome.resumed ? welcome.lastReceived : 0);
    const s = transport.socket;
    this.emit('connected', {
      local: `${s.localAddress}:${s.localPort}`,
      remote: `${s.remoteAddress}:${s.remotePort}`,
      sessionId: welcome.sessionId,
      resumed: welcome.resumed,
      interval: welcome.interval,
      timeout: welcome.timeout,
    });
    if (welcome.resumed) this.emit('resumed');
  }

  onEnd(report: DeathReport, transport: Transport): void {
    if (this.handshaking === transport) this.handshaking = undefined;
    this.detach(transport);
    const wasOpen = transport.opened;
    if (wasOpen) this.lastEnd = report;
    if (this.closing) return this.finish();
    if (wasOpen && !isGoodbye(report)) this.emit('dead', report);
    // A GOAWAY names its reason in the error code (LIFELINE_AUTH_FAILED, LIFELINE_TOO_MANY_SESSIONS...).
    const err =
      report.cause === 'goaway'
        ? new LifelineError(goawayErrorCode(report.goaway), `the server said GOAWAY ${report.detail}`)
        : new LifelineError('LIFELINE_CONNECTION_LOST', report.detail ?? report.cause);
    if (report.cause === 'goaway' && FINAL_GOAWAY.has(report.goaway ?? '')) {
      if (report.goaway !== 'normal') this.fail(err);
      return this.finish();
    }
    this.attemptFailed(err);
  }

  private attemptFailed(err: Error): void {
    if (this.closing) return this.finish();
    this.attempt++;
    const b = this.backoff;
    if (b === undefined || this.attempt > b.maxAttempts || isCertificateError(err)) {
      // A client that never connected, or ran out of attempts, failed; one that was connected just died.
      if (this.sessionId === undefined || b !== undefined) this.fail(err);
      return this.finish();
    }
    const delayMs = Math.round(backoffDelay(this.attempt, b));
    this.emit('reconnecting', { attempt: this.attempt, delayMs });
    this.retryTimer = setTimeout(() => this.dial(), delayMs);
  }

  private fail(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.ended = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.reportUnconfirmed();
    this.emit('close');
  }
}

function applyDerivedKeepAlive(socket: net.Socket, agreed: { interval: number; timeout: number }): void {
  try {
    setKeepAlive(socket, deriveKeepAlive(agreed));
  } catch {
    // Already reported once when the connection's kernel options were first applied.
  }
}

function goawayErrorCode(name: string | undefined): string {
  return `LIFELINE_${(name ?? 'goaway').toUpperCase().replaceAll('-', '_')}`;
}

function requireObject(options: ClientOptions): ClientOptions {
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
export function connect(options: ClientOptions): HeartbeatClient {
  return new HeartbeatClient(options);
}
