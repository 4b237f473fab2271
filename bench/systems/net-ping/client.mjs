// (b) client: writes one byte every interval (start jittered over one interval, so that N clients do not
// ping in lockstep) and holds the same deadline on the server's pongs.
import net from 'node:net';

const PING = Buffer.from([0x70]);

export function openClient({ host, port, localAddress, interval, timeout, onDeath }) {
  return new Promise((resolve, reject) => {
    let open = false;
    let closing = false;
    let pinger;
    let deadline;
    const socket = net.connect({ host, port, localAddress, noDelay: true });
    const stop = () => {
      clearTimeout(pinger);
      clearInterval(pinger);
      clearTimeout(deadline);
    };
    socket.once('connect', () => {
      open = true;
      pinger = setTimeout(() => {
        socket.write(PING);
        pinger = setInterval(() => socket.write(PING), interval);
      }, Math.random() * interval);
      deadline = setTimeout(() => {
        onDeath('heartbeat-timeout');
        closing = true;
        socket.destroy();
      }, timeout);
      resolve({
        close() {
          closing = true;
          stop();
          socket.destroy();
        },
      });
    });
    socket.on('data', () => deadline.refresh());
    socket.on('error', (err) => {
      if (!open) reject(err);
    });
    socket.on('close', () => {
      stop();
      if (open && !closing) onDeath('closed');
    });
  });
}
