// Virtual time for the simulated network: one queue of events, each owned by a simulated process, run in
// (time, order of scheduling) order; a paused process's events wait until it resumes and then run late, as
// after a real SIGSTOP or a long GC. Never reads a real clock: a schedule replays exactly from its seed.
import type { Clock, Timer } from '../../src/session/clock.js';

/** A simulated process (client or server machine): owns timers and the delivery of its input. */
export class SimProcess {
  /** Virtual time until which nothing of this process runs. */
  pausedUntil = 0;
  constructor(readonly name: string) {}
}

export interface SimEvent {
  at: number;
  seq: number;
  owner: SimProcess;
  run: () => void;
  label: string;
  cancelled: boolean;
}

/** A timer of a simulated process, with Node's semantics: refresh() re-arms it for its delay from now. */
export class SimTimer implements Timer {
  /** @internal the pending event, undefined when not armed */
  event: SimEvent | undefined;
  constructor(
    private readonly scheduler: Scheduler,
    readonly owner: SimProcess,
    private readonly fn: (this: Timer) => void,
    readonly ms: number,
    readonly label: string,
  ) {}

  get armed(): boolean {
    return this.event !== undefined;
  }

  /** @internal */
  arm(): void {
    this.cancel();
    this.event = this.scheduler.at(this.owner, this.scheduler.now + this.ms, this.fire, this.label);
    this.scheduler.armed.add(this);
  }

  cancel(): void {
    if (this.event !== undefined) this.event.cancelled = true;
    this.event = undefined;
    this.scheduler.armed.delete(this);
  }

  private readonly fire = (): void => {
    this.event = undefined;
    this.scheduler.armed.delete(this);
    this.fn.call(this);
  };

  refresh(): this {
    this.arm();
    return this;
  }

  unref(): this {
    return this;
  }
}

/** A thrown error that escaped an event: in a real process, an uncaught exception. */
export interface Escaped {
  at: number;
  owner: string;
  label: string;
  error: unknown;
}

export class Scheduler {
  /** Virtual time, in ms. */
  now = 0;
  /** Timers armed now (a leak shows here after everything has closed). */
  readonly armed = new Set<SimTimer>();
  /** Errors thrown out of events (and so out of the application's or the library's listeners). */
  readonly escaped: Escaped[] = [];
  eventsRun = 0;
  private readonly heap: SimEvent[] = [];
  private seq = 0;

  /** Schedules `run` at virtual time `at` (not before now) on behalf of `owner`. */
  at(owner: SimProcess, at: number, run: () => void, label: string): SimEvent {
    const event: SimEvent = {
      at: Math.max(at, this.now),
      seq: this.seq++,
      owner,
      run,
      label,
      cancelled: false,
    };
    this.push(event);
    return event;
  }

  /** The Clock a process's lifeline objects see: virtual time, and timers owned by that process. */
  clockFor(owner: SimProcess): Clock {
    return {
      now: () => this.now,
      setTimeout: (fn, ms) => {
        // Node: a delay that is not a number >= 1 becomes 1.
        const delay = ms >= 1 && ms <= 0x7fff_ffff ? ms : 1;
        const timer = new SimTimer(this, owner, fn, delay, timerLabel(fn));
        timer.arm();
        return timer;
      },
      clearTimeout: (timer) => {
        if (timer instanceof SimTimer) timer.cancel();
      },
      // After everything already queued for now: input that has arrived is read first.
      setImmediate: (fn, arg) => {
        this.at(owner, this.now, () => fn(arg), `immediate ${fn.name}`);
      },
    };
  }

  /** True when nothing at all is scheduled. */
  get idle(): boolean {
    return this.heap.every((e) => e.cancelled);
  }

  /**
   * Runs every event due until virtual time `until` (or until `stop()` holds after an event), letting the
   * microtasks and process.nextTick callbacks that each event causes run before the next event, as Node
   * does between two callbacks of its event loop. `maxEvents` bounds a livelock.
   */
  async runUntil(until: number, stop?: () => boolean, maxEvents = 200_000): Promise<void> {
    await settle(); // what the caller did (a step of the schedule) has its consequences first
    for (;;) {
      const event = this.heap[0];
      if (event === undefined || event.at > until) break;
      this.pop();
      if (event.cancelled) continue;
      if (event.owner.pausedUntil > event.at) {
        // The process is paused: the event runs when it resumes, in its original order.
        event.at = event.owner.pausedUntil;
        this.push(event);
        continue;
      }
      this.now = event.at;
      this.eventsRun++;
      if (--maxEvents < 0) throw new Error(`livelock: more events than allowed before ${until} ms`);
      try {
        event.run();
      } catch (error) {
        this.escaped.push({ at: this.now, owner: event.owner.name, label: event.label, error });
      }
      await settle();
      if (stop?.()) return;
    }
    if (until !== Number.POSITIVE_INFINITY) this.now = Math.max(this.now, until);
  }

  private push(event: SimEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function timerLabel(fn: (...args: never[]) => unknown): string {
  return `timer ${fn.name || String(fn).slice(0, 60).replace(/\s+/g, ' ')}`;
}

/**
 * Lets the microtasks and nextTick callbacks queued by one event run (and those they queue in turn) before
 * the next event, as Node's event loop does between callbacks. A nextTick callback runs only once the
 * microtask queue is empty; two rounds also cover a nextTick queued by a microtask. Real setImmediate would
 * do the same at ten times the cost.
 */
export async function settle(): Promise<void> {
  await new Promise<void>((resolve) => process.nextTick(resolve));
  await new Promise<void>((resolve) => process.nextTick(resolve));
}

/** A small seeded PRNG (mulberry32): the network's choices, replayable from the schedule's seed. */
export { prng } from '../detect/arrivals.js';
