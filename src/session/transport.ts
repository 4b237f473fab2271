// One TCP (or TLS) connection carrying the lifeline protocol: the socket plumbing around the pure heartbeat
// core (heartbeat.ts). It decodes frames, answers PINGs, carries out the heartbeat's decisions (PING, wait,
// declare dead) and reports how the connection ended. It knows nothing of sessions, sequence numbers or
// reconnects: those belong to its owner (an Endpoint). One timer at most, none while the server side is
// healthy (a sweep watches it: sweep.ts), and nothing on the per-frame path but `heard(now)`.
// Its states (TRANSPORT_TRANSITIONS) change through move() only.
import type * as net from 'node:net';
import type { DetectorState } from '../detect/index.js';
import {
  type KeepAliveOptions,
  setKeepAlive,
  setLinearTimeouts,
  setNotSentLowat,
  tcpInfo,
} from '../keepalive/index.js';
import {
  DATA_FRAME_COST,
  FRAGMENT_SIZE,
  frameCompletionMs,
  GoawayCode,
  type GoawayName,
} from '../protocol/constants.js';
import { type DecodeError, Decoder, decodedBeforeThrow, decodeWhole } from '../protocol/decoder.js';
import {
  encodeAck,
  encodeData,
  encodeDataHeader,
  encodeFrame,
  encodePing,
  encodePong,
  encodePreface,
} from '../protocol/encoder.js';
import type { Frame } from '../protocol/frames.js';
import { encodeHttpRefusal } from '../protocol/refusal.js';
import { type Clock, systemClock, type Timer } from './clock.js';
import { ackClockMoving, ackFreshMs, causeOfSocketError, type DeathReport, diagnose } from './death.js';
import { Heartbeat, type LivenessParams } from './heartbeat.js';
import { step, type Transitions } from './machine.js';
import { type Sweep, type SweepMember, sweepFor } from './sweep.js';

/** What a transport tells its owner. Plain callbacks: they run on the per-frame path. */
export interface TransportHandler {
  /** A frame other than PING/PONG arrived (HELLO, WELCOME, DATA, ACK, GOAWAY). */
  onFrame(frame: Frame, transport: Transport): void;
  /** A PONG arrived: the round-trip time in ms, and the id of the PING it answered. */
  onRtt(ms: number, id: number): void;
  /**
   * The sequence number to acknowledge now, or 0 when none is due. `urgent` (a PING or PONG is going out
   * anyway) acknowledges anything pending; otherwise only a long enough run of unacknowledged messages.
   */
  ackDue(urgent: boolean): number;
  /** The connection is over; called exactly once, after the socket closed. */
  onEnd(report: DeathReport, transport: Transport): void;
  /** This process was itself stalled (event loop blocked, long GC) for `lateMs` past a timer. */
  onStall?(lateMs: number): void;
  /** Highest DATA sequence number received in order (0 before a session): what a GOAWAY announces. */
  lastReceived(): number;
  /** The socket's write buffer drained. */
  onDrain?(): void;
  /** A PONG that answered no PING of ours (unsolicited or forged) was ignored. */
  onIgnoredPong?(): void;
}

export type { LivenessParams } from './heartbeat.js';

/** A timer firing this much later than asked means this process, not the peer, was stalled. */
const STALL_MS = 100;
/** How long a closing connection may linger for the peer's FIN before it is destroyed, in ms. */
const LINGER_MS = 2000;
/**
 * Most unsent bytes the kernel holds for a lifeline socket (TCP_NOTSENT_LOWAT, Linux 3.12+ and macOS): the
 * kernel takes more only once its queue of bytes not yet sent falls below this, so a control frame written
 * now waits behind at most this much besides what is in flight (as HTTP/2 servers do to keep their
 * priorities meaningful; Apple recommends 16 KiB). Where it cannot be set, the kernel's send buffer (up to
 * megabytes) may sit in front of a PONG: see README, limits.
 */
