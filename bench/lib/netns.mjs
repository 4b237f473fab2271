// A slow link for benchmarks: two network namespaces of this run joined by a veth cable, each end shaped by
// the token-bucket filter (tc tbf), so both directions are slow; and node children started inside them.
// Must never leave a namespace behind: destroy() is safe to call twice and runs from the runner's 'exit'.
// See ../../../shared/TESTING.md (tbf works here, netem does not) and test/helpers/netns.ts.
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import { wireRpc } from './proc.mjs';

const execFileAsync = promisify(execFile);

function sh(argv) {
  return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why a slow link cannot be made here, or undefined when it can. */
export function netnsUnavailable() {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  for (const [tool, flag] of [
    ['ip', '-V'],
    ['tc', '-V'],
  ]) {
    const r = spawnSync(tool, [flag], { stdio: 'ignore' });
    if (r.error || r.status !== 0) return `${tool} is not installed (apt-get install -y iproute2)`;
  }
  return undefined;
}

/** A tc rate ("1mbit", "256kbit", "2mbps"...) in bits per second, as tc reads it (k = 1000, not 1024). */
export function rateBits(rate) {
  const m = /^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)$/i.exec(rate);
  if (!m) throw new RangeError(`rate '${rate}' is not a tc rate such as 1mbit or 256kbit`);
  const unit = m[2].toLowerCase();
  const scale = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, bps: 8, kbps: 8e3, mbps: 8e6, gbps: 8e9 }[unit];
  return Number(m[1]) * scale;
}

/**
 * Creates namespaces `slowa<id>` (end a) and `slowb<id>` (end b) joined by a veth cable on a random /30 in
 * 10.0.0.0/8, both ends up, loopback up. No shaping until shape() is called.
 */
export function createLink() {
  const id = `${process.pid.toString(36)}${randomInt(36 ** 3).toString(36)}`;
  const ends = ['a', 'b'].map((side) => ({ ns: `slow${side}${id}`, dev: `sl${side}${id}`.slice(0, 15) }));
  const base = randomInt(1, 255);
  const mid = randomInt(0, 256);
  const low = randomInt(0, 64) * 4;
  ends[0].ip = `10.${base}.${mid}.${low + 1}`;
  ends[1].ip = `10.${base}.${mid}.${low + 2}`;
  let destroyed = false;

  const link = {
    a: ends[0],
    b: ends[1],
    /**
     * Shapes both directions (each end's egress) to the same tbf. A new qdisc each time (deleted, then
     * added): an empty queue and counters from zero ('replace' would keep the old counters).
     */
    shape({ rate, burst, latency }) {
      for (const end of ends) {
        const tc = ['ip', 'netns', 'exec', end.ns, 'tc', 'qdisc'];
        spawnSync(tc[0], [...tc.slice(1), 'del', 'dev', end.dev, 'root'], { stdio: 'ignore' });
        sh([...tc, 'add', 'dev', end.dev, 'root', 'tbf', 'rate', rate, 'burst', burst, 'latency', latency]);
      }
    },
    /** `tc -s qdisc` of both ends: what tbf sent, dropped and held back. */
    qdiscStats() {
      return Object.fromEntries(
        ends.map((end) => [
          end.ns,
          sh(['ip', 'netns', 'exec', end.ns, 'tc', '-s', 'qdisc', 'show', 'dev', end.dev]),
        ]),
      );
    },
    /**
     * The kernel's state of the TCP connection to `port` in namespace `ns` (`ss -tin`), or undefined when
     * there is none: `sendQ` every byte written and not yet acknowledged (what a new write waits behind in
     * the kernel), `notsent` the part not yet sent, `unacked` segments in flight, `cwnd`, the smoothed
     * `rttMs`, and the congestion control `cc`.
     */
    async tcpState(ns, port) {
      const { stdout } = await execFileAsync('ip', [
        'netns',
        'exec',
        ns,
        'ss',
        '-tinH',
        'dport',
        '=',
        `:${port}`,
      ]);
      const [head, info = ''] = stdout.split('\n');
      const fields = head.trim().split(/\s+/);
      if (fields[0] !== 'ESTAB') return undefined;
      const num = (re) => Number(re.exec(info)?.[1] ?? 0);
      return {
        sendQ: Number(fields[2]),
        notsent: num(/\bnotsent:(\d+)/),
        unacked: num(/\bunacked:(\d+)/),
        cwnd: num(/\bcwnd:(\d+)/),
        rttMs: num(/\brtt:([\d.]+)\//),
        cc: info.trim().split(/\s+/)[0],
      };
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      // Deleting a namespace deletes the veth end inside it, and with it the other end.
      for (const end of ends) spawnSync('ip', ['netns', 'del', end.ns], { stdio: 'ignore' });
    },
  };

  try {
    for (const end of ends) sh(['ip', 'netns', 'add', end.ns]);
    sh(['ip', 'link', 'add', ends[0].dev, 'type', 'veth', 'peer', 'name', ends[1].dev]);
    for (const end of ends) {
      sh(['ip', 'link', 'set', end.dev, 'netns', end.ns]);
      sh(['ip', '-n', end.ns, 'addr', 'add', `${end.ip}/30`, 'dev', end.dev]);
      sh(['ip', '-n', end.ns, 'link', 'set', end.dev, 'up']);
      sh(['ip', '-n', end.ns, 'link', 'set', 'lo', 'up']);
    }
  } catch (err) {
    link.destroy();
    throw err;
  }
  return link;
}

/**
 * Starts `node script args` inside namespace `ns` (`ip netns exec` execs node in its own process, so
 * child.pid is node's) with an IPC channel that proc.mjs's rpc(), ready() and killAndWait() drive, as they
 * drive spawnNode()'s children. The caller kills it (killAndWait), and it exits by itself when the runner's
 * IPC channel closes (child.mjs).
 */
export function spawnNodeIn(ns, script, args = [], { name = script } = {}) {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return wireRpc(child, name);
}
