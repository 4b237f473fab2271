// Child processes for the benchmarks: spawned with the file-descriptor soft limit raised to the hard one,
// driven by request/response messages over IPC, every wait bounded, every child killed when the runner exits.
// Never leaves a process behind: children also exit on their own when the IPC channel to the runner closes.
import { execFileSync, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const children = new Set();
let cleanupInstalled = false;

/** The hard and soft limits on open files of this process, as `ulimit` reports them. */
export function fileLimits() {
  const read = (flag) => {
    const out = execFileSync('sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).trim();
    return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out);
  };
  return { hard: read('-Hn'), soft: read('-Sn') };
}

/** The soft limit a child gets: the hard limit (the spawn raises it), as the child itself reads it. */
export function childFileLimit() {
  const out = execFileSync('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; ulimit -n'], {
    encoding: 'utf8',
  }).trim();
  return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out);
}

export function log(line) {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function installCleanup() {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      log(`${signal}: killing ${children.size} child process(es)`);
      killAll();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    log(`fatal: ${err?.stack ?? err}`);
    killAll();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    log(`fatal: ${err?.stack ?? err}`);
    killAll();
    process.exit(1);
  });
}

/** SIGKILL every child still alive (a stopped child dies too: SIGKILL needs no SIGCONT). */
export function killAll() {
  for (const child of children) killChild(child);
}

export function killChild(child) {
  if (child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  children.delete(child);
}

/**
 * Spawns `node [nodeArgs] script [args]` with an IPC channel, through `sh -c` so that the soft limit on open
 * files is first raised to the hard limit (`exec` keeps the pid, so child.pid is node's pid).
 */
export function spawnNode(script, args = [], { nodeArgs = [], name = script } = {}) {
  installCleanup();
  const child = spawn(
    'sh',
    [
      '-c',
      'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"',
      process.execPath,
      ...nodeArgs,
      script,
      ...args,
    ],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  children.add(child);
  child.on('exit', () => children.delete(child));
  return wireRpc(child, name);
}

/**
 * Gives a forked child (with an IPC channel) what rpc(), ready() and killAndWait() drive: its pending
 * requests, answered or rejected when it exits, and its log and bench events. Returns the child.
 */
export function wireRpc(child, name) {
  child.benchName = name;
  child.pending = new Map();
  child.nextId = 1;
  child.on('message', (msg) => {
    if (typeof msg?.id === 'number' && child.pending.has(msg.id)) {
      const { resolve, reject, timer } = child.pending.get(msg.id);
      child.pending.delete(msg.id);
      clearTimeout(timer);
      if (msg.ok) resolve(msg.result);
      else reject(new Error(`${name}: ${msg.error}`));
    } else if (msg?.event === 'log') {
      log(`  ${name}: ${msg.text}`);
    } else if (msg?.event) {
      child.emit('bench-event', msg);
    }
  });
  child.on('exit', (code, signal) => {
    for (const { reject, timer } of child.pending.values()) {
      clearTimeout(timer);
      reject(new Error(`${name} exited (code ${code}, signal ${signal}) before answering`));
    }
    child.pending.clear();
  });
  return child;
}

/** Sends a command and waits at most timeoutMs for its answer. */
export function rpc(child, cmd, args = {}, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const id = child.nextId++;
    const timer = setTimeout(() => {
      child.pending.delete(id);
      reject(new Error(`${child.benchName}: no answer to '${cmd}' within ${timeoutMs} ms`));
    }, timeoutMs);
    child.pending.set(id, { resolve, reject, timer });
    try {
      child.send({ id, cmd, ...args });
    } catch (err) {
      clearTimeout(timer);
      child.pending.delete(id);
      reject(err);
    }
  });
}

/** Waits for the child's first `ready` event, bounded. */
export function ready(child, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${child.benchName}: not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onEvent = (msg) => {
      if (msg.event === 'ready') {
        cleanup();
        resolve(msg);
      } else if (msg.event === 'error') {
        cleanup();
        reject(new Error(`${child.benchName}: ${msg.error}`));
      }
    };
    const onExit = (code, signal) => {
      cleanup();
      reject(new Error(`${child.benchName} exited (code ${code}, signal ${signal}) before it was ready`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('bench-event', onEvent);
      child.off('exit', onExit);
    };
    child.on('bench-event', onEvent);
    child.on('exit', onExit);
  });
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls check() every stepMs until it returns a truthy value or timeoutMs passes; returns the last value. */
export async function waitFor(check, timeoutMs, stepMs = 250) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value || performance.now() >= deadline) return value;
    await sleep(stepMs);
  }
}

/** Kills the children given, and waits (bounded) until they are gone. */
export async function killAndWait(list, timeoutMs = 5_000) {
  const waits = list.map(
    (child) =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(resolve, timeoutMs);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      }),
  );
  for (const child of list) killChild(child);
  await Promise.all(waits);
}

/** Rejects with `message` after `ms` (an unref'd timer: it never holds the process): a bound for a wait. */
export function timeUp(ms, message) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref());
}