export const NOTSENT_LOWAT = 16 * 1024;
/** The most bytes written to the socket in one batch (one writev) while the kernel keeps taking them all. */
const MAX_BATCH = 1024 * 1024;

/**
 * - `handshake`: preface and HELLO/WELCOME under way (the handshake timeout runs);
 * - `open`: the heartbeat runs; `closing`: GOAWAY said or heard, lingering for the peer's FIN;
 * - `ended`: the socket closed and the owner was told, once.
 */
type State = 'handshake' | 'open' | 'closing' | 'ended';

const TRANSPORT_TRANSITIONS: Transitions<State> = {
  handshake: ['open', 'closing', 'ended'],
  open: ['closing', 'ended'],
  closing: ['ended'],
  ended: [],
};

export class Transport implements SweepMember {
  readonly socket: net.Socket;
  readonly clock: Clock;
  /** When the last byte arrived before the handshake completed (ms); the heartbeat keeps it after that. */
  private heardBeforeOpenAt: number;

  /** Largest frame payload accepted from the peer now, in bytes: the handshake's limit until it is done. */
  maxFrame: number;
  /** The limit once the handshake is done. */
  private readonly openMaxFrame: number;
  /**
   * Only while needed: for the preface, and while frames span chunks. Without one, chunks are decoded in
   * place (decodeWhole), so that an idle connection holds no decoder and no chunk list.
   */
  private decoder: Decoder | undefined;
  /** @internal read by the shared socket listeners */
  handler: TransportHandler;
  private state: State = 'handshake';
  private report: DeathReport | undefined;
  /** The heartbeat, from the moment the handshake completed (kept once the connection closes). */
  private beat: Heartbeat | undefined;
  /** Its own timer, when it needs one; not while a sweep watches it (a healthy server-side link). */
  private timer: Timer | undefined;
  private sweep: Sweep | undefined;
  /** @internal owned by the sweep */
  sweepIndex = -1;
  private timerDelay = 0;
  private dueAt = 0;
  private pingId = 0;
  /** The id of the last PING answered: a PONG must answer one sent after it, up to pingId. */
  private answeredId = 0;
  /**
   * The peer's PING allowance (a token bucket, see tooManyPings): thousandths of a token left (a whole number,
   * so that V8 keeps it unboxed), and when it was last refilled.
   */
  private pingTokensAt = 0;
  private pingMilliTokens = 0;
  private confirming = false;
  /** When the frame being reassembled was first seen unfinished, and the frame count then (its progress). */
  private partial: { since: number; mark: number } | undefined;
  /** Frames decoded on this connection: a frame completed since the last look is progress. */
  private framesIn = 0;
  private prefaceSent = false;
  /**
   * This side said GOAWAY, announcing the last DATA it received: DATA arriving after it is not delivered
   * (the peer was told it did not arrive, and will resend it on a resume or report it unconfirmed).
   */
  private saidGoaway = false;
  /** @internal a 'drain' listener is registered */
  awaitingDrain = false;
  /**
   * Flow control on this connection (docs/PROTOCOL.md section 6), in bytes of message data: sent, and the
   * limit the peer's window allows (its HELLO/WELCOME, then its WINDOW frames); received, and the limit
   * this side granted. Set by the owner when it attaches the connection.
   */
  sent = 0;
  sendLimit = 0;
  received = 0;
  grantLimit = 0;
  /**
   * How many bytes a batch of DATA may queue in the socket: doubles while the kernel takes each batch whole
   * (a fast link: few large writes), falls back to one fragment when it does not (a slow one: the queue in
   * front of a control frame stays about one fragment deep).
   */
  private batch = FRAGMENT_SIZE;

