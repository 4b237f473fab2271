// lifeline: client.send(payload) (numbered messages, cut into DATA fragments by protocol v2), counted as
// `message` events on the server's session.
import { closeServer } from '../lib/listen.mjs';
import { timeUp } from '../lib/proc.mjs';
import { loadLifeline } from '../systems/lifeline/load.mjs';

export async function sink({ host, port, onMessage }) {
  const { createServer } = await loadLifeline();
  const server = createServer({}, (session) => {
    session.on('message', onMessage);
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('lifeline listen took over 10 s')), 10_000);
    server.listen(port, host, () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { close: () => closeServer(server) };
}

export async function source({ host, port }) {
  const { connect } = await loadLifeline();
  const client = connect({ host, port, reconnect: false });
  // client.ready: the first 'connected', or the error that ended the client first.
  await Promise.race([client.ready, timeUp(10_000, 'lifeline connect took over 10 s')]);
  return {
    // Backpressure as the API offers it, as a user would honour it: send() returning false means wait for
    // 'drain' (the runner's loop also yields to the event loop every 10 ms).
    send(payload) {
      if (client.send(payload)) return true;
      return new Promise((resolve) => client.once('drain', resolve));
    },
    close: () => client.close(),
  };
}
