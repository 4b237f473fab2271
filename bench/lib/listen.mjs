import net from 'node:net';

// Shared by the systems' server modules: listen on host:port with a deep accept queue, bounded in time.
export function listen(server, { host, port, backlog }) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`listen on ${host}:${port} took over 10 s`)), 10_000);
    server.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    server.listen({ host, port, backlog }, () => {
      clearTimeout(timer);
      resolve(server.address().port);
    });
  });
}

/**
 * Stops accepting new connections and keeps the open ones: net.Server#close() without http.Server's override
 * (which would also close idle HTTP connections). In a node:cluster worker under SCHED_NONE this gives the
 * shared listening socket back to the other workers (server-host.mjs caps a worker's connections with it).
 */
export function stopListening(server) {
  net.Server.prototype.close.call(server, () => {});
}

/** Closes a server, bounded: resolves after at most 2 s whatever the server does. */
export function closeServer(server) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 2_000);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
