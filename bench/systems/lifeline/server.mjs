// (e) lifeline's server: createServer({ interval, timeout }) from the built library; a session's `dead`
// report (or its `close` without one) is the connection's end.
import { closeServer } from '../../lib/listen.mjs';
import { loadLifeline } from './load.mjs';

// Loaded with the module, as the other systems load theirs: the code is not counted per connection.
const { createServer } = await loadLifeline();

export async function createBenchServer({ host, port, backlog, interval, timeout, onOpen, onDeath }) {
  const server = createServer({ interval, timeout }, (session) => {
    const remote = session.remoteAddress;
    let ended = false;
    onOpen(remote);
    session.on('dead', (report) => {
      if (ended) return;
      ended = true;
      onDeath(remote, report?.cause ?? 'dead', report?.silentMs);
    });
    session.on('close', () => {
      if (ended) return;
      ended = true;
      onDeath(remote, 'closed');
    });
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`lifeline listen on ${host}:${port} took over 10 s`)),
      10_000,
    );
    server.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // Like net.Server#listen: the options form carries the same accept backlog as the other systems.
    server.listen({ host, port, backlog }, () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return {
    close: () => closeServer(server),
    // close() would also end every session: stopAccepting() keeps them, so that the other workers accept.
    stopAccepting() {
      server.stopAccepting();
    },
  };
}
