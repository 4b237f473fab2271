// Real loopback sockets for the session, server and client tests: a raw protocol peer (a hand-written or
// hostile lifeline speaker built on the encoder and decoder), a raw server to play against the client, a
// TCP proxy that can cut or freeze connections (a partition on loopback without root), and bounded waits.
// Every wait here has a deadline and names what it waited for.
import { EventEmitter, once } from 'node:events';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { type ClientOptions, connect, type HeartbeatClient } from '../../src/client/client.js';
import { type DecodeError, Decoder } from '../../src/protocol/decoder.js';
import { encodeFrame, encodePreface } from '../../src/protocol/encoder.js';
import type { Frame, HelloFrame, WelcomeFrame } from '../../src/protocol/frames.js';
import { createServer, type HeartbeatServer, type ServerOptions } from '../../src/server/server.js';

export const HOST = '127.0.0.1';
export { within } from './wait.js';

import { within } from './wait.js';

/**
 * The arguments of the next `event` of `emitter`, within `ms`. Unlike events.once, an 'error' meanwhile does
 * not reject: lifeline reports failures as events, and the tests look at them one by one.
 */
export function next<T extends unknown[] = unknown[]>(
  emitter: EventEmitter,
  event: string,
  ms = 2000,
): Promise<T> {
  return within(
    ms,
    `'${event}'`,
    new Promise<T>((resolve) => emitter.once(event, (...args) => resolve(args as T))),
  );
}

/** Resolves when `predicate()` holds, re-checked on each `event` of `emitter`; bounded. */
export function until(
  emitter: EventEmitter,
  event: string,
  predicate: () => boolean,
  ms = 2000,
): Promise<void> {
  return within(
    ms,
    `'${event}' until a condition holds`,
    new Promise<void>((resolve) => {
      if (predicate()) return resolve();
      const check = () => {
        if (!predicate()) return;
        emitter.off(event, check);
        resolve();
      };
      emitter.on(event, check);
    }),
  );
}

/** A HELLO with lifeline's own defaults (new session, no proposal, 1 MiB), overridden by `fields`. */
export function hello(fields: Partial<Omit<HelloFrame, 'type'>> = {}): Buffer {
  return encodeFrame({
    type: 'hello',
    interval: 0,
    timeout: 0,
    maxFrame: 1024 * 1024,
    maxMessage: 1024 * 1024,
    window: 4 * 1024 * 1024,
    lastReceived: 0,
    token: Buffer.alloc(0),
    credentials: Buffer.alloc(0),
    ...fields,
  });
}

/** A WELCOME from a hand-written server, overridden by `fields`. */
export function welcome(fields: Partial<Omit<WelcomeFrame, 'type'>> = {}): Buffer {
  return encodeFrame({
    type: 'welcome',
    interval: 100,
    timeout: 500,
    maxFrame: 1024 * 1024,
    maxMessage: 1024 * 1024,
    window: 4 * 1024 * 1024,
    resumed: false,
    lastReceived: 0,
    token: Buffer.alloc(16, 7),
    sessionId: 'raw',
    ...fields,
  });
}

/** A frame received by a RawPeer, with the monotonic time (ms) it was decoded. */
export type Received = Frame & { at: number };

/**
 * One end of a TCP connection driven by hand: writes whatever bytes a test gives it and decodes what the
 * other end sends (which starts with a preface). Emits 'frame' for each frame and keeps every byte.
 */
export class RawPeer extends EventEmitter {
  readonly frames: Received[] = [];
  readonly chunks: Buffer[] = [];
  /** Why the other end's bytes could not be decoded, if they could not (e.g. an HTTP response). */
  decodeError: DecodeError | undefined;
  /** Monotonic time (ms) of the last write, and of 'close'. */
  lastWriteAt = 0;
  closedAt: number | undefined;
  private readonly decoder = new Decoder({ maxFrame: 0xffff_ffff });
  private readonly closing: Promise<void>;