  constructor(
    socket: net.Socket,
    handler: TransportHandler,
    options: {
      maxFrame: number;
      /** Largest frame before the handshake is done (the server's maxHelloSize); default maxFrame. */
      handshakeMaxFrame?: number;
      handshakeTimeout: number;
      keepAlive: KeepAliveOptions | false | undefined;
      linearTimeouts: boolean;
      /** Time and timers; Node's own by default (a simulated network passes a virtual clock). */
      clock?: Clock;
    },
  ) {
    this.socket = socket;
    this.clock = options.clock ?? systemClock;
    this.handler = handler;
    this.openMaxFrame = options.maxFrame;
    this.maxFrame = Math.min(options.maxFrame, options.handshakeMaxFrame ?? options.maxFrame);
    this.decoder = new Decoder({ maxFrame: this.maxFrame, expectPreface: true });
    this.heardBeforeOpenAt = this.clock.now();
    applyKernel(socket, options.keepAlive, options.linearTimeouts);
    socket.setNoDelay(true);
    // Shared listeners that find their transport on the socket: no closures per connection (STYLE.md).
    (socket as OwnedSocket)[kTransport] = this;
    socket.on('data', onSocketData);
    // No 'end' listener: a close without a report is the peer's FIN ('closed'). 'drain' is listened to only
    // while a write waits for it. Fewer listeners, fewer per-socket arrays.
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    this.arm(options.handshakeTimeout, this.clock.now());
  }

  /** True once the handshake completed (even if the connection has ended since). */
  get opened(): boolean {
    return this.beat !== undefined;
  }

  /** True once the peer sent anything after the handshake: it has its WELCOME (or HELLO's answer). */
  get heardSinceOpen(): boolean {
    return this.beat?.heardSinceStart === true;
  }

  /** True once the connection is closing or over. */
  get closed(): boolean {
    return this.state === 'closing' || this.state === 'ended';
  }

  /** Hands the connection to another owner (the server's session once the handshake is done). */
  setHandler(handler: TransportHandler): void {
    this.handler = handler;
  }

  /** The handshake is done: start the heartbeat. The peer's silence counts from now. */
  open(params: LivenessParams): void {
    if (this.state !== 'handshake') return;
    this.move('open');
    this.maxFrame = this.openMaxFrame;
    // Not across this side's own authentication or store calls, while nothing of the peer's was read.
    const now = this.clock.now();
    this.beat = new Heartbeat(params, now);
    this.pingTokensAt = now;
    this.pingMilliTokens = 2000 * params.maxPingsPerInterval;
    if (params.mode === 'off') this.disarm();
    else this.schedule(this.beat, now);
  }

  private move(to: State): void {
    this.state = step('Transport', TRANSPORT_TRANSITIONS, this.state, to);
  }

  /** Writes the preface and a first frame (HELLO, WELCOME or GOAWAY) in one segment. */
  writeOpening(frame: Frame): void {
    this.prefaceSent = true;
    this.socket.write(Buffer.concat([encodePreface(), encodeFrame(frame)]));
  }

  /** Whether DATA may be written now: open, writable, and the socket's queue under this batch's budget. */
  canWrite(): boolean {
    return this.state === 'open' && this.socket.writable && this.socket.writableLength < this.batch;
  }

  /** Starts a batch of fragments: they go to the kernel in one writev at uncork(). */
  cork(): void {
    this.socket.cork();
  }

  /** Ends a batch, and sizes the next one by whether the kernel took this one whole. */
  uncork(): void {
    this.socket.uncork();
    this.beat?.sent(this.clock.now());
    if (this.socket.writableLength === 0) this.batch = Math.min(this.batch * 2, MAX_BATCH);
    else this.batch = FRAGMENT_SIZE;
  }

  /**
   * Writes one DATA fragment, `payload[from, from + length)` of message `seq` (the owner checks canWrite()
   * and the window first); when the socket's buffer passes its high-water mark, the owner hears of its
   * 'drain' (TransportHandler.onDrain).
   */
  writeFragment(seq: number, payload: Buffer, from: number, length: number, end: boolean): void {
    let ok: boolean;
    this.sent += length + DATA_FRAME_COST;
    if (length <= 1024) ok = this.socket.write(encodeData(seq, payload, end, from, from + length));
    else {
      // Large fragments go out uncopied: header and a view of the payload, written together.
      this.socket.write(encodeDataHeader(seq, length, end));
      ok = this.socket.write(
        from === 0 && length === payload.length ? payload : payload.subarray(from, from + length),
      );
    }
    if (!ok && !this.awaitingDrain) {
      this.awaitingDrain = true;
      this.socket.once('drain', onSocketDrain);
    }
  }

