// The server's side of one client session: an Endpoint that outlives its connections for the resume
// window, bound to the identity that authenticated it. Created and owned by HeartbeatServer only.
import { performance } from 'node:perf_hooks';
import type { Frame } from '../protocol/frames.js';
import { type DeathReport, isGoodbye } from '../session/death.js';
import { Endpoint, type EndpointOptions } from '../session/endpoint.js';
import { Outbox } from '../session/outbox.js';
import type { LivenessParams, Transport } from '../session/transport.js';
import { type RecordedState, type SessionRecord, sameRecordedState } from './store.js';

export type SessionState = 'open' | 'detached' | 'closed';

/**
 * Why a session ended here, which decides what becomes of its record in the store: 'ended' (closed, or a
 * final death) forgets it; 'expired' (the resume window passed) and 'shutdown' (the server closed while
 * the session waited to be resumed) leave it to its time to live, so that a fleet's other servers may still
 * resume it; 'moved' means it continued on another server, which owns the record now. After 'shutdown' and
 * 'moved' the session lives on in its record, so nothing is reported unconfirmed.
 */
export type SessionEnding = 'ended' | 'expired' | 'shutdown' | 'moved';

/** What the server must know to keep, end or forget a session. */
export interface SessionOwner {
  /** The connection died and the session now waits for its client to resume it. */
  sessionDetached(session: Session): void;
  sessionClosed(session: Session, ending: SessionEnding): void;
}

export class Session extends Endpoint {
  /** Short id for logs, metrics and the dashboard. */
  readonly id: string;
  /** The identity authenticate() returned ('' without authentication). */
  readonly identity: string;
  /** Resume token (hex). Secret: whoever holds it (and the identity) may resume this session. */
  readonly token: string;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  /** Monotonic time (ms) the session was established. */
  readonly createdAt = performance.now();
  /** How many times this session was resumed on a new connection. */
  resumes = 0;
  /** @internal the server emitted 'session' for it (once, even across resumes) */
  announced = false;
  private readonly params: LivenessParams;
  private readonly resumeWindow: number;
  private status: SessionState = 'open';
  /** close() ('close') or handOver() ('handover') was called: what to do once the connection has ended. */
  private closing: false | 'close' | 'handover' = false;
  private expiry: NodeJS.Timeout | undefined;

  constructor(
    private readonly owner: SessionOwner,
    init: { id: string; identity: string; token: string; params: LivenessParams; resumeWindow: number },
    options: EndpointOptions,
    record?: SessionRecord,
  ) {
    super(options);
    if (record !== undefined) {
      // Continuing a session another connection (or another server of a fleet) left behind.
      this.receivedSeq = record.receivedSeq;
      this.outbox = Outbox.restore(record.nextSeq, record.unacked);
      this.writtenSeq = record.nextSeq - 1;
    }
    this.id = init.id;
    this.identity = init.identity;
    this.token = init.token;
    this.params = init.params;
    this.resumeWindow = init.resumeWindow;
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

  /** What a store keeps while the session waits to be resumed. */
  toRecord(): SessionRecord {
    return {
      id: this.id,
      token: this.token,
      identity: this.identity,
      interval: this.interval,
      timeout: this.timeout,
      receivedSeq: this.receivedSeq,
      nextSeq: this.outbox.nextSeq,
      unacked: this.outbox.held(),
    };
  }

  /** Ms since the client was last heard from (0 while bytes flow), for display. */
  silentMs(now = performance.now()): number {
    return this.transport?.silentMs(now) ?? 0;
  }

  /** Detector state (time left, or phi) for display. */
  detectorState(now = performance.now()) {
    return this.transport?.detectorState(now);
  }

  /** Closes the session for good: GOAWAY normal (or `name`), flushes what was written, forgets the session. */
  close(reason = 'closed by the server', name: 'normal' | 'server-shutdown' = 'normal'): void {
    if (this.closing || this.status === 'closed') return;
    this.closing = 'close';
    this.ended = true;
    const transport = this.transport;
    if (transport !== undefined) {
      transport.goaway(name, reason, this.receivedSeq, {
        cause: 'local',
        silentMs: 0,
        goaway: name,
        detail: reason,
      });
    } else {
      this.finish('ended');
    }
  }

  /**
   * @internal The server shuts down and its store is shared: says GOAWAY server-shutdown (its client will
   * reconnect, to another server of the fleet) and, once the connection has ended, records the session in
   * the store for that server to resume, instead of ending it. A session already waiting to be resumed keeps
   * its record. Nothing is reported unconfirmed: the record carries the unacknowledged messages on.
   */
  handOver(reason: string): void {
    if (this.closing || this.status === 'closed') return;
    this.closing = 'handover';
    this.ended = true;
    const transport = this.transport;
    if (transport === undefined) return this.finish('shutdown');
    transport.goaway('server-shutdown', reason, this.receivedSeq, {
      cause: 'local',
      silentMs: 0,
      goaway: 'server-shutdown',
      detail: reason,
    });
  }

  /**
   * @internal This server's copy of a session that has since continued on another server (its record in
   * the store is no longer this copy's): forgotten without a word, and without reporting as unconfirmed
   * the messages the other server took over.
   */
  supersede(): void {
    if (this.status !== 'closed') this.finish('moved');
  }

  /** The numbers a record of this session holds now (see RecordedState). */
  recordedState(): RecordedState {
    return { receivedSeq: this.receivedSeq, nextSeq: this.outbox.nextSeq };
  }

  /** Whether `record` is this session as it was when its connection died (and not a later state of it). */
  isRecordedAs(record: SessionRecord): boolean {
    return record.id === this.id && sameRecordedState(record, this.recordedState());
  }

  /** Takes a connection whose handshake just completed (new session or resume). */
  adopt(transport: Transport, peerReceived: number, resumed: boolean): void {
    if (this.expiry !== undefined) clearTimeout(this.expiry);
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
    this.status = 'open';
    this.remoteAddress = transport.socket.remoteAddress;
    this.remotePort = transport.socket.remotePort;
    this.ackedSeq = this.receivedSeq; // WELCOME told the client what we have
    transport.setHandler(this);
    transport.open(this.params);
    this.attach(transport, peerReceived);
    if (resumed) {
      this.resumes++;
      this.emit('resumed');
    }
  }

  onEnd(report: DeathReport, transport: Transport): void {
    if (transport !== this.transport) return; // a replaced connection
    this.detach(transport);
    this.lastEnd = report;
    if (this.closing === 'handover') {
      this.owner.sessionDetached(this); // recorded as it stands after the last frames were read
      return this.finish('shutdown');
    }
    if (this.closing || isGoodbye(report)) return this.finish('ended');
    this.emit('dead', report);
    const final = report.cause === 'goaway' || report.cause === 'protocol-error';
    if (final || this.resumeWindow === 0) return this.finish('ended');
    this.status = 'detached';
    this.expiry = setTimeout(() => this.finish('expired'), this.resumeWindow);
    this.expiry.unref();
    this.owner.sessionDetached(this);
  }

  protected onControlFrame(frame: Frame, transport: Transport): void {
    transport.violation(`unexpected ${frame.type.toUpperCase()} in an established session`);
  }

  private finish(ending: SessionEnding): void {
    if (this.status === 'closed') return;
    this.status = 'closed';
    this.ended = true;
    if (this.expiry !== undefined) clearTimeout(this.expiry);
    // A session that moved, or was handed over at a shutdown, lives on in its record: nothing is unconfirmed.
    if (ending !== 'moved' && ending !== 'shutdown') this.reportUnconfirmed();
    this.owner.sessionClosed(this, ending);
    this.emit('close');
  }
}
