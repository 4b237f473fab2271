// The server's side of one client session: an Endpoint that outlives its connections for the resume
// window, bound to the identity that authenticated it. Created and owned by the server's registry only.
// Its life is one state machine (SESSION_TRANSITIONS); every change goes through move(), inside a transition.
import type { Frame } from '../protocol/frames.js';
import type { Clock, Timer } from '../session/clock.js';
import { type DeathReport, endsSession, isGoodbye } from '../session/death.js';
import { Endpoint, type EndpointOptions } from '../session/endpoint.js';
import { step, type Transitions } from '../session/machine.js';
import { channels, debug, publish } from '../session/observe.js';
import { Outbox } from '../session/outbox.js';
import type { LivenessParams, Transport } from '../session/transport.js';
import type { RecordedState, SessionRecord } from './store.js';

/**
 * - `open`: a connection is attached;
 * - `detached`: its connection died, and it waits (resumeWindow) for its client to resume it;
 * - `closing`: close() (or the server's shutdown) said GOAWAY and waits for the connection to end;
 * - `closed`: over; 'close' was its last event.
 */
export type SessionState = 'open' | 'detached' | 'closing' | 'closed';

const SESSION_TRANSITIONS: Transitions<SessionState> = {
  open: ['open', 'detached', 'closing', 'closed'],
  detached: ['open', 'closed'],
  closing: ['closed'],
  closed: [],
};

/**
 * Why a session ended here, which decides what becomes of its record in the store: 'ended' (closed, or a
 * final death) forgets it; 'expired' (the resume window passed) and 'shutdown' (the server closed while
 * the session waited to be resumed) leave it to its time to live, so that a fleet's other servers may still
 * resume it; 'moved' means it continued on another server, which owns the record now. After 'shutdown' and
 * 'moved' the session lives on in its record, so what the record carries is not reported unconfirmed.
 */
export type SessionEnding = 'ended' | 'expired' | 'shutdown' | 'moved';

/** What the server must know to keep, end or forget a session. */
export interface SessionOwner {
  /** The connection died and the session now waits for its client to resume it. */
  sessionDetached(session: Session<unknown>): void;
  sessionClosed(session: Session<unknown>, ending: SessionEnding): void;
}

export interface SessionInit {
  id: string;
  identity: string;
  token: string;
  params: LivenessParams;
  resumeWindow: number;
  clock: Clock;
}

export class Session<T = Buffer> extends Endpoint<T> {
  /** Short id for logs, metrics and the dashboard. */
  readonly id: string;
  /** The identity authenticate() returned ('' without authentication). */
  readonly identity: string;
  /** Resume token (hex). Secret: whoever holds it (and the identity) may resume this session. */
  readonly token: string;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  /** Monotonic time (ms) the session was established. */
  readonly createdAt: number;
  /** How many times this session was resumed on a new connection. */
  resumes = 0;
  /** The session's version (see SessionRecord.epoch): one more each time it continues on a new connection. */
  epoch = 1;
  /**
   * Whether its client ever sent anything after a WELCOME (so it got one). A detached session that never
   * did may be a peer that said HELLO and vanished: it is the first to go when maxSessions is reached.
   */
  proven = false;
  /** @internal the highest epoch of a record of this session the store confirmed saving (0: none yet) */
  landedEpoch = 0;
  private status: SessionState = 'open';
  /** What to do once a closing connection has ended: end the session, or hand it over to the store. */
  private ending: 'ended' | 'shutdown' = 'ended';
  /**
   * nextSeq of the last record this session was saved or restored from: messages from it on were sent
   * after, and no record carries them.
   */
  private recordedNextSeq = 1;
  private expiry: Timer | undefined;
  /** While detached: when the resume window ends (monotonic ms). */
  private expiresAt = 0;
  private readonly params: LivenessParams;
  private readonly resumeWindow: number;
  private readonly clock: Clock;

