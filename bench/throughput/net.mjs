// Bare net with a 4-byte big-endian length prefix: the cheapest framing a message protocol can have.
import net from 'node:net';
import { closeServer, listen } from '../lib/listen.mjs';

/** Streaming decoder in the manner of ws's Receiver: keeps the chunks, copies only when a message spans two. */
export class LengthPrefixDecoder {
  constructor(onMessage) {
    this.onMessage = onMessage;
    this.chunks = [];
    this.total = 0;
    this.need = -1;
  }

  push(chunk) {
    this.chunks.push(chunk);
    this.total += chunk.length;
    for (;;) {
      if (this.need < 0) {
        if (this.total < 4) return;
        this.need = this.take(4).readUInt32BE(0);
      }
      if (this.total < this.need) return;
      const message = this.take(this.need);
      this.need = -1;
      this.onMessage(message);
    }
  }

  take(n) {
    this.total -= n;
    const first = this.chunks[0];
    if (first.length === n) return this.chunks.shift();
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const chunk = this.chunks[0];
      const len = Math.min(chunk.length, n - at);
      chunk.copy(out, at, 0, len);
      at += len;
      if (len === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(len);
    }
    return out;
  }
}

export async function sink({ host, port, onMessage }) {
  const server = net.createServer((socket) => {
    const decoder = new LengthPrefixDecoder(onMessage);
    socket.on('data', (chunk) => decoder.push(chunk));
    socket.on('error', () => {});
  });
  await listen(server, { host, port, backlog: 16 });
  return { close: () => closeServer(server) };
}

// Small messages are copied behind their header into one buffer (one write); large ones are written as
// header + payload under cork (one writev), as ws's Sender does. Returns what socket.write() returned.
const SMALL = 16 * 1024;

export function writeMessage(socket, payload) {
  if (payload.length < SMALL) {
    const frame = Buffer.allocUnsafe(4 + payload.length);
    frame.writeUInt32BE(payload.length, 0);
    payload.copy(frame, 4);
    return socket.write(frame);
  }
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(payload.length, 0);
  socket.cork();
  socket.write(header);
  const ok = socket.write(payload);
  socket.uncork();
  return ok;
}

export async function source({ host, port }) {
  const socket = net.connect({ host, port, noDelay: true });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return {
    send: (payload) =>
      writeMessage(socket, payload) || new Promise((resolve) => socket.once('drain', resolve)),
    close: () => socket.destroy(),
  };
}
