// (e) lifeline's client: connect({ interval, timeout, reconnect: false }); usable once `connected` (handshake
// done, WELCOME received).
import { loadLifeline } from './load.mjs';

const lifeline = await loadLifeline();

export function openClient({ host, port, localAddress, interval, timeout, onDeath }) {
  return new Promise((resolve, reject) => {
    let open = false;
    let closing = false;
    const client = lifeline.connect({ host, port, localAddress, interval, timeout, reconnect: false });
    client.once('connected', () => {
      open = true;
      resolve({
        close() {
          closing = true;
          client.close();
        },
      });
    });
    client.on('error', (err) => {
      if (!open) reject(err);
    });
    client.on('dead', (report) => {
      if (!open) reject(new Error(`lifeline connect failed: ${report?.cause} ${report?.detail ?? ''}`));
      else if (!closing) {
        closing = true;
        onDeath(report?.cause ?? 'dead');
      }
    });
    client.on('close', () => {
      if (!open) reject(new Error('lifeline connection closed before it was established'));
      else if (!closing) {
        closing = true;
        onDeath('closed');
      }
    });
  });
}
