// ws over the slow link: binary messages client -> server, 'done' back as a text message, and ws's own
// ping/pong (RFC 6455 control frames, which queue behind whatever ws and the kernel already hold) as the RTT.
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import WebSocket, { WebSocketServer } from 'ws';
import { closeServer, listen } from '../lib/listen.mjs';

/** One ping at a time, matched to its pong by a counter (a late pong never answers a later ping). */
function pinger(ws) {
  let next = 0;
  return (timeoutMs) =>
    new Promise((resolve, reject) => {
      const token = String(++next);
      const sentAt = performance.now();
      const onPong = (data) => {
        if (data.toString() !== token) return;
        clearTimeout(timer);
        ws.off('pong', onPong);
        resolve(performance.now() - sentAt);
      };
      const timer = setTimeout(() => {
        ws.off('pong', onPong);
        reject(Object.assign(new Error(`no pong within ${timeoutMs} ms`), { code: 'NO_ANSWER' }));
      }, timeoutMs);
      ws.on('pong', onPong);
      ws.ping(token);
    });
}

export async function sink({ host, port, onMessage, onDeath }) {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  let current;
  let rtt;
  let closing = false;
  wss.on('connection', (ws) => {
    current = ws;
    rtt = pinger(ws);
    ws.on('message', (data) => onMessage(data.length));
    ws.on('error', () => {});
    ws.on('close', () => closing || onDeath({ cause: 'closed' }));
  });
  await listen(http, { host, port, backlog: 16 });
  return {
    reply: () => current.send('done'),
    rtt: (timeoutMs) => (rtt ? rtt(timeoutMs) : Promise.reject(new Error('no connection yet'))),
    async close() {
      closing = true;
      for (const ws of wss.clients) ws.terminate();
      await closeServer(http);
    },
  };
}

// The throughput benchmark's backpressure: write until 16 KiB (net's writableHighWaterMark) is buffered, then
// wait for the write that crossed it to be flushed to the kernel.
const HIGH_WATER = 16 * 1024;

export async function source({ host, port, onReply, onDeath }) {
  const ws = new WebSocket(`ws://${host}:${port}/`, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let closing = false;
  ws.on('message', () => onReply());
  ws.on('error', () => {});
  ws.on('close', () => closing || onDeath({ cause: 'closed' }));
  return {
    send(payload) {
      if (ws.bufferedAmount < HIGH_WATER) {
        ws.send(payload);
        return true;
      }
      return new Promise((resolve) => ws.send(payload, resolve));
    },
    rtt: pinger(ws),
    close() {
      closing = true;
      ws.terminate();
    },
  };
}
