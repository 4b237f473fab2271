// (c) ws with the heartbeat pattern of its README ("How to detect and close broken connections"), verbatim in
// substance: one setInterval over wss.clients; a connection whose isAlive is still false at the next tick is
// terminated, otherwise isAlive = false and ws.ping(). Detection takes one to two intervals; the pattern has
// no separate timeout.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { closeServer, listen, stopListening } from '../../lib/listen.mjs';

function heartbeat() {
  this.isAlive = true;
}

export async function createBenchServer({ host, port, backlog, interval, onOpen, onDeath }) {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  wss.on('connection', (ws, req) => {
    const remote = req.socket.remoteAddress;
    ws.isAlive = true;
    onOpen(remote);
    ws.on('error', () => {});
    ws.on('pong', heartbeat);
    ws.on('close', () => onDeath(remote, ws.terminatedByHeartbeat ? 'heartbeat-timeout' : 'closed'));
  });
  const timer = setInterval(() => {
    wss.clients.forEach((ws) => {
      if (ws.isAlive === false) {
        ws.terminatedByHeartbeat = true;
        ws.terminate(); // the README writes `return ws.terminate();`, same behaviour
        return;
      }
      ws.isAlive = false;
      ws.ping();
    });
  }, interval);
  wss.on('close', () => clearInterval(timer));
  await listen(http, { host, port, backlog });
  return {
    stopAccepting: () => stopListening(http),
    async close() {
      clearInterval(timer);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await closeServer(http);
    },
  };
}