  constructor(readonly socket: net.Socket) {
    super();
    socket.on('error', () => {}); // a reset is an outcome the tests look at, not a crash
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      if (this.decodeError === undefined) {
        this.decodeError = this.decoder.push(chunk, (frame) => {
          const received = Object.assign(frame, { at: performance.now() });
          this.frames.push(received);
          this.emit('frame', received);
        });
      }
      this.emit('bytes', chunk);
    });
    this.closing = once(socket, 'close').then(() => {
      this.closedAt = performance.now();
    });
  }

  /** Opens a TCP connection to `port` on loopback. */
  static async connect(port: number): Promise<RawPeer> {
    const socket = net.connect(port, HOST);
    await within(2000, 'a TCP connection', once(socket, 'connect'));
    return new RawPeer(socket);
  }

  write(...buffers: Buffer[]): void {
    this.lastWriteAt = performance.now();
    this.socket.write(buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers));
  }

  /** Client role: preface + HELLO, then the WELCOME (or throws on anything else). */
  async handshake(fields: Partial<Omit<HelloFrame, 'type'>> = {}): Promise<WelcomeFrame & { at: number }> {
    this.write(encodePreface(), hello(fields));
    const frame = await this.frame((f) => f.type !== 'ping' && f.type !== 'pong');
    if (frame.type !== 'welcome') throw new Error(`expected WELCOME, got ${JSON.stringify(frame)}`);
    return frame;
  }

  /** The first frame (already received or still to come) that satisfies `predicate`, within `ms`. */
  frame(predicate: (f: Received) => boolean = () => true, ms = 2000): Promise<Received> {
    const found = this.frames.find(predicate);
    if (found) return Promise.resolve(found);
    return within(
      ms,
      'a frame from the peer',
      new Promise<Received>((resolve) => {
        const check = (f: Received) => {
          if (!predicate(f)) return;
          this.off('frame', check);
          resolve(f);
        };
        this.on('frame', check);
      }),
    );
  }

  /** The GOAWAY the other end sent (already or within `ms`). */
  async goaway(ms = 2000): Promise<Extract<Frame, { type: 'goaway' }>> {
    return (await this.frame((f) => f.type === 'goaway', ms)) as Extract<Frame, { type: 'goaway' }>;
  }

  /** Resolves when the socket has closed (the other end closed or reset it), within `ms`. */
  closed(ms = 2000): Promise<void> {
    return within(ms, 'the connection to close', this.closing);
  }

  /** Every byte received so far. */
  received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  count(type: Frame['type']): number {
    return this.frames.filter((f) => f.type === type).length;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A plain TCP listener whose accepted connections are RawPeers: a hand-written server for the client. */
export class RawServer {
  readonly peers: RawPeer[] = [];
  private readonly events = new EventEmitter();
  private readonly server = net.createServer((socket) => {
    const peer = new RawPeer(socket);
    this.peers.push(peer);
    this.events.emit('peer', peer);
  });

  static async start(): Promise<RawServer> {
    const raw = new RawServer();
    raw.server.listen(0, HOST);
    await within(2000, 'the raw server to listen', once(raw.server, 'listening'));
    return raw;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** The `n`-th (0-based) connection accepted, waiting for it if need be. */
  async peer(n = 0, ms = 2000): Promise<RawPeer> {
    await until(this.events, 'peer', () => this.peers.length > n, ms);
    return this.peers[n]!;
  }

  close(): void {
    for (const p of this.peers) p.destroy();
    this.server.close();
  }
}

/**
 * A TCP proxy on loopback in front of `targetPort`: `cut()` resets every connection through it (both
 * ends see a reset), `freeze()` stops forwarding both ways while both sockets stay open (a partition in
 * which each end's kernel still acknowledges: the proxy's), `refuse` closes new connections at once.
 */
export class TcpProxy {
  refuse = false;
  private readonly pairs = new Set<{ down: net.Socket; up: net.Socket }>();
  private readonly server: net.Server;
  readonly events = new EventEmitter();
  accepted = 0;

  /** The port new connections are forwarded to (change it to send the next ones elsewhere). */
  targetPort: number;

  private constructor(targetPort: number) {
    this.targetPort = targetPort;
    this.server = net.createServer((down) => {
      down.on('error', () => {});
      if (this.refuse) {
        down.destroy();
        return;
      }
      this.accepted++;
      const up = net.connect(this.targetPort, HOST);
      up.on('error', () => {});
      const pair = { down, up };
      this.pairs.add(pair);
      forward(down, up);
      forward(up, down);
      const drop = () => {
        this.pairs.delete(pair);
        down.destroy();
        up.destroy();
      };
      down.on('close', drop);
      up.on('close', drop);
      this.events.emit('connection');
    });
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort);
    proxy.server.listen(0, HOST);
    await within(2000, 'the proxy to listen', once(proxy.server, 'listening'));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get connections(): number {
    return this.pairs.size;
  }

  /** Resets every connection through the proxy, both sides (RST, not FIN). */
  cut(): void {
    for (const { down, up } of this.pairs) {
      down.resetAndDestroy();
      up.resetAndDestroy();
    }
    this.pairs.clear();
  }

  /** Stops forwarding in both directions; the sockets stay open and unread. */
  freeze(): void {
    for (const { down, up } of this.pairs) {
      down.pause();
      up.pause();
      (down as FrozenSocket).frozen = true;
      (up as FrozenSocket).frozen = true;
    }
  }

  close(): void {
    this.cut();
    this.server.close();
  }
}

type FrozenSocket = net.Socket & { frozen?: boolean };

function forward(from: FrozenSocket, to: FrozenSocket): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => {
    if (!from.frozen) from.resume();
  });
  from.on('end', () => to.end());
}

