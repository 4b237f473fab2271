// A tiny real network for fault tests: this process stays in the root namespace and talks over a veth
// cable to a peer namespace made for this test run. Faults (partition, loss, pulled cable) are nftables
// rules and link state inside the peer namespace, so nothing outside this run's own cable is touched.
// See ../../../shared/TESTING.md. Never leaves a namespace behind: call destroy() in a finally/after hook.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import type { TestContext } from 'node:test';

export interface Netns {
  /** Name of the peer namespace. */
  readonly name: string;
  /** Address of this process (root namespace end of the cable). */
  readonly hostIp: string;
  /** Address of the peer namespace end of the cable. */
  readonly peerIp: string;
  /** Runs a command inside the peer namespace and returns its stdout (blocks this event loop meanwhile). */
  exec(argv: string[]): string;
  /** Starts a process inside the peer namespace. */
  spawn(argv: string[]): ChildProcess;
  /** Drops every packet in and out of the peer namespace: no FIN, no RST, only silence. */
  partition(): void;
  /** Drops `percent` % of packets at random, both ways. */
  loss(percent: number): void;
  /** Removes every fault rule. */
  heal(): void;
  /** Takes the peer's end of the cable down (or up again). */
  link(up: boolean): void;
  /** Deletes the namespace and both cable ends. Safe to call twice. */
  destroy(): void;
}

function sh(argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  for (const [tool, flag] of [
    ['ip', '-V'],
    ['nft', '-v'],
  ] as const) {
    const r = spawnSync(tool, [flag], { stdio: 'ignore' });
    if (r.error || r.status !== 0) return `${tool} is not installed (apt-get install -y iproute2 nftables)`;
  }
  return undefined;
}

/**
 * Skips the test with the reason when namespaces are unavailable — except in CI (CI=true), where a missing
 * capability is a failure, not a skip. Returns true when the test may go on.
 */
export function needNetns(t: TestContext): boolean {
  const why = netnsUnavailable();
  if (why === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`fault tests must run in CI but cannot: ${why}`);
  t.skip(`skipped: ${why}`);
  return false;
}

export function createNetns(): Netns {
  const id = `${process.pid.toString(36)}${randomInt(36 ** 3).toString(36)}`;
  const name = `ll${id}`;
  const hostIf = `llh${id}`.slice(0, 15);
  const peerIf = `llp${id}`.slice(0, 15);
  // A /30 in 10.0.0.0/8 picked at random, so that concurrent runs do not collide.
  const base = randomInt(1, 255);
  const mid = randomInt(0, 256);
  const low = randomInt(0, 64) * 4;
  const hostIp = `10.${base}.${mid}.${low + 1}`;
  const peerIp = `10.${base}.${mid}.${low + 2}`;
  let destroyed = false;

  const inNs = (argv: string[]) => sh(['ip', 'netns', 'exec', name, ...argv]);
  const nft = (rules: string) => {
    const r = spawnSync('ip', ['netns', 'exec', name, 'nft', '-f', '-'], { input: rules, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`nft failed in ${name}: ${r.stderr}`);
  };

  const ns: Netns = {
    name,
    hostIp,
    peerIp,
    exec: inNs,
    spawn(argv) {
      return spawn('ip', ['netns', 'exec', name, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    },
    partition() {
      ns.heal();
      nft(
        'table inet llfault {\n' +
          ' chain in { type filter hook input priority 0; drop; }\n' +
          ' chain out { type filter hook output priority 0; drop; }\n' +
          '}\n',
      );
    },
    loss(percent) {
      ns.heal();
      nft(
        'table inet llfault {\n' +
          ` chain in { type filter hook input priority 0; numgen random mod 100 < ${percent} drop; }\n` +
          ` chain out { type filter hook output priority 0; numgen random mod 100 < ${percent} drop; }\n` +
          '}\n',
      );
    },
    heal() {
      spawnSync('ip', ['netns', 'exec', name, 'nft', 'delete', 'table', 'inet', 'llfault'], {
        stdio: 'ignore',
      });
    },
    link(up) {
      sh(['ip', '-n', name, 'link', 'set', peerIf, up ? 'up' : 'down']);
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      spawnSync('ip', ['link', 'del', hostIf], { stdio: 'ignore' });
      spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    },
  };

  try {
    sh(['ip', 'netns', 'add', name]);
    sh(['ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', peerIf]);
    sh(['ip', 'link', 'set', peerIf, 'netns', name]);
    sh(['ip', 'addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
    sh(['ip', '-n', name, 'addr', 'add', `${peerIp}/30`, 'dev', peerIf]);
    sh(['ip', 'link', 'set', hostIf, 'up']);
    sh(['ip', '-n', name, 'link', 'set', peerIf, 'up']);
    sh(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    ns.destroy();
    throw err;
  }
  return ns;
}