  /** Writes a control frame (WINDOW) now, with an ACK in front when one is due. */
  sendControl(frame: Buffer): void {
    if (this.state === 'open') this.writeWithAck(frame, this.clock.now());
  }

  /** Writes an ACK now. */
  sendAck(seq: number): void {
    if (this.state === 'open' && this.socket.writable) this.writeAck(seq, this.clock.now());
  }

  /** An ACK on its own; what the peer hears of this side at `now`. */
  private writeAck(seq: number, now: number): void {
    this.beat?.sent(now);
    this.socket.write(encodeAck(seq));
  }

  /**
   * Says GOAWAY and closes: data already written is flushed, the peer's in-flight frames are still read
   * until its FIN (or LINGER_MS). `report` is what the owner will be told when the socket has closed.
   */
  goaway(name: GoawayName, reason: string, lastReceived: number, report: DeathReport): void {
    if (this.closed) return;
    this.report ??= report;
    const frame: Frame = { type: 'goaway', code: GoawayCode[name], name, lastReceived, reason };
    // Every frame follows our preface: send it first if this connection has not yet.
    const bytes = this.prefaceSent
      ? encodeFrame(frame)
      : Buffer.concat([encodePreface(), encodeFrame(frame)]);
    this.prefaceSent = true;
    this.saidGoaway = true;
    this.move('closing');
    this.socket.end(bytes);
    this.arm(LINGER_MS, this.clock.now());
  }

  /** Ends the connection at once, without a word to the peer. */
  destroy(report: DeathReport): void {
    if (this.state === 'ended') return;
    this.report ??= report;
    if (this.state !== 'closing') this.move('closing');
    this.socket.destroy();
  }

  /** Monotonic time (ms) at which the last byte arrived (the heartbeat's, once the handshake is done). */
  get lastHeardAt(): number {
    return this.beat?.lastHeardAt ?? this.heardBeforeOpenAt;
  }

  /** How long nothing has been heard, in ms. */
  silentMs(now = this.clock.now()): number {
    return Math.max(0, now - this.lastHeardAt);
  }

  /** Detector state for display ('phi' value or time left); undefined before the handshake. */
  detectorState(now = this.clock.now()): DetectorState | undefined {
    return this.beat?.state(now);
  }

  onData(chunk: Buffer): void {
    const now = this.clock.now();
    // One write on the per-chunk path: the heartbeat's, or before it exists the transport's own.
    const beat = this.beat;
    if (beat !== undefined) beat.heard(now);
    else this.heardBeforeOpenAt = now;
    if (this.state === 'ended') return;
    const error = this.decode(chunk);
    if (error !== undefined) this.refuse(error);
    else if (this.state === 'open' && this.socket.writable) {
      const due = this.handler.ackDue(false);
      if (due > 0) this.writeAck(due, now);
    }
  }

  /**
   * Delivers the frames in `chunk`. A decoder is made when a frame spans chunks, and kept while the
   * connection is busy (a bulk stream spans chunks all the time); the timer drops it once it is idle.
   */
  private decode(chunk: Buffer): DecodeError | undefined {
    if (this.decoder !== undefined) {
      const handshaking = this.state === 'handshake';
      const error = this.decoder.push(chunk, onTransportFrame, this);
      // The preface's decoder goes as soon as it is idle: young, so that it never reaches the old generation.
      if (handshaking && error === undefined && this.decoder.idle) this.decoder = undefined;
      return error;
    }
    let end: number | DecodeError;
    try {
      end = decodeWhole(chunk, 0, this, onTransportFrame, this);
    } catch (err) {
      // A listener threw: keep the rest of the chunk for the next one, as Decoder.push would.
      this.holdFrom(chunk, decodedBeforeThrow());
      throw err;
    }
    if (typeof end !== 'number') return end;
    this.holdFrom(chunk, end);
    return undefined;
  }

