// (c) client: a plain ws WebSocket; it answers the server's pings by itself (autoPong) and runs no timer.
import WebSocket from 'ws';

export function openClient({ host, port, localAddress, onDeath }) {
  return new Promise((resolve, reject) => {
    let open = false;
    let closing = false;
    const ws = new WebSocket(`ws://${host}:${port}/`, { localAddress, perMessageDeflate: false });
    ws.once('open', () => {
      open = true;
      resolve({
        close() {
          closing = true;
          ws.terminate();
        },
      });
    });
    ws.on('error', (err) => {
      if (!open) reject(err);
    });
    ws.on('close', () => {
      if (open && !closing) onDeath('closed');
    });
  });
}
