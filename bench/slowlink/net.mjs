// Bare net over the slow link: the same 4-byte length-prefix framing as the throughput benchmark, one byte
// back for 'done'. No ping: TCP has none an application can time.
import net from 'node:net';
import { closeServer, listen } from '../lib/listen.mjs';
import { LengthPrefixDecoder, writeMessage } from '../throughput/net.mjs';

export async function sink({ host, port, onMessage, onDeath }) {
  let current;
  let closing = false;
  const server = net.createServer((socket) => {
    current = socket;
    const decoder = new LengthPrefixDecoder((message) => onMessage(message.length));
    socket.on('data', (chunk) => decoder.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => closing || onDeath({ cause: 'closed' }));
  });
  await listen(server, { host, port, backlog: 16 });
  return {
    reply: () => current.write(Buffer.from([1])),
    close() {
      closing = true;
      current?.destroy();
      return closeServer(server);
    },
  };
}

export async function source({ host, port, onReply, onDeath }) {
  const socket = net.connect({ host, port, noDelay: true });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let closing = false;
  socket.on('data', () => onReply());
  socket.on('error', () => {});
  socket.on('close', () => closing || onDeath({ cause: 'closed' }));
  return {
    send: (payload) =>
      writeMessage(socket, payload) || new Promise((resolve) => socket.once('drain', resolve)),
    close() {
      closing = true;
      socket.destroy();
    },
  };
}