  private holdFrom(chunk: Buffer, at: number): void {
    if (at < chunk.length) this.decoder = Decoder.holding(chunk, at, this.maxFrame);
  }

  onFrame(frame: Frame): void {
    this.framesIn++;
    if (this.state === 'closing') {
      // Still read while closing: the peer's ACKs, its GOAWAY, and DATA sent before it heard ours.
      if (frame.type === 'data' ? this.saidGoaway : frame.type !== 'ack' && frame.type !== 'goaway') return;
    }
    switch (frame.type) {
      case 'ping': {
        const beat = this.beat;
        if (beat === undefined) return this.violation('PING before the handshake completed');
        if (this.state !== 'open' || this.tooManyPings(beat)) return;
        this.writeWithAck(encodePong(frame.id, frame.timestamp), this.lastHeardAt);
        if (beat.params.mode === 'passive') {
          const every = beat.params.rttSampleEvery ?? 0;
          if (every > 0 && this.lastHeardAt - beat.lastPingAt >= every) this.ping(beat, this.lastHeardAt);
        }
        return;
      }
      case 'pong': {
        const beat = this.beat;
        if (beat === undefined) return this.violation('PONG before the handshake completed');
        // It must answer an outstanding PING (ids are sent in order, answered in order), and its echoed time
        // must be no older than the connection's timeout: anything else is not an RTT sample.
        const outstanding = (this.pingId - this.answeredId) >>> 0;
        const ahead = (frame.id - this.answeredId) >>> 0;
        const ms = ((microsNow(this.clock) - frame.timestamp) >>> 0) / 1000;
        if (ahead === 0 || ahead > outstanding || ms > beat.params.timeout) {
          // Ignored and counted — and charged to the same allowance as PINGs, so a flood of them is one.
          this.handler.onIgnoredPong?.();
          if (this.state === 'open') this.tooManyPings(beat, 'PONGs that answer no PING');
          return;
        }
        this.answeredId = frame.id;
        this.handler.onRtt(ms, frame.id);
        return;
      }
      case 'goaway':
        // The owner first: a GOAWAY whose lastReceived is a lie is a protocol error, not a goodbye.
        this.handler.onFrame(frame, this);
        this.report ??= {
          cause: 'goaway',
          silentMs: 0,
          goaway: frame.name,
          detail: frame.reason ? `${frame.name}: ${frame.reason}` : frame.name,
        };
        // The linger is armed once: a GOAWAY after GOAWAY changes nothing.
        if (this.state === 'handshake' || this.state === 'open') {
          this.move('closing');
          // The last word: what this side received, so that the peer reports as unconfirmed only what
          // truly did not arrive.
          const due = this.beat !== undefined && this.socket.writable ? this.handler.ackDue(true) : 0;
          if (due > 0) this.socket.end(encodeAck(due));
          else this.socket.end();
          this.arm(LINGER_MS, this.clock.now());
        }
        return;
      default:
        this.handler.onFrame(frame, this);
    }
  }

  /** Protocol violation by the peer: GOAWAY protocol-error and close. */
  violation(reason: string, name: GoawayName = 'protocol-error'): void {
    this.goaway(name, reason, this.handler.lastReceived(), {
      cause: 'protocol-error',
      silentMs: this.silentMs(),
      goaway: name,
      detail: reason,
    });
  }

  private refuse(error: DecodeError): void {
    if (error.looksLikeHttp && this.state === 'handshake') {
      this.report ??= {
        cause: 'protocol-error',
        silentMs: 0,
        detail: error.reason,
        goaway: 'protocol-error',
      };
      this.move('closing');
      this.socket.end(encodeHttpRefusal());
      this.arm(LINGER_MS, this.clock.now());
      return;
    }
    this.violation(error.reason, error.code);
  }

