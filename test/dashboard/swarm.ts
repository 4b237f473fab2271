// A crowd of hand-written lifeline clients for the dashboard's load test, run as a child process so that its
// sockets count against its own descriptor limit, not the server's: `swarm.ts PORT OPEN HUNG DETACHED`.
// First DETACHED clients shake hands and vanish (their sessions wait to be resumed: no socket left on the
// server), then OPEN clients shake hands and answer every PING, except HUNG of them, which go silent (a hung
// program whose kernel still ACKs). Prints one JSON line when all are in place, then lives until killed.
import net from 'node:net';
import { Decoder } from '../../src/protocol/decoder.js';
import { encodePong, encodePreface } from '../../src/protocol/encoder.js';
import { hello } from '../helpers/peer.js';

const [port, open, hung, detached] = process.argv.slice(2).map(Number) as [number, number, number, number];
const IN_FLIGHT = 200;
const HANDSHAKE = Buffer.concat([encodePreface(), hello()]);

/** One client: resolves once its WELCOME came; answers PINGs unless `silent`. */
function client(answer: boolean): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const decoder = new Decoder({ maxFrame: 1 << 20 });
    socket.setNoDelay(true);
    socket.on('error', reject);
    socket.on('connect', () => socket.write(HANDSHAKE));
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk, (frame) => {
        if (frame.type === 'welcome') resolve(socket);
        else if (frame.type === 'ping' && answer) socket.write(encodePong(frame.id, frame.timestamp));
      });
    });
  });
}

async function crowd(count: number, make: (i: number) => Promise<net.Socket>): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) sockets.push(await make(next++));
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker));
  return sockets;
}

const started = performance.now();
for (const s of await crowd(detached, () => client(true))) s.destroy();
const hungPorts: number[] = [];
const kept = await crowd(open, async (i) => {
  const socket = await client(i >= hung);
  if (i < hung) hungPorts.push(socket.localPort!);
  return socket;
});
console.log(
  JSON.stringify({ ready: kept.length, detached, hungPorts, ms: Math.round(performance.now() - started) }),
);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
