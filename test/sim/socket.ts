// In-memory TCP for the simulated network: a socket with the parts of net.Socket lifeline uses, whose events
// are emitted only by the scheduler (or by process.nextTick, where Node itself defers), and a link that
// carries bytes in order with latency, splits and coalesces them, holds them during a stall, and is cut by
// RST or FIN. TCP as modelled here:
// - write() queues bytes in the socket's own buffer (writableLength); they move into the link while the
//   receiver's window (bytes in flight + bytes read by the kernel but not by a paused socket) has room.
//   write() returns false once the buffer reaches the high-water mark; 'drain' follows when it is empty.
// - end() sends a FIN after the buffered bytes. A socket that reads a FIN ('end') ends its own side at once
//   (allowHalfOpen: false, as lifeline's sockets are), and a socket is closed ('close') once it has both read
//   the peer's FIN and sent its own.
// - destroy() closes at once ('close' on the next tick): buffered bytes are dropped, the peer gets a FIN
//   after the bytes already in flight, or an RST if this socket left input unread (Linux).
// - Bytes (or a FIN) reaching a destroyed socket are answered with an RST. An RST makes a socket emit 'error'
//   (ECONNRESET) and 'close'.
// - A socket reads nothing until it has a 'data' listener, and nothing while paused (the window fills up).
import { EventEmitter } from 'node:events';
import type { Network } from './network.js';
import type { SimEvent, SimProcess } from './scheduler.js';

/** Parameters of one connection, drawn per schedule. */
export interface LinkOptions {
  /** One-way latency, ms. */
  latencyMs: number;
  /** Extra random delay per write, 0 .. jitterMs ms (order is kept). */
  jitterMs: number;
  /** Bytes the receiver's kernel takes before the sender must wait (in flight + unread). */
  window: number;
  /** write() returns false when this many bytes wait in the socket's own buffer. */
  highWaterMark: number;
  /** Chance that a delivery hands over only part of the bytes ready (the rest follows as another read). */
  splitChance: number;
}

export type Misuse = { at: number; socket: string; what: string; where: string };

interface Segment {
  /** undefined: a FIN. */
  bytes: Buffer | undefined;
  readyAt: number;
}

/** One direction of a connection: bytes written by `from`, read by `to`. */
class Direction {
  readonly queue: Segment[] = [];
  queuedBytes = 0;
  private lastReadyAt = 0;
  private pending: SimEvent | undefined;
  /** A middlebox closed this direction with a FIN: whatever is written after it is answered with an RST. */
  finCut = false;
  finQueued = false;

  constructor(
    readonly link: Link,
    readonly from: SimSocket,
    readonly to: SimSocket,
    /** 'up' (client to server) or 'down'. */
    readonly way: 'up' | 'down',
  ) {}

  /** Bytes the receiver's kernel holds for this direction (the window in use). */
  get inFlight(): number {
    return this.queuedBytes + this.to.unreadBytes;
  }

  send(bytes: Buffer): void {
    if (this.link.broken) return;
    if (this.finCut) {
      this.link.net.rst(this.from);
      return;
    }
    this.queue.push({ bytes, readyAt: this.readyAt() });
    this.queuedBytes += bytes.length;
    this.schedule();
  }

  sendFin(): void {
    if (this.link.broken || this.finQueued) return;
    this.finQueued = true;
    this.queue.push({ bytes: undefined, readyAt: this.readyAt() });
    this.schedule();
  }

  clear(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private readyAt(): number {
    const net = this.link.net;
    const o = this.link.options;
    const at = Math.max(
      net.scheduler.now + o.latencyMs + Math.floor(net.random() * (o.jitterMs + 1)),
      this.lastReadyAt,
    );
    this.lastReadyAt = at;
    return at;
  }

  /** Schedules the next delivery (again, if a stall ended early: see Network.heal). */
  schedule(): void {
    const head = this.queue[0];
    if (head === undefined) return;
    const at = Math.max(head.readyAt, this.link.net.stalledUntil[this.way]);
    if (this.pending !== undefined) {
      if (this.pending.at <= at) return;
      this.pending.cancelled = true;
    }
    this.pending = this.link.net.scheduler.at(this.to.process, at, this.deliver, `deliver ${this.way}`);
  }

  private readonly deliver = (): void => {
    this.pending = undefined;
    const net = this.link.net;
    const now = net.scheduler.now;
    if (this.link.broken) return this.clear();
    if (now < net.stalledUntil[this.way]) return this.schedule();
    // Every byte that has arrived by now, coalesced into one read; sometimes split at a random byte.
    const ready: Buffer[] = [];
    let fin = false;
    while (this.queue.length > 0 && this.queue[0]!.readyAt <= now) {
      const segment = this.queue.shift()!;
      if (segment.bytes === undefined) {
        fin = true;
        break;
      }
      this.queuedBytes -= segment.bytes.length;
      ready.push(segment.bytes);
    }
    let chunk = ready.length === 1 ? ready[0]! : Buffer.concat(ready);
    if (chunk.length > 1 && net.random() < this.link.options.splitChance) {
      const cut = 1 + Math.floor(net.random() * (chunk.length - 1));
      const rest = Buffer.from(chunk.subarray(cut));
      chunk = Buffer.from(chunk.subarray(0, cut));
      if (fin) this.queue.unshift({ bytes: undefined, readyAt: now });
      this.queue.unshift({ bytes: rest, readyAt: now });
      this.queuedBytes += rest.length;
      fin = false;
    }
    if (chunk.length > 0) this.to.receive(chunk, this);
    if (fin) this.to.receiveFin(this);
    this.schedule();
  };
}

/** A connection between two sockets. */
export class Link {
  readonly up: Direction;
  readonly down: Direction;
  /** Reset: nothing more travels. */
  broken = false;

