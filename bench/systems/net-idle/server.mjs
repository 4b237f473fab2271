// (a) The floor: bare net.Server, connections held open, no heartbeat, nothing done per connection.
import net from 'node:net';
import { closeServer, listen, stopListening } from '../../lib/listen.mjs';

export async function createBenchServer({ host, port, backlog, onOpen, onDeath }) {
  const server = net.createServer((socket) => {
    const remote = socket.remoteAddress;
    onOpen(remote);
    socket.on('error', () => {});
    socket.on('close', () => onDeath(remote, 'closed'));
  });
  await listen(server, { host, port, backlog });
  return { close: () => closeServer(server), stopAccepting: () => stopListening(server) };
}
