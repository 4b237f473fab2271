// (d) Socket.IO 4 (engine.io 6) over WebSocket only, pingInterval = interval, pingTimeout = timeout - interval:
// the server pings every pingInterval after the last pong and closes a socket whose pong is pingTimeout late.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { closeServer, listen, stopListening } from '../../lib/listen.mjs';

export async function createBenchServer({ host, port, backlog, interval, timeout, onOpen, onDeath }) {
  const http = createServer();
  const io = new Server(http, {
    transports: ['websocket'],
    pingInterval: interval,
    pingTimeout: timeout - interval,
    perMessageDeflate: false,
    serveClient: false,
  });
  io.on('connection', (socket) => {
    const remote = socket.conn.remoteAddress;
    onOpen(remote);
    socket.on('disconnect', (reason) =>
      onDeath(remote, reason === 'ping timeout' ? 'heartbeat-timeout' : reason),
    );
  });
  await listen(http, { host, port, backlog });
  return {
    stopAccepting: () => stopListening(http),
    async close() {
      io.close();
      await closeServer(http);
    },
  };
}