  /**
   * The peer's PINGs against a token bucket that judges its schedule, not how arrivals bunch: it refills at
   * maxPingsPerInterval per window (one interval, never longer than a second, so that `lifeline ping` at
   * 10 per second passes whatever interval the server dictates) and holds two windows' worth, so that PINGs
   * a busy event loop or the network delivered together are not a flood. A real flood (hundreds a second)
   * empties it within a window and gets GOAWAY too-many-pings (as gRPC's ping strikes, with a burst).
   */
  private tooManyPings(beat: Heartbeat, what = 'PINGs'): boolean {
    const now = this.lastHeardAt; // this chunk's arrival time
    const params = beat.params;
    const windowMs = pingWindowMs(params);
    const capacity = 2 * params.maxPingsPerInterval;
    const refilled =
      this.pingMilliTokens +
      Math.floor(((now - this.pingTokensAt) * 1000 * params.maxPingsPerInterval) / windowMs);
    this.pingMilliTokens = Math.max(this.pingMilliTokens, Math.min(1000 * capacity, refilled));
    this.pingTokensAt = now;
    if (this.pingMilliTokens >= 1000) {
      this.pingMilliTokens -= 1000;
      return false;
    }
    this.violation(
      `more than ${params.maxPingsPerInterval} ${what} per ${windowMs} ms (burst ${capacity})`,
      'too-many-pings',
    );
    return true;
  }

  /** Writes `frame` at `now` (the caller's time: no clock read on the heartbeat's path), an ACK in front when due. */
  private writeWithAck(frame: Buffer, now: number): void {
    // The socket ends itself on the peer's FIN (allowHalfOpen false): nothing more can go out, and no ACK
    // is counted as sent.
    if (!this.socket.writable) return;
    this.beat?.sent(now);
    const due = this.handler.ackDue(true);
    this.socket.write(due > 0 ? Buffer.concat([encodeAck(due), frame]) : frame);
  }

  /**
   * Sends a PING now (lifeline ping); its PONG reports an RTT like any other. Returns the PING's id, or
   * undefined when the connection is not open.
   */
  pingNow(): number | undefined {
    if (this.state !== 'open' || this.beat === undefined) return undefined;
    this.ping(this.beat, this.clock.now());
    return this.pingId;
  }

  private ping(beat: Heartbeat, now: number): void {
    beat.pinged(now);
    this.pingId = (this.pingId + 1) >>> 0;
    this.writeWithAck(encodePing(this.pingId, microsNow(this.clock)), now);
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.leaveSweep();
  }

  private leaveSweep(): void {
    if (this.sweep === undefined) return;
    this.sweep.remove(this);
    this.sweep = undefined;
  }

  private arm(delay: number, now: number): void {
    this.leaveSweep();
    this.dueAt = now + delay;
    if (this.timer !== undefined && delay === this.timerDelay) {
      this.timer.refresh();
      return;
    }
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(onTransportTimer as (this: Timer) => void, delay);
    (this.timer as OwnedTimer)[kTransport] = this; // found by the shared callback: no argument array
    this.timer.unref();
    this.timerDelay = delay;
  }

  /**
   * Arms the one timer for what the heartbeat asks (the next PING due, or its deadline); or, on a healthy
   * passive link, hands the transport to the sweep (no precision needed until the client is overdue).
   */
  private schedule(beat: Heartbeat, now: number): void {
    if (beat.healthy(now)) {
      if (this.sweep === undefined) {
        this.disarm();
        this.sweep = sweepFor(Math.ceil(beat.pingAfter), this.clock);
        this.sweep.add(this);
      }
      return;
    }
    this.arm(beat.wakeIn(now), now);
  }

  onTimer(): void {
    const now = this.clock.now();
    this.check(now, now - this.dueAt);
  }

  /** @internal a sweep tick (see sweep.ts): nothing to do while healthy; else as if a timer had fired. */
  onSweep(now: number, lateMs: number): void {
    if (this.beat === undefined || !this.beat.healthy(now)) {
      this.leaveSweep();
      this.check(now, lateMs);
      return;
    }
    if (this.decoder?.idle) this.decoder = undefined;
    if (lateMs > STALL_MS) this.stalled(now, lateMs);
    this.checkPartialFrame(now);
  }

