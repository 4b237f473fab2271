// ws, binary messages client -> server (so masked, as every client frame must be), no compression.
import { createServer } from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';
import { closeServer, listen } from '../lib/listen.mjs';

export async function sink({ host, port, onMessage }) {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false, maxPayload: 1024 * 1024 });
  wss.on('connection', (ws) => {
    ws.on('message', onMessage);
    ws.on('error', () => {});
  });
  await listen(http, { host, port, backlog: 16 });
  return {
    async close() {
      for (const ws of wss.clients) ws.terminate();
      await closeServer(http);
    },
  };
}

// The same backpressure as net: write until 16 KiB (net's writableHighWaterMark) is buffered, then wait for
// the write that crossed it to be flushed.
const HIGH_WATER = 16 * 1024;

export async function source({ host, port }) {
  const ws = new WebSocket(`ws://${host}:${port}/`, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    send(payload) {
      if (ws.bufferedAmount < HIGH_WATER) {
        ws.send(payload);
        return true;
      }
      return new Promise((resolve) => ws.send(payload, resolve));
    },
    close: () => ws.terminate(),
  };
}
