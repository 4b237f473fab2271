// The state both ends of a session share across connections: numbered DATA each way, cumulative ACKs,
// the replay buffer, duplicate suppression, backpressure, and the events the application sees.
// A server Session and a client both are Endpoints; a Transport carries them one connection at a time.
import { EventEmitter } from 'node:events';
import { checkOption, LifelineError } from '../errors.js';
import {
  DATA_FRAME_COST,
  DATA_PREFIX_LENGTH,
  DEFAULT_MAX_FRAME,
  DEFAULT_MAX_MESSAGE,
  DEFAULT_WINDOW,
  FRAGMENT_SIZE,
  MAX_SEQ,
  MIN_FRAGMENT,
  MIN_MAX_MESSAGE,
} from '../protocol/constants.js';
import { encodeWindow } from '../protocol/encoder.js';
import type { Frame } from '../protocol/frames.js';
import type { Clock, Timer } from './clock.js';
import { type BinaryMessage, type CodecOption, type MessageCodec, resolveCodec } from './codec.js';
import type { DeathReport } from './death.js';
import { EMPTY_OUTBOX, Outbox, resumePointProblem } from './outbox.js';
import type { Transport } from './transport.js';

/**
 * A busy one-way stream sends an ACK after this many unacknowledged messages, or this many bytes of them,
 * whichever comes first, and in any case within ACK_DELAY_MS of the first message it does not yet
 * acknowledge (else ACKs ride on PINGs): a sender of large messages gets its replay buffer back long
 * before it fills (8 MiB by default), and a sender whose peer only listens hears it often.
 */
const ACK_EVERY = 32;
const ACK_EVERY_BYTES = 256 * 1024;
/** The longest an ACK is held back, in ms (as TCP's delayed ACK, RFC 1122 section 4.2.3.2, at most 500 ms). */
export const ACK_DELAY_MS = 50;

export interface EndpointOptions<T = Buffer> {
  /**
   * Most bytes of sent-but-unacknowledged messages kept for replay, in bytes. Default 8 MiB. `send()`
   * returns false past half of it (wait for 'drain'); a send that would pass it throws
   * LIFELINE_BUFFER_FULL — nothing is dropped silently.
   */
  maxBuffered?: number;
  /**
   * How messages are encoded: 'binary' (default: Buffers in, Buffers out; strings sent as UTF-8), 'utf8'
   * (strings), 'json' (JSON values), or `{ encode, decode }` of your own. A message the peer sent that does
   * not decode ends the session with GOAWAY protocol-error. Both ends must agree.
   */
  codec?: CodecOption<T>;
  /**
   * Largest message this side accepts from its peer, in bytes (all of its fragments together). Default
   * 1 MiB, at least 16 KiB. Announced in the handshake: the peer's send() refuses larger messages
   * (LIFELINE_MESSAGE_TOO_LARGE), and a peer that sends one anyway gets GOAWAY message-too-large.
   */
  maxMessageSize?: number;
  /**
   * Receive window, in bytes of message data: how much this side buffers for an application that has not
   * consumed it (paused, see pause()). Default max(4 MiB, maxMessageSize); at least maxMessageSize, so that a
   * whole message fits. The peer never sends past it; it is granted again as messages are consumed (as
   * HTTP/2's WINDOW_UPDATE and QUIC's MAX_DATA). A peer that exceeds it gets GOAWAY flow-control-error.
   */
  receiveWindow?: number;
}

/** Validated EndpointOptions: message limits. */
export function resolveFlow(options: EndpointOptions<unknown>): {
  maxMessageSize: number;
  receiveWindow: number;
} {
  const maxMessageSize = checkOption(
    'maxMessageSize',
    options.maxMessageSize ?? DEFAULT_MAX_MESSAGE,
    MIN_MAX_MESSAGE,
    0xffff_ffff,
    'bytes',
  );
  const receiveWindow = checkOption(
    'receiveWindow',
    options.receiveWindow ?? Math.max(DEFAULT_WINDOW, 2 * maxMessageSize),
    windowFloor(maxMessageSize),
    0xffff_ffff,
    'bytes',
  );
  return { maxMessageSize, receiveWindow };
}

/**
 * The least receive window that holds a message of `maxMessageSize` with the per-frame cost of its fragments
 * (a sender cuts fragments of at least MIN_FRAGMENT bytes, but for a message's last).
 */
export function windowFloor(maxMessageSize: number): number {
  return maxMessageSize + (Math.ceil(maxMessageSize / MIN_FRAGMENT) + 1) * DATA_FRAME_COST;
}

