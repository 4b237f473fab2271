// watchIdle: Netty-style idle events for any net.Socket or tls.TLSSocket, lifeline's or not.
// It observes without touching the data path: no 'data' listener (which would switch a paused socket to
// flowing mode and could steal its data), no patched methods. One unref()'d timer samples the socket's byte
// counters; watching costs nothing per byte or per chunk.

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { tcpInfo } from '../keepalive/index.js';
import { IdleClock, type IdleEvent, type IdleOptions, validateIdleOptions } from './clock.js';

export type { IdleEvent, IdleKind, IdleOptions } from './clock.js';

/**
 * Activity is sampled at least this many times per shortest idle period, so an event comes at most
 * period / IDLE_SAMPLES_PER_PERIOD (plus timer lateness) after the period really elapsed, never before.
 */
export const IDLE_SAMPLES_PER_PERIOD = 4;

export interface IdleWatcher extends EventEmitter {
  /** Stops watching; emits 'close' once. Idempotent. */
  close(): void;
  readonly closed: boolean;
}

/** The counters watchIdle reads: net.Socket and tls.TLSSocket have them. */
type Counted = Pick<Socket, 'bytesRead' | 'once' | 'off' | 'destroyed'> & { bytesWritten?: number };

/**
 * Emits 'idle' (an {@link IdleEvent}) and also 'reader-idle' / 'writer-idle' / 'all-idle' when nothing was
 * read / written / either for the given time, repeated every period while the idleness lasts (`first` is
 * true for the first of a run). Stops when the socket closes or on `close()`. Time counts from this call.
 *
 * Reads are bytes the socket took from the kernel (`bytesRead`). Node reads ahead into the stream's buffer
 * even while nobody consumes it, so a read is an arrival, not the application's consumption; a socket that
 * is paused with a full buffer reads nothing and becomes reader-idle, like a Netty channel with autoRead off. For a TLSSocket both counters are
 * plaintext bytes; TLS records without application data (handshake, tickets) are not activity. Writes are
 * bytes handed to the operating system, which is close to Netty's write completion; bytes still queued in
 * the stream's buffer are not yet a write.
 */
export function watchIdle(socket: Socket, options: IdleOptions): IdleWatcher {
  const o = validateIdleOptions(options);
  if (typeof (socket as Partial<Counted> | null)?.bytesRead !== 'number') {
    throw new TypeError('watchIdle needs a net.Socket or tls.TLSSocket (a stream with a bytesRead counter)');
  }
  const periods = [o.readerIdle, o.writerIdle, o.allIdle].filter((p) => p > 0);
  return new SocketIdleWatcher(socket, o, Math.min(...periods) / IDLE_SAMPLES_PER_PERIOD);
}

class SocketIdleWatcher extends EventEmitter implements IdleWatcher {
  readonly #socket: Socket;
  readonly #clock: IdleClock;
  readonly #sampleMs: number;
  #bytesRead: number;
  #bytesWritten: number;
  #timer: NodeJS.Timeout | undefined;
  #timerMs = 0;
  #closed = false;
  readonly #onSocketClose = (): void => this.close();

  constructor(socket: Socket, options: Required<IdleOptions>, sampleMs: number) {
    super();
    this.#socket = socket;
    this.#sampleMs = sampleMs;
    this.#clock = new IdleClock(options, performance.now());
    this.#bytesRead = socket.bytesRead;
    this.#bytesWritten = bytesWritten(socket);
    if (socket.destroyed) {
      process.nextTick(() => this.close());
      return;
    }
    socket.once('close', this.#onSocketClose);
    this.#arm(performance.now());
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#socket.off('close', this.#onSocketClose);
    this.emit('close');
  }

  #tick = (): void => {
    if (this.#closed) return;
    const now = performance.now();
    const read = this.#socket.bytesRead;
    if (read !== this.#bytesRead) {
      this.#bytesRead = read;
      this.#clock.read(now);
    }
    const written = bytesWritten(this.#socket);
    if (written !== this.#bytesWritten) {
      this.#bytesWritten = written;
      this.#clock.wrote(now);
    } else if (outputMoving(this.#socket, this.#sampleMs)) this.#clock.wrote(now);
    const events = this.#clock.poll(now);
    // Re-armed before the listeners run, so that one that throws cannot stop the watcher.
    this.#arm(now);
    for (const event of events) {
      if (this.#closed) return;
      this.#emitIdle(event);
    }
  };

  #emitIdle(event: IdleEvent): void {
    this.emit('idle', event);
    this.emit(`${event.kind}-idle`, event);
  }

  /** One timer for the watcher: refresh() it when the delay is the usual one, else replace it. */
  #arm(now: number): void {
    const delayMs = Math.max(1, Math.min(this.#sampleMs, this.#clock.nextCheckAt() - now));
    if (this.#timer !== undefined && delayMs === this.#timerMs) {
      this.#timer.refresh();
      return;
    }
    clearTimeout(this.#timer);
    this.#timerMs = delayMs;
    this.#timer = setTimeout(this.#tick, delayMs);
    this.#timer.unref();
  }
}

/**
 * Bytes handed to the operating system. net.Socket keeps them in `_bytesDispatched` (undocumented, present
 * since Node 0.x) and computes the public `bytesWritten` from it plus the queued chunks, walking the whole
 * write queue on every call; the public getter is the fallback should the private field ever go.
 */
/**
 * Output queued and still moving: the kernel sent data within the last sample (TCP_INFO's last data sent).
 * A write that libuv hands to the kernel over seconds counts as writing all along, as Netty's
 * observeOutput has it; output stuck behind a closed window (only zero-window probes go out) does not.
 */
function outputMoving(socket: Socket, withinMs: number): boolean {
  const s = socket as Socket & { _handle?: { writeQueueSize?: unknown } | null };
  const queued =
    socket.writableLength > 0 ||
    (typeof s._handle?.writeQueueSize === 'number' && s._handle.writeQueueSize > 0);
  if (!queued) return false;
  try {
    const info = tcpInfo(socket);
    return info !== undefined && info.lastDataSentMs < withinMs;
  } catch {
    return false; // not a TCP socket the kernel can describe: the byte counters alone decide
  }
}

function bytesWritten(socket: Socket): number {
  // Bytes the kernel took: what Node dispatched to libuv, less what libuv still queues. While a large write
  // keeps moving into the kernel this grows, so the socket is not writer-idle (Netty's observeOutput); it
  // stops growing when output is absent or stuck (the peer's window closed).
  const s = socket as Socket & { _bytesDispatched?: unknown; _handle?: { writeQueueSize?: unknown } | null };
  const dispatched = typeof s._bytesDispatched === 'number' ? s._bytesDispatched : socket.bytesWritten;
  const queued = s._handle?.writeQueueSize;
  return typeof queued === 'number' ? dispatched - queued : dispatched;
}
