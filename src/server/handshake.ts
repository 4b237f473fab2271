// The server's side of the handshake: HELLO -> authenticate() -> claim the session to resume -> WELCOME.
// Every peer value is checked before anything changes; the one synchronous commit at the end creates or
// continues the session, writes WELCOME, attaches the connection, and only then announces the session.
// What a resume claimed and could not use goes back to the store.
import * as tls from 'node:tls';
import type { GoawayName } from '../protocol/constants.js';
import type { Frame, HelloFrame } from '../protocol/frames.js';
import type { DeathReport } from '../session/death.js';
import { feasibleTimeout, type ResolvedHeartbeat } from '../session/options.js';
import { resumePointProblem } from '../session/outbox.js';
import type { LivenessParams, Transport, TransportHandler } from '../session/transport.js';
import type { SessionRegistry } from './registry.js';
import type { Session } from './session.js';
import type { SessionRecord } from './store.js';

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

/** Bounds within which a client's proposed interval/timeout are accepted (clamped), in ms. */
export interface ClientProposalBounds {
  minInterval?: number;
  maxInterval?: number;
  minTimeout?: number;
  maxTimeout?: number;
}

/** What the handshake needs of its server. */
export interface HandshakeHost {
  readonly heartbeat: ResolvedHeartbeat;
  readonly registry: SessionRegistry;
  readonly authenticate: Authenticate | undefined;
  readonly clientProposal: ClientProposalBounds | undefined;
  readonly maxSessions: number;
  readonly shuttingDown: boolean;
  /** A session is established: the server's 'session' event. */
  announce(session: Session<unknown>): void;
  /** A connection never became a session: the server's 'rejected' event. */
  rejected(report: DeathReport, transport: Transport): void;
}

/** The server measures an RTT of its own (a PING sent with a PONG) every 10 intervals, and at most every 30 s. */
const RTT_SAMPLE_INTERVALS = 10;
const RTT_SAMPLE_MIN_MS = 30_000;

/** What a resume found: the record it claimed from the store, and this server's copy when it claimed it. */
interface Claim {
  token: string;
  record: SessionRecord | undefined;
  localAtClaim: Session<unknown> | undefined;
}

export class Handshake {
  /** Connections that have not become sessions yet. */
  readonly pending = new Set<Transport>();
  /**
   * What a connection's frames go to until its session adopts it: one object for all connections (no
   * closures per connection). Before the HELLO, and after it while the client is authenticated.
   */
  readonly awaitingHello: TransportHandler = {
    onFrame: (frame, t) => this.onFrame(frame, t),
    onRtt: () => {},
    ackDue: () => 0,
    lastReceived: () => 0,
    onEnd: (report, t) => this.onEnd(report, t),
  };
  private readonly helloReceived: TransportHandler = {
    ...this.awaitingHello,
    // Frames decoded from the same chunk after the HELLO (the client must wait for WELCOME). A GOAWAY is the
    // client leaving (its close() or handshake timeout): the transport ends the connection quietly.
    onFrame: (frame, t) => {
      if (frame.type !== 'goaway') t.violation(`expected one HELLO first, got ${frame.type.toUpperCase()}`);
    },
  };
  private sharedParams: LivenessParams | undefined;

  constructor(private readonly host: HandshakeHost) {}

  /** Says `name` to every connection still in its handshake (the server shuts down). */
  refuseAll(name: GoawayName, reason: string): void {
    for (const t of this.pending) refuse(t, name, reason, reason, 'local');
  }

  private onEnd(report: DeathReport, transport: Transport): void {
    if (this.pending.delete(transport)) this.host.rejected(report, transport);
  }

  private onFrame(frame: Frame, transport: Transport): void {
    // A GOAWAY in place of HELLO: the client leaves before it began (docs/PROTOCOL.md section 2.6).
    if (frame.type === 'goaway') return;
    if (frame.type !== 'hello') {
      transport.violation(`expected one HELLO first, got ${frame.type.toUpperCase()}`);
      return;
    }
    transport.setHandler(this.helloReceived);
    // Nothing more is read until the client is authenticated (a client must wait for WELCOME anyway), and
    // the heartbeat's clock starts only when the session is established: this side's own authenticate()
    // and store calls are not the peer's silence.
    transport.socket.pause();
    this.proceed(frame, transport).then(
      (claimed) => {
        // The commit runs in a tick of its own: an exception from the application's 'session' listener is
        // the application's (an uncaught exception, as from any listener), not a store failure.
        if (claimed !== undefined)
          process.nextTick(() => this.commit(frame, claimed.identity, transport, claimed.claim));
      },
      (err: unknown) => {
        // The session store failed: this client cannot be served now, the server goes on.
        const detail = `session store: ${err instanceof Error ? err.message : String(err)}`;
        transport.socket.resume();
        refuse(transport, 'internal-error', 'server error', detail, 'local');
      },
    );
  }