  /**
   * A frame started and not finished in time (frameCompletionMs: a minimum rate after a grace period,
   * docs/PROTOCOL.md section 6) is a protocol error: a trickled frame holds its buffer for a bounded time. Progress is any frame
   * completed since the last look: a bulk stream, whose reads end mid-frame all the time, always has some.
   */
  private checkPartialFrame(now: number): void {
    const decoder = this.decoder;
    if (decoder === undefined || decoder.partialBytes === 0 || this.state === 'ended') {
      this.partial = undefined;
      return;
    }
    // Per frame, not per message: a message of many fragments makes progress with every one of them.
    const mark = this.framesIn;
    const partial = this.partial;
    if (partial === undefined || mark !== partial.mark) {
      this.partial = { since: now, mark };
      return;
    }
    // Checked when the timer or the sweep looks (at least once per ping period): met within that period.
    if (now - partial.since > frameCompletionMs(decoder.partialTotal) && !this.closed) {
      this.violation(
        `frame of ${decoder.partialTotal} bytes incomplete after ${Math.round(now - partial.since)} ms: ` +
          `${decoder.partialBytes} bytes received`,
      );
    }
  }

  /** This process (not the peer) was stalled for lateMs: say so, and excuse the PINGs that queued up. */
  private stalled(now: number, lateMs: number): void {
    this.handler.onStall?.(lateMs);
    // The peer's PINGs queued up while we were not running and will be read all at once: not a flood.
    if (this.beat !== undefined) {
      // The backlog of the peer's PINGs is excused on top of a full bucket.
      const params = this.beat.params;
      this.pingTokensAt = now;
      this.pingMilliTokens =
        1000 *
        (2 * params.maxPingsPerInterval +
          Math.ceil(lateMs / pingWindowMs(params)) * params.maxPingsPerInterval);
    }
  }

  /** What a timer (or the sweep) found due at `now`, lateMs after it should have run. */
  private check(now: number, lateMs: number): void {
    if (this.decoder?.idle) this.decoder = undefined; // at a frame boundary: decodeWhole() until it is not
    if (lateMs > STALL_MS) this.stalled(now, lateMs);
    const wasClosing = this.closed;
    this.checkPartialFrame(now);
    if (this.closed && !wasClosing) return; // refused: the linger has its own timer now
    if (this.state === 'handshake') {
      this.goaway('handshake-timeout', 'no handshake in time', 0, {
        cause: 'handshake-timeout',
        silentMs: this.silentMs(now),
        detail: `no handshake within ${Math.round(this.timerDelay)} ms`,
      });
      return;
    }
    const beat = this.beat;
    if (this.state !== 'open' || beat === undefined) {
      this.socket.destroy(); // lingered long enough for the peer's FIN
      return;
    }
    switch (beat.check(now, lateMs)) {
      case 'dead':
        // Never blame the peer on stale information: let input that arrived meanwhile be read first.
        if (!this.confirming) {
          this.confirming = true;
          this.clock.setImmediate(onConfirmDeath, this);
        }
        return;
      case 'ping':
        this.ping(beat, now);
        break;
      case 'wait':
        break;
    }
    this.schedule(beat, now);
  }

  confirmDeath(): void {
    this.confirming = false;
    const beat = this.beat;
    if (this.state !== 'open' || beat === undefined) return;
    const now = this.clock.now();
    if (!beat.isDead(now)) {
      this.schedule(beat, now);
      return;
    }
    const info = kernelView(this.socket);
    const silentMs = this.silentMs(now);
    const { interval, timeout } = beat.params;
    const fresh = ackFreshMs(interval, timeout);
    // A slow link is not a dead one: while the peer's kernel keeps acknowledging our bytes, the PING may be
    // behind them — it gets one more interval at most, and the grace ends as soon as the ACKs stop.
    const graceLeft = timeout + interval - silentMs;
    if (graceLeft > 0 && ackClockMoving(info, fresh)) {
      this.arm(Math.max(1, Math.min(graceLeft, fresh - info!.lastAckReceivedMs)), now);
      return;
    }
    const detail =
      `nothing heard for ${Math.round(silentMs)} ms (timeout ${timeout} ms)` +
      (info
        ? `; kernel: ${info.unacked} unacked, ${info.retransmits} retransmits, ${info.probes} probes, last ACK ${info.lastAckReceivedMs} ms ago`
        : '');
    this.destroy({ cause: 'heartbeat-timeout', diagnosis: diagnose(info, fresh), silentMs, detail });
  }

