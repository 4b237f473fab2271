// (a) The floor's client: a bare TCP connection that sends nothing.
import net from 'node:net';

export function openClient({ host, port, localAddress, onDeath }) {
  return new Promise((resolve, reject) => {
    let open = false;
    let closing = false;
    const socket = net.connect({ host, port, localAddress });
    socket.once('connect', () => {
      open = true;
      resolve({
        close() {
          closing = true;
          socket.destroy();
        },
      });
    });
    socket.on('error', (err) => {
      if (!open) reject(err);
    });
    socket.on('close', () => {
      if (open && !closing) onDeath('closed');
    });
  });
}
