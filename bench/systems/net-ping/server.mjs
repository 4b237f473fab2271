// (b) The practical limit: bare net with a hand-rolled 1-byte ping/pong. The client pings every interval;
// the server answers each chunk with one pong byte and refreshes a per-connection deadline of `timeout`
// (timeout.refresh() reuses the timer object: no allocation, one Node timer list for all connections).
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { closeServer, listen, stopListening } from '../../lib/listen.mjs';

const PONG = Buffer.from([0x50]);

export async function createBenchServer({ host, port, backlog, timeout, onOpen, onDeath }) {
  const server = net.createServer({ noDelay: true }, (socket) => {
    const remote = socket.remoteAddress;
    let heardAt = performance.now();
    let declared = false;
    const deadline = setTimeout(() => {
      declared = true;
      onDeath(remote, 'heartbeat-timeout', performance.now() - heardAt);
      socket.destroy();
    }, timeout);
    deadline.unref();
    onOpen(remote);
    socket.on('data', () => {
      heardAt = performance.now();
      deadline.refresh();
      socket.write(PONG);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(deadline);
      if (!declared) onDeath(remote, 'closed');
    });
  });
  await listen(server, { host, port, backlog });
  return { close: () => closeServer(server), stopAccepting: () => stopListening(server) };
}