  onError(err: NodeJS.ErrnoException): void {
    this.report ??= {
      cause: causeOfSocketError(err),
      silentMs: this.silentMs(),
      detail: `${err.code ?? ''} ${err.message}`.trim(),
    };
  }

  onClose(): void {
    if (this.state === 'ended') return;
    this.move('ended');
    this.disarm();
    const report = this.report ?? {
      cause: 'closed',
      silentMs: this.silentMs(),
      detail: 'the peer closed the connection without GOAWAY',
    };
    this.handler.onEnd(report, this);
  }
}

/** The PING allowance's window (see tooManyPings): one interval, never longer than a second, in ms. */
function pingWindowMs(params: LivenessParams): number {
  return Math.min(params.interval, 1000);
}

/** This process's monotonic clock in µs, mod 2^32: what a PING carries. */
function microsNow(clock: Clock): number {
  return Math.floor(clock.now() * 1000) >>> 0;
}

/** TCP_INFO for the diagnosis, or undefined where there is none (another platform, a socket not over TCP). */
function kernelView(socket: net.Socket): ReturnType<typeof tcpInfo> {
  try {
    return tcpInfo(socket);
  } catch {
    return undefined;
  }
}

let kernelWarned = false;

/** The kernel layer under every lifeline socket: keepalive (+ TCP_USER_TIMEOUT) and thin-stream timeouts. */
function applyKernel(
  socket: net.Socket,
  keepAlive: KeepAliveOptions | false | undefined,
  linear: boolean,
): void {
  // Each layer on its own: one that fails does not keep the others off.
  kernelStep(() => {
    // false: the kernel's settings are left alone.
    if (keepAlive !== undefined && keepAlive !== false) setKeepAlive(socket, keepAlive);
  });
  if (!linear) return;
  // Kernel tuning for a heartbeat's stream: linear timeouts, and control frames not behind megabytes.
  kernelStep(() => setLinearTimeouts(socket, true));
  kernelStep(() => setNotSentLowat(socket, NOTSENT_LOWAT));
}

function kernelStep(apply: () => unknown): void {
  try {
    apply();
  } catch (err) {
    // The heartbeat still works without the kernel layer; say so once, loudly, never silently.
    if (!kernelWarned) {
      kernelWarned = true;
      process.emitWarning(`lifeline: kernel socket options not applied: ${(err as Error).message}`, {
        code: 'LIFELINE_KEEPALIVE',
      });
    }
  }
}

const kTransport = Symbol('lifeline.transport');
type OwnedSocket = net.Socket & { [kTransport]: Transport };

function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[kTransport].onData(chunk);
}
function onSocketError(this: OwnedSocket, err: NodeJS.ErrnoException): void {
  this[kTransport].onError(err);
}
function onSocketDrain(this: OwnedSocket): void {
  const transport = this[kTransport];
  transport.awaitingDrain = false;
  transport.handler.onDrain?.();
}
function onSocketClose(this: OwnedSocket): void {
  this[kTransport].onClose();
}
type OwnedTimer = Timer & { [kTransport]: Transport };

/** Node calls a timer's callback with the Timeout as `this`. */
function onTransportTimer(this: OwnedTimer): void {
  this[kTransport].onTimer();
}
function onConfirmDeath(transport: Transport): void {
  transport.confirmDeath();
}
function onTransportFrame(this: Transport, frame: Frame): void {
  this.onFrame(frame);
}
