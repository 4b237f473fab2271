// (d) client: socket.io-client over WebSocket only, one Manager per connection (forceNew), no reconnection.
import { io } from 'socket.io-client';

export function openClient({ host, port, localAddress, onDeath }) {
  return new Promise((resolve, reject) => {
    let open = false;
    let closing = false;
    const socket = io(`http://${host}:${port}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      perMessageDeflate: false,
      localAddress,
    });
    socket.once('connect', () => {
      open = true;
      resolve({
        close() {
          closing = true;
          socket.disconnect();
        },
      });
    });
    socket.on('connect_error', (err) => {
      if (!open) {
        socket.disconnect();
        reject(err);
      }
    });
    socket.on('disconnect', (reason) => {
      if (open && !closing) onDeath(reason);
    });
  });
}