  /** @internal created by the server's registry, new or continued from a stored record */
  constructor(
    private readonly owner: SessionOwner,
    init: SessionInit,
    options: EndpointOptions<T>,
    record?: SessionRecord,
  ) {
    super(options);
    if (record !== undefined) {
      // Continuing a session another connection (or another server of a fleet) left behind.
      this.restoreReceived(record.receivedSeq);
      this.outbox = Outbox.restore(record.nextSeq, record.unacked);
      this.writtenSeq = record.nextSeq - 1;
      this.epoch = record.epoch;
      this.recordedNextSeq = record.nextSeq;
    }
    this.id = init.id;
    this.identity = init.identity;
    this.token = init.token;
    this.params = init.params;
    this.resumeWindow = init.resumeWindow;
    this.clock = init.clock;
    this.createdAt = init.clock.now();
  }

  /** Heartbeat interval agreed for this session, ms. */
  get interval(): number {
    return this.params.interval;
  }

  /** Heartbeat timeout agreed for this session, ms. */
  get timeout(): number {
    return this.params.timeout;
  }

  get state(): SessionState {
    return this.status;
  }

  /** @internal What a store keeps while the session waits to be resumed. */
  toRecord(): SessionRecord {
    this.recordedNextSeq = this.outbox.nextSeq;
    return {
      id: this.id,
      epoch: this.epoch,
      token: this.token,
      identity: this.identity,
      interval: this.interval,
      timeout: this.timeout,
      receivedSeq: this.receivedSeq,
      nextSeq: this.outbox.nextSeq,
      unacked: this.outbox.held(),
    };
  }

  /** @internal The version a record of this session holds now. */
  recordedState(): RecordedState {
    return { epoch: this.epoch };
  }

  /** @internal While detached: how much of the resume window is left, in ms (0 otherwise). */
  windowLeft(now = this.clock.now()): number {
    return this.status === 'detached' ? Math.max(0, this.expiresAt - now) : 0;
  }

  /** Ms since the client was last heard from (0 while bytes flow), for display. */
  silentMs(now = this.clock.now()): number {
    return this.transport?.silentMs(now) ?? 0;
  }

  /** Detector state (time left, or phi) for display. */
  detectorState(now = this.clock.now()) {
    return this.transport?.detectorState(now);
  }

  /**
   * Closes the session for good: GOAWAY normal (or `name`), flushes what was written, forgets the session.
   * Messages the client never acknowledged are reported 'unconfirmed' before 'close'.
   */
  close(reason = 'closed by the server', name: 'normal' | 'server-shutdown' = 'normal'): void {
    this.transact(() => this.end('ended', name, reason));
  }

  /**
   * @internal The server shuts down and its store is shared: says GOAWAY server-shutdown (its client will
   * reconnect, to another server of the fleet) and, once the connection has ended, records the session in
   * the store for that server to resume, instead of ending it. A session already waiting to be resumed keeps
   * its record. Nothing is reported unconfirmed: the record carries the unacknowledged messages on.
   */
  handOver(reason: string): void {
    // Without a resume window there is nothing to hand over: the session ends.
    const ending = this.resumeWindow === 0 ? 'ended' : 'shutdown';
    this.transact(() => this.end(ending, 'server-shutdown', reason));
  }

  private end(ending: 'ended' | 'shutdown', name: 'normal' | 'server-shutdown', reason: string): void {
    if (this.status === 'closing' || this.status === 'closed') return;
    this.ended = true;
    const transport = this.transport;
    if (transport === undefined) {
      if (ending === 'ended') return this.finish('ended');
      // Detached: its record (saved when its connection died) carries it on, unless its window has run out.
      // It is not saved again: if the session moved on meanwhile, an older copy must not come back; what was
      // sent since that record is reported unconfirmed instead.
      return this.finish(this.windowLeft() === 0 ? 'expired' : 'shutdown');
    }
    this.ending = ending;
    this.move('closing');
    // Said GOAWAY already (or heard the peer's): its end, which decides, comes when the socket closes.
    if (transport.closed) return;
    transport.goaway(name, reason, this.receivedSeq, {
      cause: 'local',
      silentMs: 0,
      goaway: name,
      detail: reason,
    });
  }

  /**
   * @internal This server's copy of a session that has since continued from a newer record (on another
   * server, or here from that record): forgotten without 'dead'. Messages sent after its last record was
   * saved are in no record and reach nobody: they are reported 'unconfirmed'.
   */
  supersede(): void {
    this.transact(() => {
      if (this.status === 'closed') return;
      const previous = this.transport;
      if (previous !== undefined) {
        this.detach(previous);
        previous.destroy({ cause: 'local', silentMs: 0, detail: 'the session continued elsewhere' });
      }
      this.finish('moved');
    });
  }