  /** Authenticates and claims; undefined when the connection was refused or is gone. */
  private async proceed(
    hello: HelloFrame,
    transport: Transport,
  ): Promise<{ identity: string; claim: Claim | undefined } | undefined> {
    let identity: string | undefined;
    try {
      identity = await this.authenticate(hello, transport);
    } catch (err) {
      if (!transport.closed) transport.socket.resume();
      refuse(
        transport,
        'auth-failed',
        'authentication failed',
        `authentication failed: ${message(err)}`,
        'local',
      );
      return undefined;
    }
    if (transport.closed) return undefined;
    if (identity === undefined) {
      transport.socket.resume();
      refuse(
        transport,
        'auth-failed',
        'authentication failed',
        'authentication failed: refused by authenticate()',
        'local',
      );
      return undefined;
    }
    if (hello.token.length === 0) return { identity, claim: undefined };
    const token = hello.token.toString('hex');
    const localAtClaim = this.host.registry.find(token, identity);
    // Claim the record, so that no other server resumes the session too.
    const record = await this.host.registry.store.take(token, identity);
    return { identity, claim: { token, record, localAtClaim } };
  }

  private async authenticate(hello: HelloFrame, transport: Transport): Promise<string | undefined> {
    const hook = this.host.authenticate;
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

  /**
   * Decides, checks, and then — synchronously, in one go — creates or continues the session and attaches
   * the connection. Whatever the decision, a claimed record is either used or given back.
   */
  private commit(hello: HelloFrame, identity: string, transport: Transport, claim: Claim | undefined): void {
    const registry = this.host.registry;
    if (!transport.closed) transport.socket.resume();
    // This server's copy, as it is now (it may have expired or been closed while the store answered).
    let local = claim === undefined ? undefined : registry.find(claim.token, identity);
    let record = claim?.record;
    if (transport.closed || this.host.shuttingDown) {
      registry.giveBack(record, local);
      if (!transport.closed)
        refuse(transport, 'server-shutdown', 'server shutting down', 'server shutting down', 'local');
      return;
    }
    if (claim?.localAtClaim !== undefined && local === undefined) {
      // The session ended here while the store answered (its window ran out, or it was closed): what it
      // held was reported; the record claimed is its and goes with it. The client gets a new session.
      record = undefined;
    }
    if (record === undefined && local?.state === 'detached' && local.landedEpoch >= local.epoch) {
      // Its record reached the store and someone else claimed it since: the session moved on without this
      // copy (it may even be open on another server that has not noticed its client leave).
      local.supersede();
      local = undefined;
    }
    // Continue from the newer of this server's copy and the stored record (by epoch).
    const newer =
      record !== undefined && (local === undefined || record.epoch > local.epoch) ? record : undefined;
    const resumed = newer !== undefined || local !== undefined;
    const why =
      newer !== undefined
        ? refuseResumeFrom(newer, hello.lastReceived)
        : local?.refuseResume(hello.lastReceived);
    if (why !== undefined) {
      registry.giveBack(record, local);
      transport.violation(why);
      return;
    }
    if (!resumed && registry.sessions.size >= this.host.maxSessions && !registry.evictUnproven()) {
      registry.giveBack(record, local);
      const detail = `the server holds its maximum of ${this.host.maxSessions} sessions`;
      return refuse(transport, 'too-many-sessions', detail, detail, 'local');
    }
    this.pending.delete(transport);
    let session: Session<unknown>;
    if (newer !== undefined) {
      local?.supersede(); // this copy is older than the record: the session moved on without it
      const params = { ...this.negotiate(hello), interval: newer.interval, timeout: newer.timeout };
      session = registry.create(identity, params, newer);
    } else session = local ?? registry.create(identity, this.negotiate(hello));
    const isNew = session !== local;
    transport.writeOpening({
      type: 'welcome',
      interval: session.interval,
      timeout: session.timeout,
      maxFrame: this.host.heartbeat.maxFrame,
      maxMessage: session.maxMessageSizeIn,
      window: session.windowToAnnounce(),
      resumed,
      lastReceived: session.lastReceived(),
      token: Buffer.from(session.token, 'hex'),
      sessionId: session.id,
    });
    session.peerMaxFrame = hello.maxFrame;
    session.peerMaxMessage = hello.maxMessage;
    session.peerWindow = hello.window;
    registry.release(session);
    // Announced once it is usable (its socket attached, the replay written), before anything it receives.
    session.adopt(transport, resumed ? hello.lastReceived : 0, resumed, () => {
      if (isNew) this.host.announce(session);
    });
  }

  /** The heartbeat this session gets: the server's, or the client's proposal within clientProposal. */
  private negotiate(hello: HelloFrame): LivenessParams {
    const hb = this.host.heartbeat;
    const bounds = this.host.clientProposal;
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
      // A pair that cannot work on a healthy link is never agreed: the timeout leaves room for the answer.
      timeout = Math.max(timeout, feasibleTimeout(interval));
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
}

/** Whether a client may resume a stored record from `lastReceived` (see Session.refuseResume). */
function refuseResumeFrom(record: SessionRecord, lastReceived: number): string | undefined {
  const lastSent = record.nextSeq - 1;
  return resumePointProblem(lastReceived, lastSent, lastSent - record.unacked.length);
}

/** GOAWAY `name` to a connection in its handshake; `cause` is what the server's 'rejected' event reports. */
function refuse(
  transport: Transport,
  name: GoawayName,
  reason: string,
  detail: string,
  cause: DeathReport['cause'],
): void {
  transport.goaway(name, reason, 0, { cause, silentMs: 0, goaway: name, detail });
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}
