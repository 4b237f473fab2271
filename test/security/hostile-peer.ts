// The fuzzer's hostile peer: one raw TCP connection that does what a step tells it, valid frames and
// invalid ones, split, trickled, paused, flooded, lying about what it read, and hung up, from the
// encoder's own functions. It reads the server's frames (with the library's decoder) only to learn the
// tokens and sequence numbers it needs to lie convincingly.
import net from 'node:net';
import {
  type DecodeError,
  Decoder,
  encodeAck,
  encodeData,
  encodeGoaway,
  encodePing,
  encodePong,
  encodePreface,
  GoawayCode,
  type GoawayName,
} from '../../src/protocol/index.js';
import { hello as encodeHello } from '../helpers/peer.js';

export type Act =
  | {
      kind: 'hello';
      token: 'none' | 'known' | 'random';
      lastReceived: 'true' | 'ahead' | 'behind';
      credentials: number;
    }
  | { kind: 'data'; length: number; seq: 'next' | 'repeat' | 'skip' }
  | { kind: 'flood'; frames: number; length: number }
  | { kind: 'ack'; lie: 'true' | 'ahead' | 'zero' | 'echoed' }
  | { kind: 'ping'; count: number }
  | { kind: 'pong' }
  | { kind: 'goaway'; code: number; reason: number }
  | { kind: 'garbage'; bytes: number[] }
  | { kind: 'bad-header'; which: 'unknown-type' | 'too-large' | 'bad-length' | 'bad-token' }
  | { kind: 'preface'; version: number }
  | { kind: 'flush'; how: 'whole' | 'split' | 'trickle' }
  | { kind: 'pause' }
  | { kind: 'resume' }
  | { kind: 'wait'; ms: number }
  | { kind: 'end' }
  | { kind: 'destroy' };

const REASONS = process.env.LIFELINE_FUZZ_REASONS === '1';
/** The largest pending output trickled one byte per turn; the rest goes whole (steps must stay quick). */
const TRICKLE_MAX = 64;
/** Past this much unsent output the peer stops adding more (its own memory is not under test). */
const MAX_QUEUED = 1 << 20;

export class HostilePeer {
  private socket: net.Socket | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private decoder = new Decoder();
  private nextSeq = 1;
  /** Highest DATA seq read from the server. */
  private received = 0;
  private token: Buffer | undefined;
  /** The HELLO went out and the steps' frames wait for WELCOME (or the end). */
  private awaitingWelcome = false;
  /** Trickles and splits still being written: a step waits for them before the next write. */
  private writing: Promise<void> = Promise.resolve();
  connections = 0;
  /** GOAWAYs the server sent, by name: which defences the steps reached. */
  readonly goaways = new Map<string, number>();

  constructor(
    private readonly port: number,
    private readonly random: () => number,
  ) {}