/**
 * A fragment or a waiting message as it is kept: a view of the socket's chunk unless it is a small part of a
 * larger chunk, which it would keep alive (a peer could pin 64 KiB with every byte it sends).
 */
function keep(view: Buffer): Buffer {
  return view.length < FRAGMENT_SIZE && view.buffer.byteLength > 2 * view.length + 1024
    ? Buffer.from(view)
    : view;
}

/** A complete message waiting for a paused application, and its size (what it holds of the window). */
interface Held<T> {
  message: T;
  /** What it holds of the window: its bytes and the cost of its frames (DATA_FRAME_COST each). */
  bytes: number;
}

/** What send() takes: bytes or a string with the 'binary' codec, else the codec's message type. */
export type Outgoing<T> = [T] extends [Buffer] ? BinaryMessage : T;

/** The client's connectivity (as grpc-js's channel state): see HeartbeatClient.state. */
export type ClientState = 'idle' | 'connecting' | 'handshaking' | 'open' | 'waiting' | 'closing' | 'closed';

export const DEFAULT_MAX_BUFFERED = 8 * 1024 * 1024;

/** Events of a server Session and of a client. Client-only events are marked. */
export interface EndpointEvents<T = Buffer> {
  /** A message from the peer, delivered once and in order (decoded by the codec: a Buffer by default). */
  message: [message: T];
  /** A round-trip time measured by a PING and its PONG, in ms. */
  rtt: [ms: number];
  /**
   * The connection was lost — not by this side's close(), nor by the peer's (a GOAWAY normal is a goodbye:
   * 'close' follows without 'dead'); a reconnect or resume may follow.
   */
  dead: [report: DeathReport];
  /** The session is over for good. Always the last event. */
  close: [];
  /** send() returned false earlier and may be called again. */
  drain: [];
  /** This process was stalled (blocked event loop, long GC) for lateMs: detections around it were held back. */
  stall: [lateMs: number];
  /** The session continued on a new connection with nothing lost. */
  resumed: [];
  /** Client: a connection finished its handshake. */
  connected: [info: ConnectedInfo];
  /** Client: the next connection attempt starts after delayMs. */
  reconnecting: [info: { attempt: number; delayMs: number; error: Error & { code?: string } }];
  /**
   * Sent messages that were never acknowledged, so they may or may not have reached the peer's application:
   * emitted when a session ends with some (close() before they were acknowledged, the resume window
   * passed) and, on a client, when the server could not resume the session (it restarted, the window passed).
   */
  unconfirmed: [messages: Array<{ seq: number; payload: Buffer }>];
  /** Client: its connectivity state changed (see ClientState). */
  state: [state: ClientState];
  /** Client: a failure that ends the client (connect failed without reconnect, authentication refused...). */
  error: [err: Error];
}

export interface ConnectedInfo {
  local: string;
  remote: string;
  sessionId: string;
  resumed: boolean;
  interval: number;
  timeout: number;
}

