// The server bench/hostile.mjs attacks (run with --expose-gc): default limits but a long heartbeat
// timeout and handshake timeout, so that what an attack holds is still held when it is measured. Answers
// 'measure' with its heap + array buffers after two full collections, its RSS and its CPU time.
import { loadLifeline } from '../systems/lifeline/load.mjs';

const { createServer } = await loadLifeline();
const server = createServer({ interval: 1000, timeout: 60_000, handshakeTimeout: 60_000 });
server.on('session', (s) => s.on('message', () => {}));
process.on('message', (m) => {
  if (m !== 'measure') return;
  global.gc();
  global.gc();
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  process.send({ held: mem.heapUsed + mem.arrayBuffers, rss: mem.rss, cpuUs: cpu.user + cpu.system });
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
