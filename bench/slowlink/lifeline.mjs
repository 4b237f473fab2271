// lifeline over the slow link, through its public API only: send() false -> wait for 'drain', 'done' back as
// a message, measureRtt() (a PING now, the RTT its PONG gives) for the round trip, every 'dead' reported.
// The client keeps its default reconnect, so a death mid-transfer is counted and the transfer still ends.
import { closeServer } from '../lib/listen.mjs';
import { timeUp } from '../lib/proc.mjs';
import { loadLifeline } from '../systems/lifeline/load.mjs';

const DONE = Buffer.from('done');

// PONGs the endpoint heard: answered ones become RTT samples ('rtt' events, from measureRtt()'s PINGs and the
// heartbeat's alike); one whose echoed time is older than `timeout` is ignored and counted, so a PING that
// waited longer than that leaves its measureRtt() without an answer.
const counters = (endpoint) => ({ rtts: endpoint.stats.pings, pongsIgnored: endpoint.stats.pongsIgnored });

/** A report as plain data for the IPC channel. */
function plain(report) {
  const { cause, diagnosis, silentMs, detail } = report ?? {};
  return { cause, diagnosis, silentMs, detail };
}

export async function sink({ host, port, interval, timeout, onMessage, onDeath }) {
  const { createServer } = await loadLifeline();
  let current;
  const server = createServer({ interval, timeout }, (session) => {
    current = session;
    session.on('message', (message) => onMessage(message.length));
    session.on('dead', (report) => onDeath(plain(report)));
  });
  server.on('error', () => {});
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('lifeline listen took over 10 s')), 10_000);
    server.listen(port, host, () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return {
    reply: () => current.send(DONE),
    rtt: (timeoutMs) =>
      current ? current.measureRtt(timeoutMs) : Promise.reject(new Error('no session yet')),
    counters: () => counters(current),
    close: () => closeServer(server),
  };
}

export async function source({ host, port, interval, timeout, onReply, onDeath }) {
  const { connect } = await loadLifeline();
  const client = connect({ host, port, interval, timeout });
  // client.ready: the first 'connected', or the error that ended the client first.
  await Promise.race([client.ready, timeUp(10_000, 'lifeline connect took over 10 s')]);
  client.on('message', () => onReply());
  client.on('dead', (report) => onDeath(plain(report)));
  client.on('error', () => {});
  return {
    send(payload) {
      if (client.send(payload)) return true;
      return new Promise((resolve) => client.once('drain', resolve));
    },
    rtt: (timeoutMs) => client.measureRtt(timeoutMs),
    counters: () => counters(client),
    close: () => client.close(),
  };
}