export abstract class Endpoint<T = Buffer> extends EventEmitter<EndpointEvents<T>> {
  /** Last measured round-trip time in ms. */
  rtt: number | undefined;
  /** How the last connection ended — also for a goodbye (GOAWAY normal), which has no 'dead' event. */
  lastEnd: DeathReport | undefined;
  /** Messages and bytes each way, for display and metrics. */
  readonly stats = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, pings: 0, pongsIgnored: 0 };

  /**
   * @internal Largest frame payload the peer accepts: from HELLO/WELCOME (never under 16 KiB). (A whole
   * number, not Infinity: V8 then keeps the field unboxed, 16 bytes less per session.)
   */
  peerMaxFrame = DEFAULT_MAX_FRAME;
  /** @internal Largest message the peer accepts, from HELLO/WELCOME; the default until then. */
  peerMaxMessage = DEFAULT_MAX_MESSAGE;
  /** @internal The peer's receive window for the next connection, from HELLO/WELCOME. */
  peerWindow = 0;
  /** Largest message this side accepts (EndpointOptions.maxMessageSize), bytes. */
  readonly maxMessageSizeIn: number;
  /** This side's receive window (EndpointOptions.receiveWindow), bytes. */
  readonly receiveWindow: number;
  /** @internal The window this side announced for the connection being opened. */
  protected announcedWindow = 0;
  /** @internal */
  protected transport: Transport | undefined;
  /** @internal Sent and unacknowledged messages; the shared EMPTY_OUTBOX until the first send(). */
  protected outbox: Outbox = EMPTY_OUTBOX;
  /** @internal Highest sequence number received in order. */
  protected receivedSeq = 0;
  /** @internal Highest sequence number we have acknowledged to the peer. */
  protected ackedSeq = 0;
  /** Payload bytes received since the last ACK this side sent. */
  private bytesSinceAck = 0;
  /** An ACK is due within ACK_DELAY_MS (a timer runs only while one is pending). */
  private ackTimer: { timer: Timer; clock: Clock } | undefined;
  /**
   * Highest sequence number received whole, delivered or waiting in `held` (receivedSeq is what was
   * delivered, and so what ACKs and resume points announce).
   */
  private completedSeq = 0;
  /** Fragments of the message being received (views of the socket's chunks, joined at its last fragment). */
  private fragments: Buffer[] | undefined;
  private fragmentBytes = 0;
  /** What they hold of the window: their bytes and DATA_FRAME_COST each. */
  private fragmentCost = 0;
  /** Complete messages waiting while the application is paused, and their bytes. */
  private held: Held<T>[] | undefined;
  private heldBytes = 0;
  private pausedFlag = false;
  /** A pulling iterator waits for the next message. */
  private wake: (() => void) | undefined;
  /** @internal Bytes of the next message to write already written to this connection (its first fragments). */
  protected writingOffset = 0;
  /** @internal Highest sequence number ever handed to a socket (messages above it never left this process). */
  protected writtenSeq = 0;
  /** @internal */
  protected readonly maxBuffered: number;
  /** @internal */
  protected ended = false;
  private needDrain = false;
  /** Depth of the transitions under way (see transact()); events wait in `queued` while it is above 0. */
  private depth = 0;
  private queued: Array<{ name: keyof EndpointEvents; args: unknown[] }> | undefined;
  /** undefined for the 'binary' codec: no work per message. */
  private readonly codec: MessageCodec<T> | undefined;
  /** 'close' was emitted: nothing more is. */
  private silenced = false;

  constructor(options: EndpointOptions<T> = {}) {
    super();
    this.codec = resolveCodec(options.codec);
    // EventEmitter starts with a null-prototype _events object, which V8 keeps in dictionary mode (~170
    // bytes). Node's own streams pre-shape _events with their common event names to stay in fast mode;
    // with tens of thousands of sessions the same trick is worth it here.
    (this as unknown as { _events: object })._events = {
      message: undefined,
      rtt: undefined,
      dead: undefined,
      close: undefined,
      resumed: undefined,
    };
    this.maxBuffered = checkOption(
      'maxBuffered',
      options.maxBuffered ?? DEFAULT_MAX_BUFFERED,
      1,
      2 ** 40,
      'bytes',
    );
    const flow = resolveFlow(options as EndpointOptions<unknown>);
    this.maxMessageSizeIn = flow.maxMessageSize;
    this.receiveWindow = flow.receiveWindow;
  }

  /**
   * Largest message send() accepts now, in bytes: what the peer announced in the handshake (the protocol's
   * default of 1 MiB before the first one).
   */
  get maxMessageSize(): number {
    return this.peerMaxMessage;
  }

  /**
   * What the messages waiting for a paused application hold of the receive window, in bytes: their bytes
   * and 64 per DATA frame (at most receiveWindow).
   */
  get waitingBytes(): number {
    return this.heldBytes;
  }

  /** True between pause() and resume(). */
  get paused(): boolean {
    return this.pausedFlag;
  }

  /**
   * Stops 'message' events: messages that arrive wait, in order, in this side's receive window (and are not
   * acknowledged); once it is full the peer stops sending (its send() returns false). The connection is
   * still read, so heartbeats, ACKs and GOAWAY keep flowing and a paused application is never taken for a
   * dead one. Messages still waiting when the session ends are not delivered: the peer reports them
   * 'unconfirmed'.
   */
  pause(): void {
    this.pausedFlag = true;
  }

  /** Delivers the messages that waited (in order), grants the window again, and resumes 'message' events. */
  resume(): void {
    if (!this.pausedFlag) return;
    this.pausedFlag = false;
    this.drainHeld();
  }

  /**
   * Whether a waiting message may be handed to the application now: only while a connection is attached.
   * Between connections the session's record (in a fleet's store) says what was delivered; a message
   * delivered after it was saved would be delivered again by the server that continues from it.
   */
  private get heldDeliverable(): boolean {
    return this.transport !== undefined && !this.silenced && this.held !== undefined && this.held.length > 0;
  }

  /** @internal Delivers waiting messages while not paused, one per transition (a listener may pause again). */
  drainHeld(): void {
    while (!this.pausedFlag && this.heldDeliverable) this.transact(() => this.deliverHeld());
  }

  /** Hands the oldest waiting message to the application: as 'message', or to `take` (the iterator). */
  private deliverHeld(take?: (message: T) => void): void {
    const next = this.held!.shift()!;
    this.heldBytes -= next.bytes;
    this.receivedSeq++;
    if (take === undefined) this.announce('message', next.message);
    else take(next.message);
    this.consumed();
  }

  /** Message bytes this side holds that its application has not consumed: waiting fragments and messages. */
  private get unconsumed(): number {
    return this.fragmentCost + this.heldBytes;
  }

  /** @internal The receive window to announce in HELLO/WELCOME for a new connection (what is free of it). */
  windowToAnnounce(): number {
    this.announcedWindow = Math.max(0, this.receiveWindow - this.heldBytes);
    return this.announcedWindow;
  }

  /** Bytes of sent messages the peer has not acknowledged yet. */
  get buffered(): number {
    return this.outbox.bytes;
  }

  /**
   * The current connection's socket (a tls.TLSSocket with TLS), for getKeepAlive() or tcpInfo(); undefined
   * between connections. Do not read from or write to it.
   */
  get socket(): import('node:net').Socket | undefined {
    return this.transport?.socket;
  }

  /** True while a connection is up and past its handshake. */
  get connected(): boolean {
    return this.transport !== undefined && !this.transport.closed;
  }

  /**
   * Sends one message. It is numbered and kept until the peer acknowledges it, so a resumed session
   * replays it if the connection breaks. Returns false when the caller should wait for 'drain'.
   * Throws LIFELINE_CLOSED after close(), and LIFELINE_BUFFER_FULL when the replay buffer is full.
   */
  send(message: Outgoing<T>): boolean {
    if (this.ended) throw new LifelineError('LIFELINE_CLOSED', 'cannot send: this session is closed');
    const payload = this.codec === undefined ? (message as BinaryMessage) : this.codec.encode(message as T);
    const buf = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : toBuffer(payload);
    if (buf.length > this.peerMaxMessage) {
      throw new LifelineError(
        'LIFELINE_MESSAGE_TOO_LARGE',
        `message of ${buf.length} bytes is larger than the peer accepts (maxMessageSize ${this.peerMaxMessage} bytes)`,
      );
    }
    if (this.outbox.bytes + buf.length > this.maxBuffered) {
      throw new LifelineError(
        'LIFELINE_BUFFER_FULL',
        `cannot send ${buf.length} bytes: ${this.outbox.bytes} bytes already wait for acknowledgement ` +
          `(maxBuffered ${this.maxBuffered}); wait for 'drain' before sending more`,
      );
    }
    if (this.outbox.nextSeq > MAX_SEQ)
      throw new LifelineError('LIFELINE_SEQ_EXHAUSTED', 'session sequence numbers exhausted');
    if (this.outbox === EMPTY_OUTBOX) this.outbox = new Outbox();
    this.outbox.push(buf);
    this.stats.messagesOut++;
    this.stats.bytesOut += buf.length;
    this.writePending();
    // Wait for 'drain' past half the replay buffer, or while this message waits its turn (the socket holds
    // its budget, or the peer's window is full): the replay buffer, the peer's window and the socket's own
    // queue are one backpressure.
    const ok =
      this.outbox.bytes <= this.maxBuffered / 2 &&
      (this.transport === undefined || this.writtenSeq === this.outbox.lastSeq);
    if (!ok) this.needDrain = true;
    return ok;
  }

  /** Sends a PING at once (whatever the heartbeat schedule); the answer arrives as an 'rtt' event. */
  ping(): void {
    this.transport?.pingNow();
  }

  /** measureRtt() calls waiting for the PONG of their own PING, by PING id. */
  private measuring: Map<number, (ms: number) => void> | undefined;

  /**
   * A fresh round-trip time, in ms: sends a PING now and resolves with the RTT its PONG gives. Rejects with
   * LIFELINE_NOT_CONNECTED when no connection is up, or LIFELINE_NO_ANSWER after `timeoutMs` (default 5000).
   */
  measureRtt(timeoutMs = 5000): Promise<number> {
    if (!this.connected)
      return Promise.reject(
        new LifelineError('LIFELINE_NOT_CONNECTED', 'no connection to measure: wait for it'),
      );
    const id = this.transport!.pingNow();
    if (id === undefined)
      return Promise.reject(
        new LifelineError('LIFELINE_NOT_CONNECTED', 'no connection to measure: wait for it'),
      );
    if (this.measuring === undefined) this.measuring = new Map();
    const measuring = this.measuring;
    return new Promise((resolve, reject) => {
      // The PONG of this PING, not whichever comes next (the heartbeat's own PINGs are answered too).
      const timer = setTimeout(() => {
        measuring.delete(id);
        reject(new LifelineError('LIFELINE_NO_ANSWER', `no PONG within ${timeoutMs} ms`));
      }, timeoutMs);
      measuring.set(id, (ms) => {
        clearTimeout(timer);
        resolve(ms);
      });
    });
  }

  /**
   * The messages from the peer, pulled: \`for await (const message of session)\`. The session is paused
   * while the loop runs, and each message is taken when the loop asks for it, so a slow loop body holds the
   * peer back through the receive window (nothing piles up in memory). Messages it takes are not also
   * emitted as 'message'. It ends with the session ('close'); leaving the loop resumes the session.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    this.pause();
    try {
      for (;;) {
        // Nothing after 'close': what still waits was never acknowledged, and the peer reports it.
        if (this.silenced) return;
        let message: { value: T } | undefined;
        if (this.heldDeliverable) this.transact(() => this.deliverHeld((m) => (message = { value: m })));
        if (message !== undefined) {
          yield message.value;
          continue;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      this.wake = undefined;
      // Back to 'message' events — unless nobody listens: then what arrives waits for the next loop (or a
      // resume()), instead of being emitted to no one and acknowledged.
      if (this.listenerCount('message') > 0) this.resume();
    }
  }

  // ---- What its Transport calls (a TransportHandler): internal ----

  /** @internal */
  onFrame(frame: Frame, transport: Transport): void {
    if (!transport.opened && (frame.type === 'data' || frame.type === 'ack' || frame.type === 'window')) {
      transport.violation(`${frame.type.toUpperCase()} before the handshake completed`);
      return;
    }
    switch (frame.type) {
      case 'data':
        this.onFragment(frame.seq, frame.end, frame.payload, transport);
        return;
      case 'ack':
        this.acknowledge(frame.seq, transport);
        return;
      case 'window':
        if (frame.limit < transport.sendLimit) {
          transport.violation(
            `WINDOW ${frame.limit} below the earlier ${transport.sendLimit}: windows never shrink`,
          );
          return;
        }
        transport.sendLimit = frame.limit;
        this.writePending();
        this.maybeDrain();
        return;
      case 'goaway':
        // 0 says nothing (a GOAWAY before the session, or from a side that received nothing).
        if (frame.lastReceived > 0) this.acknowledge(frame.lastReceived, transport);
        return;
      default:
        this.onControlFrame(frame, transport);
    }
  }

  /**
   * One DATA fragment: counted against the window, joined to the message it continues, and the message
   * delivered (or held, while paused) at its last fragment. Every check comes before any state changes.
   */
  private onFragment(seq: number, end: boolean, payload: Buffer, transport: Transport): void {
    const length = payload.length;
    const cost = length + DATA_FRAME_COST;
    transport.received += cost;
    if (transport.received > transport.grantLimit) {
      transport.violation(
        `${transport.received} bytes of messages received where the window allowed ${transport.grantLimit}`,
        'flow-control-error',
      );
      return;
    }
    if (seq === 0) {
      transport.violation('DATA with sequence number 0 (sequence numbers start at 1)');
      return;
    }
    if (seq <= this.completedSeq) {
      // A replayed duplicate: already delivered (or waiting). Its bytes are free again at once.
      this.grant(transport);
      return;
    }
    if (seq !== this.completedSeq + 1) {
      transport.violation(`DATA ${seq} arrived where ${this.completedSeq + 1} was expected`);
      return;
    }
    const total = this.fragmentBytes + length;
    if (total > this.maxMessageSizeIn) {
      transport.violation(
        `message ${seq} passes ${this.maxMessageSizeIn} bytes, the largest this side accepts`,
        'message-too-large',
      );
      return;
    }
    const messageCost = this.fragmentCost + cost;
    if (!end) {
      if (this.fragments === undefined) this.fragments = [];
      this.fragments.push(keep(payload));
      this.fragmentBytes = total;
      this.fragmentCost = messageCost;
      this.grant(transport);
      return;
    }
    let whole = payload;
    if (this.fragments !== undefined) {
      this.fragments.push(payload);
      whole = Buffer.concat(this.fragments, total);
      this.dropFragments();
    }
    let message: T;
    if (this.codec === undefined) message = whole as T;
    else {
      try {
        message = this.codec.decode(whole);
      } catch (err) {
        transport.violation(`message ${seq} does not decode: ${(err as Error)?.message ?? String(err)}`);
        return;
      }
    }
    this.completedSeq = seq;
    this.stats.messagesIn++;
    this.stats.bytesIn += total;
    this.bytesSinceAck += total;
    if (this.pausedFlag || (this.held !== undefined && this.held.length > 0)) {
      if (this.held === undefined) this.held = [];
      this.held.push({
        message: this.codec === undefined ? (keep(whole) as T) : message,
        bytes: messageCost,
      });
      this.heldBytes += messageCost;
      this.wakeIterator();
      this.grant(transport);
      return;
    }
    this.receivedSeq = seq;
    this.announce('message', message);
    this.consumed();
  }

  /**
   * The application consumed a message: grant its bytes back to the peer when enough have gathered, and
   * acknowledge it within ACK_DELAY_MS.
   */
  private consumed(): void {
    const transport = this.transport;
    if (transport === undefined || transport.closed) return;
    this.grant(transport);
    if (this.ackTimer === undefined && this.receivedSeq > this.ackedSeq) {
      const timer = transport.clock.setTimeout(() => this.ackNow(), ACK_DELAY_MS);
      timer.unref();
      this.ackTimer = { timer, clock: transport.clock };
    }
  }

  private ackNow(): void {
    this.ackTimer = undefined;
    const transport = this.transport;
    if (transport === undefined || transport.closed) return;
    const due = this.ackDue(true);
    if (due > 0) transport.sendAck(due);
  }

  /**
   * Sends WINDOW when the peer should know of more room: a quarter of the window consumed since the last
   * grant, or any room at all once the peer has less than a quarter left (so that a message as large as the
   * window is never stuck behind a few ungranted bytes).
   */
  private grant(transport: Transport): void {
    const limit = transport.received - this.unconsumed + this.receiveWindow;
    const more = limit - transport.grantLimit;
    if (more <= 0) return;
    const quarter = this.receiveWindow / 4;
    if (more >= quarter || transport.grantLimit - transport.received < quarter) {
      transport.grantLimit = limit;
      transport.sendControl(encodeWindow(limit));
    }
  }

  /** @internal */
  onRtt(ms: number, id: number): void {
    this.rtt = ms;
    this.stats.pings++;
    this.announce('rtt', ms);
    const measured = this.measuring?.get(id);
    if (measured !== undefined) {
      this.measuring!.delete(id);
      measured(ms);
    }
  }

  /** @internal */
  ackDue(urgent: boolean): number {
    const pending = this.receivedSeq - this.ackedSeq;
    if (pending === 0 || (!urgent && pending < ACK_EVERY && this.bytesSinceAck < ACK_EVERY_BYTES)) return 0;
    this.ackedSeq = this.receivedSeq;
    this.bytesSinceAck = 0;
    return this.receivedSeq;
  }

  /** @internal */
  lastReceived(): number {
    return this.receivedSeq;
  }

  /** @internal */
  onIgnoredPong(): void {
    this.stats.pongsIgnored++;
  }

  /** @internal */
  onStall(lateMs: number): void {
    this.announce('stall', lateMs);
  }

  /** @internal */
  abstract onEnd(report: DeathReport, transport: Transport): void;

  /** @internal HELLO or WELCOME (or a frame that has no business here). */
  protected abstract onControlFrame(frame: Frame, transport: Transport): void;

  /**
   * @internal
   * Whether the peer may claim to have received up to `seq` (a HELLO's or WELCOME's `lastReceived`):
   * no more than was sent, and no less than it already acknowledged. Undefined when it may, else why not.
   */
  protected checkPeerReceived(seq: number): string | undefined {
    return resumePointProblem(seq, this.outbox.lastSeq, this.outbox.acknowledged);
  }

  /**
   * @internal
   * Attaches a connection that finished its handshake and replays what the peer has not received, before
   * anything else can be written to it: events this causes ('drain') wait for the end of the transition.
   */
  protected attach(transport: Transport, peerReceived: number): void {
    this.transport = transport;
    // Flow control starts afresh on each connection: the windows announced in its HELLO and WELCOME. A
    // message half received on the last connection is sent again whole.
    transport.sendLimit = this.peerWindow;
    transport.grantLimit = this.announcedWindow;
    this.dropFragments();
    this.acknowledge(peerReceived, transport);
    // Nothing after what the peer received is on this connection yet: it is written (again) from here.
    this.writtenSeq = Math.min(this.writtenSeq, Math.max(peerReceived, this.outbox.acknowledged));
    this.writingOffset = 0;
    this.dropUnsendable();
    this.writePending();
    this.maybeDrain();
    if (this.held !== undefined && this.held.length > 0) {
      // What waited while no connection was attached: the iterator looks again, and 'message' events
      // resume once this transition is over.
      this.wakeIterator();
      if (!this.pausedFlag) transport.clock.setImmediate(drainHeldSoon, this);
    }
  }

  private dropHeld(): void {
    this.held = undefined;
    this.heldBytes = 0;
  }

  /** A pulling iterator waiting for a message (or for the end) looks again. */
  private wakeIterator(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** A message half received on a connection that ended: its fragments are sent again whole. */
  private dropFragments(): void {
    this.fragments = undefined;
    this.fragmentBytes = 0;
    this.fragmentCost = 0;
  }

  /**
   * Writes the messages not yet written to the connection, in order, while the socket's own queue is under
   * its budget (half of maxBuffered, at least the socket's high-water mark so that 'drain' follows); the
   * rest waits in the replay buffer for the socket's 'drain'. So a peer that stops reading — even one that
   * acknowledges what it never read — holds at most maxBuffered in the replay buffer plus the budget in the
   * socket. Messages the peer acknowledged before they were written are not written: it says it has them.
   */
  private writePending(): void {
    const transport = this.transport;
    if (transport === undefined) return;
    if (this.writtenSeq < this.outbox.acknowledged) {
      this.writtenSeq = this.outbox.acknowledged;
      this.writingOffset = 0;
    }
    if (this.writtenSeq >= this.outbox.lastSeq || !transport.canWrite()) return;
    const fragmentSize = Math.min(FRAGMENT_SIZE, this.peerMaxFrame - DATA_PREFIX_LENGTH);
    // Batches (one writev each) while the kernel takes them whole; a batch it does not take waits in the
    // socket for 'drain', and what follows waits here.
    let blocked = false;
    while (!blocked && this.writtenSeq < this.outbox.lastSeq && transport.canWrite()) {
      transport.cork();
      try {
        while (this.writtenSeq < this.outbox.lastSeq && transport.canWrite()) {
          const seq = this.writtenSeq + 1;
          const payload = this.outbox.payload(seq);
          const from = this.writingOffset;
          const rest = payload.length - from;
          const room = transport.sendLimit - transport.sent - DATA_FRAME_COST;
          const length = Math.min(rest, fragmentSize, room);
          // The peer's window is too full for the rest or a fragment of MIN_FRAGMENT bytes: its WINDOW
          // frame resumes the writing (so that a message never costs more than windowFloor() allows for).
          if (room < 0 || (length < rest && length < MIN_FRAGMENT)) {
            blocked = true;
            break;
          }
          const end = from + length === payload.length;
          transport.writeFragment(seq, payload, from, length, end);
          if (end) {
            this.writtenSeq = seq;
            this.writingOffset = 0;
          } else this.writingOffset = from + length;
        }
      } finally {
        transport.uncork();
      }
    }
  }

  /**
   * Messages sent before this connection, never written, and larger than this peer accepts (it announced
   * its maxFrame only now) can never go out: they are reported unconfirmed, and those after them renumbered
   * so that the sequence stays contiguous (the peer never saw any of their numbers).
   */
  private dropUnsendable(): void {
    const limit = this.peerMaxMessage;
    const held = this.outbox.held();
    const unsent = held.filter((m) => m.seq > this.writtenSeq);
    if (!unsent.some((m) => m.payload.length > limit)) return;
    const kept = held.filter((m) => m.seq <= this.writtenSeq);
    let seq = this.writtenSeq;
    for (const m of unsent) if (m.payload.length <= limit) kept.push({ seq: ++seq, payload: m.payload });
    this.outbox = kept.length === 0 ? new Outbox(seq + 1) : Outbox.restore(seq + 1, kept);
    this.announce(
      'unconfirmed',
      unsent.filter((m) => m.payload.length > limit),
    );
  }

  /**
   * @internal
   * Starts a new session in place of one the peer no longer knows: sequence numbers restart at 1, messages
   * that may have reached the peer are reported 'unconfirmed', and those that never left are kept to send.
   */
  protected restartSession(): void {
    const held = this.outbox.drain();
    const written = this.writtenSeq;
    this.outbox = EMPTY_OUTBOX;
    this.receivedSeq = 0;
    this.completedSeq = 0;
    this.ackedSeq = 0;
    this.writtenSeq = 0;
    this.writingOffset = 0;
    // Messages of the lost session that waited for a paused application: the server already reported them
    // unconfirmed (they were never acknowledged).
    this.dropHeld();
    const unconfirmed = held.filter((m) => m.seq <= written);
    const unsent = held.filter((m) => m.seq > written);
    if (unsent.length > 0) {
      this.outbox = new Outbox();
      for (const m of unsent) this.outbox.push(m.payload);
    }
    if (unconfirmed.length > 0) this.announce('unconfirmed', unconfirmed);
  }

  /** @internal The session is over: tells the application which sent messages were never acknowledged. */
  protected reportUnconfirmed(after = 0): void {
    const unconfirmed = this.outbox.drain().filter((m) => m.seq > after);
    if (unconfirmed.length > 0) this.announce('unconfirmed', unconfirmed);
  }

  /** @internal Continues from a record: every message up to `seq` was delivered (none waits). */
  protected restoreReceived(seq: number): void {
    this.receivedSeq = seq;
    this.completedSeq = seq;
  }

  /** @internal */
  protected detach(transport: Transport): void {
    if (this.transport !== transport) return;
    this.transport = undefined;
    this.clearAckTimer();
    this.dropFragments();
  }

  private clearAckTimer(): void {
    if (this.ackTimer === undefined) return;
    this.ackTimer.clock.clearTimeout(this.ackTimer.timer);
    this.ackTimer = undefined;
  }

  /**
   * @internal
   * Runs a state change as one transition: the application events it causes are queued and emitted, in
   * order, only once it is complete (and the state consistent), so that no listener ever sees — or calls
   * back into — a half-done change. Transitions may nest; the outermost one emits.
   */
  protected transact(change: () => void): void {
    this.depth++;
    try {
      change();
    } finally {
      if (--this.depth === 0) this.flush();
    }
  }

  /** @internal Emits an application event now, or at the end of the transition under way. Nothing after 'close'. */
  protected announce<K extends keyof EndpointEvents<T>>(name: K, ...args: EndpointEvents<T>[K]): void {
    if (this.silenced) return;
    if (this.depth === 0) return this.deliver(name, args);
    if (this.queued === undefined) this.queued = [];
    this.queued.push({ name, args });
  }

  private flush(): void {
    const queued = this.queued;
    let thrown: { error: unknown } | undefined;
    while (queued !== undefined && queued.length > 0 && this.depth === 0) {
      const { name, args } = queued.shift()!;
      // A listener that throws does not keep the events after it from being delivered; its error is
      // thrown once they have been (as an exception from a listener would be anyway).
      try {
        this.deliver(name, args);
      } catch (error) {
        thrown ??= { error };
      }
    }
    if (queued !== undefined && queued.length === 0) this.queued = undefined;
    if (thrown !== undefined) throw thrown.error;
  }

  private deliver(name: keyof EndpointEvents, args: unknown[]): void {
    if (this.silenced) return;
    if (name === 'close') {
      this.silenced = true;
      this.clearAckTimer();
      // Never delivered, never acknowledged: the peer reports them 'unconfirmed'.
      this.dropHeld();
      this.wakeIterator();
    }
    (this.emit as (name: string, ...args: unknown[]) => boolean)(name, ...args);
  }

  private acknowledge(seq: number, transport: Transport): void {
    if (seq < this.outbox.acknowledged) {
      transport.violation(`ACK ${seq} after ACK ${this.outbox.acknowledged}: acknowledgements never go back`);
      return;
    }
    if (!this.outbox.ack(seq)) {
      transport.violation(`ACK ${seq} for a message never sent (last sent ${this.outbox.lastSeq})`);
      return;
    }
    this.maybeDrain();
  }

  /** @internal */
  onDrain(): void {
    this.writePending();
    this.maybeDrain();
  }

  private maybeDrain(): void {
    // No 'drain' once close() was called: nothing more may be sent.
    if (!this.needDrain || this.ended || this.outbox.bytes > this.maxBuffered / 2) return;
    if (this.transport !== undefined && this.writtenSeq < this.outbox.lastSeq) return;
    this.needDrain = false;
    this.announce('drain');
  }
}

function toBuffer(payload: Buffer | Uint8Array): Buffer {
  if (Buffer.isBuffer(payload)) return payload;
  if (payload instanceof Uint8Array)
    return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  throw new TypeError(`payload must be a Buffer, Uint8Array or string, got ${typeof payload}`);
}

function drainHeldSoon(endpoint: Endpoint<unknown>): void {
  endpoint.drainHeld();
}