  constructor(
    readonly net: Network,
    readonly client: SimSocket,
    readonly server: SimSocket,
    readonly options: LinkOptions,
  ) {
    this.up = new Direction(this, client, server, 'up');
    this.down = new Direction(this, server, client, 'down');
    client.attach(this, this.up, this.down);
    server.attach(this, this.down, this.up);
  }

  /** Both ends are closed. */
  get done(): boolean {
    return this.client.closeEmitted && this.server.closeEmitted;
  }
}

let nextPort = 40000;

export class SimSocket extends EventEmitter {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  destroyed = false;
  readable = true;
  writable = true;
  connecting = false;
  /** 'close' was emitted. */
  closeEmitted = false;
  /** @internal */ unreadBytes = 0;
  private link: Link | undefined;
  private out: Direction | undefined;
  private in: Direction | undefined;
  private readonly wbuf: Buffer[] = [];
  private wlen = 0;
  private needDrain = false;
  private corked = 0;
  private ending = false;
  private finSent = false;
  private readEnded = false;
  /** null: no 'data' listener yet (input waits in the kernel); then as Node's readableFlowing. */
  private flowing: boolean | null = null;
  private readonly rbuf: Buffer[] = [];
  private rbufFin = false;
  private kickScheduled = false;

  constructor(
    readonly net: Network,
    readonly process: SimProcess,
    readonly label: string,
  ) {
    super();
    this.on('newListener', (event: string) => {
      if (event === 'data' && this.flowing !== false) this.resume();
    });
  }

  /** @internal */
  attach(link: Link, out: Direction, inbound: Direction): void {
    this.link = link;
    this.out = out;
    this.in = inbound;
  }

  get writableLength(): number {
    return this.wlen;
  }