  /**
   * @internal
   * Whether the client may resume from `lastReceived` (its HELLO's): no more than this side sent, no less
   * than it acknowledged. Undefined when it may, else why not. Checked before anything changes.
   */
  refuseResume(lastReceived: number): string | undefined {
    return this.checkPeerReceived(lastReceived);
  }

  /**
   * @internal Takes a connection whose handshake just completed (new session, or resume), replays what the
   * client has not received, and then calls `announce` (the server's 'session' event for a new session) —
   * all one transition, so that what the application sends from its listeners follows the replay.
   */
  adopt(transport: Transport, peerReceived: number, resumed: boolean, announce: () => void): void {
    this.transact(() => {
      this.clock.clearTimeout(this.expiry);
      this.expiry = undefined;
      const previous = this.transport;
      if (previous !== undefined) {
        // The client came back before this side noticed the old connection die: retire it quietly.
        this.detach(previous);
        previous.destroy({
          cause: 'local',
          silentMs: previous.silentMs(),
          detail: 'replaced by a resumed connection',
        });
      }
      this.move('open');
      this.remoteAddress = transport.socket.remoteAddress;
      this.remotePort = transport.socket.remotePort;
      this.ackedSeq = this.receivedSeq; // WELCOME told the client what we have
      transport.setHandler(this);
      transport.open(this.params);
      this.attach(transport, peerReceived);
      if (resumed) {
        this.epoch++;
        this.resumes++;
      }
      announce();
      if (resumed) this.announce('resumed');
      publish(channels.handshake, () => ({ endpoint: this, sessionId: this.id, resumed }));
      if (resumed) publish(channels.resume, () => ({ endpoint: this, sessionId: this.id }));
    });
  }

  /** @internal the connection ended (called by the Transport) */
  onEnd(report: DeathReport, transport: Transport): void {
    if (transport !== this.transport || this.status === 'closed') return; // a replaced connection
    this.transact(() => {
      this.detach(transport);
      if (transport.heardSinceOpen) this.proven = true;
      this.lastEnd = report;
      if (this.status === 'closing') {
        // Recorded as it stands after the last frames were read.
        if (this.ending === 'shutdown') this.owner.sessionDetached(this);
        return this.finish(this.ending);
      }
      if (endsSession(report)) {
        if (!isGoodbye(report)) this.died(report);
        return this.finish('ended');
      }
      this.died(report);
      if (this.resumeWindow === 0) return this.finish('ended');
      this.move('detached');
      this.expiresAt = this.clock.now() + this.resumeWindow;
      this.expiry = this.clock.setTimeout(() => this.expire(), this.resumeWindow);
      this.expiry.unref();
      this.owner.sessionDetached(this);
    });
  }

  /** @internal HELLO or WELCOME in an established session: a protocol error. */
  protected onControlFrame(frame: Frame, transport: Transport): void {
    transport.violation(`unexpected ${frame.type.toUpperCase()} in an established session`);
  }

  private expire(): void {
    this.expiry = undefined;
    this.transact(() => this.finish('expired'));
  }

  /** @internal A detached session ends before its window (maxSessions reached): as if its window ran out. */
  evict(): void {
    if (this.status === 'detached') this.expire();
  }

  private move(to: SessionState): void {
    if (debug.enabled) debug('session %s: %s -> %s', this.id, this.status, to);
    this.status = step('Session', SESSION_TRANSITIONS, this.status, to);
  }

  private died(report: DeathReport): void {
    this.announce('dead', report);
    publish(channels.death, () => ({ endpoint: this, report }));
    if (debug.enabled) debug('session %s: dead (%s) %s', this.id, report.cause, report.detail ?? '');
  }

  private finish(ending: SessionEnding): void {
    if (this.status === 'closed') return;
    this.move('closed');
    this.ended = true;
    this.clock.clearTimeout(this.expiry);
    this.expiry = undefined;
    // A session that moved, or was handed over, lives on in its record: only what no record carries is
    // reported.
    if (ending === 'moved' || ending === 'shutdown') this.reportUnconfirmed(this.recordedNextSeq - 1);
    else this.reportUnconfirmed();
    this.owner.sessionClosed(this, ending);
    this.announce('close');
  }
}
