import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { within } from '../helpers/wait.js';

export { within } from '../helpers/wait.js';

export interface Pair {
  client: net.Socket;
  accepted: net.Socket;
  close(): void;
}

/** A TCP connection over loopback: both ends, connected. */
export async function tcpPair(): Promise<Pair> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await within(2000, 'listening', once(server, 'listening'));
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await within(2000, 'connect', once(client, 'connect'));
  const [socket] = await within(2000, 'connection', accepted);
  return {
    client,
    accepted: socket,
    close() {
      client.destroy();
      socket.destroy();
      server.close();
    },
  };
}

export interface TlsPair {
  client: tls.TLSSocket;
  accepted: tls.TLSSocket;
  close(): void;
}

/** A TLS connection over loopback, handshake done on both ends. */
export async function tlsPair(credentials: { key: Buffer; cert: Buffer }): Promise<TlsPair> {
  const server = tls.createServer(credentials);
  server.listen(0, '127.0.0.1');
  await within(2000, 'listening', once(server, 'listening'));
  const accepted = once(server, 'secureConnection') as Promise<[tls.TLSSocket]>;
  const client = tls.connect({
    port: (server.address() as net.AddressInfo).port,
    host: '127.0.0.1',
    ca: credentials.cert,
    servername: 'localhost',
  });
  await within(5000, 'secureConnect', once(client, 'secureConnect'));
  const [socket] = await within(5000, 'secureConnection', accepted);
  return {
    client,
    accepted: socket,
    close() {
      client.destroy();
      socket.destroy();
      server.close();
    },
  };
}

/** A listening server whose connections are kept open until close(). */
export async function server(): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const s = net.createServer((c) => {
    sockets.add(c);
    c.on('error', () => {});
  });
  s.listen(0, '127.0.0.1');
  await within(2000, 'listening', once(s, 'listening'));
  return {
    port: (s.address() as net.AddressInfo).port,
    close() {
      for (const c of sockets) c.destroy();
      s.close();
    },
  };
}
