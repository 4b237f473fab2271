// Sizing and addressing: how many connections one process may hold under the file-descriptor limit, how
// they are spread over client processes, and which loopback source addresses they use.
import net from 'node:net';

/** File descriptors a process needs besides its sockets (stdio, IPC, epoll, libuv, listening socket...). */
export const FD_RESERVE = 64;

/** The most connections one process can hold under a file-descriptor limit. */
export function maxSocketsPerProcess(fdLimit) {
  return fdLimit - FD_RESERVE;
}

/**
 * Loopback source addresses, 127.x.y.z, handed out in order from a random start so that a run does not
 * reuse the ports (possibly in TIME_WAIT) of the run before it. Each address carries at most perAddress
 * connections, far below the 28 000 ephemeral ports (32768-60999) Linux gives one source address.
 */
export class AddressPool {
  constructor() {
    this.next = ((127 << 24) >>> 0) + (1 + Math.floor(Math.random() * 200)) * 65536 + 256;
  }

  take() {
    let n = this.next++;
    while ((n & 0xff) === 0 || (n & 0xff) === 255) n = this.next++;
    return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
  }
}

/** Splits n connections into per-process plans [{ address, count }], each process at most perProcess. */
export function planClients(n, { perProcess, perAddress, pool }) {
  const processes = Math.max(1, Math.ceil(n / perProcess));
  const plans = [];
  for (let p = 0; p < processes; p++) {
    let share = Math.floor(n / processes) + (p < n % processes ? 1 : 0);
    const plan = [];
    while (share > 0) {
      const count = Math.min(share, perAddress);
      plan.push({ address: pool.take(), count });
      share -= count;
    }
    plans.push(plan);
  }
  return plans;
}

/** A TCP port that was free a moment ago on host. */
export function freePort(host) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