/** A lifeline server listening on loopback, ready. */
export async function startServer(options: ServerOptions = {}): Promise<HeartbeatServer> {
  const server = createServer(options);
  server.on('error', () => {});
  server.listen(0, HOST);
  await next(server, 'listening');
  return server;
}

/** Closes a server and waits (bounded) for every connection to be gone. */
export async function stopServer(server: HeartbeatServer | undefined, ms = 3000): Promise<void> {
  if (server === undefined) return;
  await within(
    ms,
    'the server to close',
    new Promise<void>((resolve) => server.close(() => resolve())),
  ).catch(() => {});
}

/** Clients that have emitted 'close' (close() is then a no-op that emits nothing). */
// biome-ignore lint/suspicious/noExplicitAny: a client of any message type
const finished = new WeakSet<HeartbeatClient<any>>();

/** A client of `port` on loopback (no reconnect unless asked), with its 'error's collected. */
export function dial(
  port: number,
  options: Partial<ClientOptions> = {},
): HeartbeatClient & { errors: Error[] } {
  const client = connect({ host: HOST, port, reconnect: false, ...options }) as HeartbeatClient & {
    errors: Error[];
  };
  client.errors = [];
  client.on('error', (err) => client.errors.push(err));
  client.once('close', () => finished.add(client));
  return client;
}

/** Closes a client and waits (bounded) for its 'close'. */
// biome-ignore lint/suspicious/noExplicitAny: a client of any message type
export async function stopClient(client: HeartbeatClient<any> | undefined, ms = 3000): Promise<void> {
  if (client === undefined || finished.has(client)) return;
  const closed = next(client, 'close', ms);
  client.close();
  await closed.catch(() => {});
}

/** Tracks what a test opens so an after-each hook can close it all, whatever failed. */
export class Resources {
  private servers: HeartbeatServer[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: see client()
  private clients: HeartbeatClient<any>[] = [];
  private others: Array<{ close?(): void; destroy?(): void }> = [];

  server<T extends HeartbeatServer>(s: T): T {
    this.servers.push(s);
    return s;
  }

  // biome-ignore lint/suspicious/noExplicitAny: a client of any message type (codec) is closed the same way
  client<T extends HeartbeatClient<any>>(c: T): T {
    this.clients.push(c);
    return c;
  }

  other<T extends { close?(): void; destroy?(): void }>(o: T): T {
    this.others.push(o);
    return o;
  }

  async release(): Promise<void> {
    const clients = this.clients;
    const servers = this.servers;
    const others = this.others;
    this.clients = [];
    this.servers = [];
    this.others = [];
    await Promise.all(clients.map((c) => stopClient(c)));
    for (const o of others) (o.destroy ?? o.close)?.call(o);
    await Promise.all(servers.map((s) => stopServer(s)));
  }
}
