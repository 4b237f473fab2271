// Bulk transfers for the slow-link fault tests, shared by the test process and the peer it runs in a
// network namespace (bulk-peer.ts): numbered messages with content hashes, a sender that honours
// backpressure (send until false, then wait for 'drain'), and the test's handle on the peer process.
// Every wait has a deadline and names what it waited for.
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Endpoint } from '../../src/session/endpoint.js';
import { EventReader, type JsonEvent } from './cli.js';
import type { Netns } from './netns.js';

/** A message of `size` bytes: its index (u32, big-endian), then random bytes. */
export function makeMessage(index: number, size: number): Buffer {
  const m = randomBytes(Math.max(4, size));
  m.writeUInt32BE(index, 0);
  return m;
}

/** The index a message carries (see makeMessage). */
export function indexOf(message: Buffer): number {
  return message.length >= 4 ? message.readUInt32BE(0) : -1;
}

export function sha(message: Buffer): string {
  return createHash('sha256').update(message).digest('hex');
}

export interface SendProgress {
  /** Messages send() accepted. */
  sent: number;
  /** How many times send() returned false (and the sender waited for 'drain'). */
  blocked: number;
}

export interface SendOptions {
  /** Called with each message once send() accepted it. */
  onSent?(index: number, message: Buffer): void;
  /** Called each time send() returns false, before waiting for 'drain'. */
  onBlocked?(): void;
  /** The longest one wait for 'drain' may take, ms. */
  drainMs: number;
  /** Set to stop after the message being sent. */
  stopped?: () => boolean;
}

/**
 * Sends `messages` in order with backpressure: after a send() that returns false, nothing more until
 * 'drain'. Rejects if the endpoint dies or closes while it waits, or a 'drain' takes longer than drainMs.
 */
export async function sendAll(
  endpoint: Endpoint<Buffer>,
  messages: Iterable<Buffer>,
  options: SendOptions,
): Promise<SendProgress> {
  const progress: SendProgress = { sent: 0, blocked: 0 };
  for (const message of messages) {
    if (options.stopped?.()) break;
    const ok = endpoint.send(message);
    progress.sent++;
    options.onSent?.(indexOf(message), message);
    if (ok) continue;
    progress.blocked++;
    options.onBlocked?.();
    await drained(endpoint, options.drainMs);
  }
  return progress;
}

/** The next 'drain' of `endpoint`; rejects on 'dead' or 'close' first, or after `ms`. */
export function drained(endpoint: Endpoint<Buffer>, ms: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      endpoint.off('drain', onDrain);
      endpoint.off('dead', onDead);
      endpoint.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onDead = () => done(new Error("the connection died while the sender waited for 'drain'"));
    const onClose = () => done(new Error("the session closed while the sender waited for 'drain'"));
    const timer = setTimeout(() => done(new Error(`no 'drain' within ${ms} ms`)), ms);
    endpoint.on('drain', onDrain);
    endpoint.on('dead', onDead);
    endpoint.on('close', onClose);
  });
}

/** `count` messages of `size` bytes, numbered from `first`. */
export function* messages(count: number, size: number, first = 0): Generator<Buffer> {
  for (let i = first; i < first + count; i++) yield makeMessage(i, size);
}

const PEER = fileURLToPath(new URL('./bulk-peer.ts', import.meta.url));

export interface BulkPeerOptions {
  interval: number;
  timeout: number;
  /** The server session's receive window, bytes (its default otherwise). */
  receiveWindow?: number;
  /** The largest message the server session accepts, bytes (its default otherwise). */
  maxMessageSize?: number;
}

/** Commands the peer process takes on its stdin (see bulk-peer.ts). */
export type PeerCommand =
  | { cmd: 'send'; count: number; size: number }
  | { cmd: 'pause' }
  | { cmd: 'resume' }
  | { cmd: 'stats' };

/**
 * A lifeline server in the peer namespace (bulk-peer.ts, through tsx), read as JSON events (`reader`, and
 * each one emitted as 'event' when it arrives). It listens on the namespace's address; `command()` tells
 * its session what to do.
 */
export class BulkPeer extends EventEmitter<{ event: [event: JsonEvent] }> {
  private seen = 0;

  private constructor(
    readonly reader: EventReader,
    readonly port: number,
  ) {
    super();
    // The reader's own listener came first: the events of this chunk are in its list already.
    reader.child.stdout!.on('data', () => {
      const events = reader.events;
      while (this.seen < events.length) this.emit('event', events[this.seen++]!);
    });
  }

  static async start(ns: Netns, options: BulkPeerOptions): Promise<BulkPeer> {
    const argv = [
      process.execPath,
      '--import',
      'tsx',
      PEER,
      '--host',
      ns.peerIp,
      '--interval',
      String(options.interval),
      '--timeout',
      String(options.timeout),
    ];
    if (options.receiveWindow !== undefined) argv.push('--receive-window', String(options.receiveWindow));
    if (options.maxMessageSize !== undefined) argv.push('--max-message', String(options.maxMessageSize));
    const child = ns.spawn(argv);
    const reader = new EventReader(child);
    try {
      const listening = await reader.waitFor((e) => e.event === 'listening', 15_000);
      return new BulkPeer(reader, Number(listening.port));
    } catch (err) {
      await reader.stop();
      throw err;
    }
  }

  command(command: PeerCommand): void {
    this.reader.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** The events named `name` so far. */
  events(name: string) {
    return this.reader.events.filter((e) => e.event === name);
  }

  /** Asks for the session's figures and waits (bounded) for the answer. */
  async stats(ms = 5000) {
    const from = this.reader.events.length;
    this.command({ cmd: 'stats' });
    return this.reader.waitFor((e) => e.event === 'stats', ms, from);
  }

  async stop(): Promise<void> {
    await this.reader.stop();
  }
}