  get open(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  /** A fresh connection: the preface is queued, the state of the last session's numbers is kept (to lie). */
  connect(): void {
    this.socket?.destroy();
    const socket = net.connect(this.port, '127.0.0.1');
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
    });
    this.socket = socket;
    this.awaitingWelcome = false;
    this.connections++;
    this.decoder = new Decoder();
    this.nextSeq = 1;
    this.pending = [];
    this.pendingBytes = 0;
    this.queue(encodePreface());
    // Mostly a proper HELLO next, so that most steps land in a session rather than before one.
    if (this.random() < 0.85) {
      const token = this.random() < 0.5 ? 'known' : 'none';
      const lastReceived = this.random() < 0.8 ? 'true' : 'ahead';
      this.queue(this.hello({ kind: 'hello', token, lastReceived, credentials: 0 }));
      // As the protocol asks, nothing more until WELCOME: most sessions get past their handshake.
      socket.write(Buffer.concat(this.pending));
      this.pending = [];
      this.pendingBytes = 0;
      this.awaitingWelcome = true;
    }
  }

  async step(act: Act): Promise<void> {
    if (!this.open) this.connect();
    switch (act.kind) {
      case 'hello':
        return this.queue(this.hello(act));
      case 'data': {
        const seq =
          act.seq === 'next'
            ? this.nextSeq++
            : act.seq === 'repeat'
              ? Math.max(1, this.nextSeq - 1)
              : this.nextSeq + 5;
        return this.queue(encodeData(seq, Buffer.alloc(act.length, 0x61)));
      }
      case 'flood':
        for (let i = 0; i < act.frames; i++)
          this.queue(encodeData(this.nextSeq++, Buffer.alloc(act.length, 0x62)));
        return;
      case 'ack': {
        // 'echoed': everything the echo will have sent back, read or not (the peer may be paused): the lie
        // that makes a server free its replay buffer while its socket's queue grows.
        const seq =
          act.lie === 'true'
            ? this.received
            : act.lie === 'zero'
              ? 0
              : act.lie === 'echoed'
                ? Math.max(this.received, this.nextSeq - 1)
                : this.received + 1 + Math.floor(this.random() * 1000);
        return this.queue(encodeAck(seq));
      }
      case 'ping':
        for (let i = 0; i < act.count; i++) this.queue(encodePing(i, 0));
        return;
      case 'pong':
        return this.queue(
          encodePong(Math.floor(this.random() * 2 ** 32), Math.floor(this.random() * 2 ** 32)),
        );
      case 'goaway': {
        const names = Object.keys(GoawayCode) as GoawayName[];
        const name = names[act.code % names.length]!;
        return this.queue(encodeGoaway(name, '\x1b[2J'.repeat(act.reason), this.received));
      }
      case 'garbage':
        return this.queue(Buffer.from(act.bytes));
      case 'bad-header':
        return this.queue(badHeader(act.which));
      case 'preface':
        return this.queue(encodePreface(act.version));
      case 'flush':
        return this.flush(act.how);
      case 'pause':
        this.socket?.pause();
        return;
      case 'resume':
        this.socket?.resume();
        return;
      case 'wait':
        await this.flush('whole');
        return new Promise((resolve) => setTimeout(resolve, act.ms));
      case 'end':
        await this.flush('whole');
        this.socket?.end();
        this.socket = undefined;
        return;
      case 'destroy':
        this.socket?.destroy();
        this.socket = undefined;
        return;
    }
  }

  /** Writes what the steps queued: in one write, in a few random pieces, or one byte per turn. */
  async flush(how: 'whole' | 'split' | 'trickle'): Promise<void> {
    await this.writing;
    const socket = this.socket;
    if (socket === undefined || this.pendingBytes === 0 || this.awaitingWelcome) return;
    const out = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    if (how === 'whole' || socket.writableLength > MAX_QUEUED) {
      socket.write(out);
      return;
    }
    const cuts =
      how === 'trickle'
        ? Array.from({ length: Math.min(out.length, TRICKLE_MAX) }, (_, i) => i + 1)
        : Array.from({ length: 1 + Math.floor(this.random() * 4) }, () =>
            Math.floor(this.random() * out.length),
          );
    const points = [...new Set([0, ...cuts, out.length])].sort((a, b) => a - b);
    this.writing = (async () => {
      for (let i = 1; i < points.length; i++) {
        if (socket.destroyed) return;
        socket.write(out.subarray(points[i - 1], points[i]));
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await this.writing;
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private queue(bytes: Buffer): void {
    if (this.pendingBytes + (this.socket?.writableLength ?? 0) > MAX_QUEUED) return;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
  }

  private hello(act: Extract<Act, { kind: 'hello' }>): Buffer {
    const token =
      act.token === 'known' && this.token !== undefined
        ? this.token
        : act.token === 'none'
          ? Buffer.alloc(0)
          : Buffer.from(Array.from({ length: 16 }, () => Math.floor(this.random() * 256)));
    const lastReceived =
      act.lastReceived === 'true' ? this.received : act.lastReceived === 'ahead' ? this.received + 1000 : 0;
    return encodeHello({ lastReceived, token, credentials: Buffer.alloc(act.credentials, 0x63) });
  }

  private read(chunk: Buffer): void {
    const error: DecodeError | undefined = this.decoder.push(chunk, (frame) => {
      if (frame.type === 'goaway') {
        // By name, or (LIFELINE_FUZZ_REASONS=1) by reason with its numbers blanked: which checks fired.
        const key = REASONS ? `${frame.name}: ${frame.reason.replace(/\d+/g, 'N').slice(0, 60)}` : frame.name;
        this.goaways.set(key, (this.goaways.get(key) ?? 0) + 1);
      }
      if (frame.type === 'welcome' || frame.type === 'goaway') this.awaitingWelcome = false;
      if (frame.type === 'welcome') {
        this.token = frame.token;
        this.received = frame.resumed ? this.received : 0;
      } else if (frame.type === 'data') this.received = Math.max(this.received, frame.seq);
    });
    if (error !== undefined) this.socket?.destroy();
  }
}

function badHeader(which: 'unknown-type' | 'too-large' | 'bad-length' | 'bad-token'): Buffer {
  switch (which) {
    case 'unknown-type':
      return Buffer.from([0x7e, 0, 0, 0, 1, 0]);
    case 'too-large':
      return Buffer.from([0x05, 0x7f, 0xff, 0xff, 0xff]);
    case 'bad-length':
      return Buffer.from([0x03, 0, 0, 0, 3, 1, 2, 3]);
    case 'bad-token': {
      const hello = Buffer.alloc(5 + 19);
      hello[0] = 0x01;
      hello.writeUInt32BE(19, 1);
      hello[5 + 18] = 7; // a 7-byte token: neither 0 nor 16
      return hello;
    }
  }
}