  get writableNeedDrain(): boolean {
    return this.needDrain;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  setTimeout(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  address(): { address: string; port: number; family: string } {
    return { address: this.localAddress ?? '', port: this.localPort ?? 0, family: 'IPv4' };
  }

  /** @internal the connection is established on this side */
  connected(local: string, remote: string, remotePort: number): void {
    this.localAddress = local;
    this.localPort = nextPort++;
    this.remoteAddress = remote;
    this.remotePort = remotePort;
  }

  cork(): void {
    this.corked++;
  }

  uncork(): void {
    if (this.corked > 0 && --this.corked === 0) this.flush();
  }

  write(data: Buffer | Uint8Array | string, ...rest: unknown[]): boolean {
    if (rest.some((r) => typeof r === 'function')) this.net.misuse(this, 'write() with a callback');
    if (this.destroyed) return false;
    if (this.ending) {
      // Node: ERR_STREAM_WRITE_AFTER_END destroys the socket with that error.
      this.net.misuse(this, 'write() after end()');
      const err = Object.assign(new Error('write after end'), { code: 'ERR_STREAM_WRITE_AFTER_END' });
      this.destroy(err);
      return false;
    }
    const buf = Buffer.from(typeof data === 'string' ? Buffer.from(data) : data);
    this.wbuf.push(buf);
    this.wlen += buf.length;
    const ok = this.wlen < this.linkOptions.highWaterMark;
    if (!ok) this.needDrain = true;
    this.flush();
    return ok;
  }

  end(data?: Buffer | Uint8Array | string): this {
    if (this.destroyed || this.ending) return this;
    if (data !== undefined) this.write(data);
    this.ending = true;
    this.writable = false;
    this.flush();
    return this;
  }

  destroy(err?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.readable = false;
    this.writable = false;
    this.connecting = false;
    this.wbuf.length = 0;
    this.wlen = 0;
    const link = this.link;
    if (link !== undefined && !link.broken) {
      if (this.unreadBytes > 0) {
        // Linux: closing a socket with unread input sends an RST instead of a FIN.
        this.out!.clear();
        this.net.rst(this.peer!);
      } else if (!this.finSent) {
        this.finSent = true;
        this.out!.sendFin();
      }
    }
    this.unreadBytes = 0;
    this.rbuf.length = 0;
    process.nextTick(() => this.emitClose(err));
    return this;
  }

  pause(): this {
    this.flowing = false;
    return this;
  }

  resume(): this {
    if (this.flowing === true) return this;
    this.flowing = true;
    process.nextTick(() => this.flowRead());
    return this;
  }

  isPaused(): boolean {
    return this.flowing === false;
  }

  get peer(): SimSocket | undefined {
    if (this.link === undefined) return undefined;
    return this.link.client === this ? this.link.server : this.link.client;
  }

  /** @internal bytes arrive (in this socket's process) */
  receive(chunk: Buffer, from: Direction): void {
    if (this.destroyed) {
      from.clear();
      this.net.rst(from.from);
      return;
    }
    if (this.flowing !== true || this.rbuf.length > 0) {
      this.rbuf.push(chunk);
      this.unreadBytes += chunk.length;
      return;
    }
    this.emit('data', chunk);
    this.peer?.kick();
  }

  /** @internal the peer's FIN arrives */
  receiveFin(from: Direction): void {
    if (this.destroyed) {
      from.clear();
      return;
    }
    if (this.flowing !== true || this.rbuf.length > 0) {
      this.rbufFin = true;
      return;
    }
    this.readEnded = true;
    this.readable = false;
    this.emit('end');
    if (!this.ending) this.end();
    this.maybeClose();
  }

  /** @internal an RST arrives (in this socket's process) */
  reset(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.readable = false;
    this.writable = false;
    this.wbuf.length = 0;
    this.wlen = 0;
    this.rbuf.length = 0;
    this.unreadBytes = 0;
    if (this.link !== undefined) {
      this.link.broken = true;
      this.link.up.clear();
      this.link.down.clear();
    }
    const err = Object.assign(new Error('read ECONNRESET'), {
      code: 'ECONNRESET',
      errno: -104,
      syscall: 'read',
    });
    process.nextTick(() => this.emitClose(err));
  }

  /** @internal a dial failed: ECONNREFUSED */
  refuse(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.connecting = false;
    this.readable = false;
    this.writable = false;
    const err = Object.assign(new Error('connect ECONNREFUSED'), {
      code: 'ECONNREFUSED',
      errno: -111,
      syscall: 'connect',
    });
    process.nextTick(() => this.emitClose(err));
  }

  /** @internal the connection completed: 'connect' */
  established(): void {
    if (this.destroyed) return;
    this.connecting = false;
    this.emit('connect');
  }

  /** @internal the receiver read some of our bytes: more may go out (in our process) */
  kick(): void {
    if (this.wlen === 0 || this.kickScheduled || this.destroyed) return;
    this.kickScheduled = true;
    this.net.scheduler.at(
      this.process,
      this.net.scheduler.now,
      () => {
        this.kickScheduled = false;
        this.flush();
      },
      'flush',
    );
  }

  private get linkOptions(): LinkOptions {
    return this.link?.options ?? this.net.options;
  }

  /** Moves buffered bytes into the link while the peer's window has room; then the FIN, then 'drain'. */
  private flush(): void {
    if (this.destroyed || this.corked > 0) return;
    const out = this.out;
    if (out === undefined) return;
    while (this.wbuf.length > 0) {
      const room = this.linkOptions.window - out.inFlight;
      if (room <= 0) break;
      const head = this.wbuf[0]!;
      if (head.length <= room) {
        this.wbuf.shift();
        this.wlen -= head.length;
        out.send(head);
      } else {
        this.wbuf[0] = head.subarray(room);
        this.wlen -= room;
        out.send(head.subarray(0, room));
      }
    }
    if (this.wlen > 0) return;
    if (this.ending && !this.finSent) {
      this.finSent = true;
      out.sendFin();
      this.maybeClose();
    }
    if (this.needDrain) {
      process.nextTick(() => {
        if (this.needDrain && this.wlen === 0 && !this.destroyed) {
          this.needDrain = false;
          this.emit('drain');
        }
      });
    }
  }

  /** Input held while paused (or before a 'data' listener) is read now, as Node does on resume(). */
  private flowRead(): void {
    while (this.rbuf.length > 0 && this.flowing === true && !this.destroyed) {
      const chunk = this.rbuf.shift()!;
      this.unreadBytes -= chunk.length;
      this.emit('data', chunk);
    }
    if (this.destroyed || this.flowing !== true) return;
    this.peer?.kick();
    if (this.rbufFin && this.rbuf.length === 0) {
      this.rbufFin = false;
      this.receiveFin(this.in!);
    }
  }

  private maybeClose(): void {
    if (!this.readEnded || !this.finSent || this.destroyed) return;
    this.destroyed = true;
    this.readable = false;
    this.writable = false;
    process.nextTick(() => this.emitClose(undefined));
  }

  private emitClose(err: Error | undefined): void {
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    if (err !== undefined) {
      // Node would throw an 'error' nobody listens to out of the event loop: the process would crash.
      if (this.listenerCount('error') === 0)
        this.net.misuse(this, `unhandled 'error' ${(err as NodeJS.ErrnoException).code}`);
      else this.emit('error', err);
    }
    this.emit('close', err !== undefined);
    this.net.socketClosed(this);
  }
}
