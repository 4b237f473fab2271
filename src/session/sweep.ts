// The server's watch over healthy connections. A passive transport whose client's PINGs arrive every interval
// needs no timer of its own: one sweep per period looks at all of them together, which costs a comparison
// each instead of a Timeout object and a timer callback each (a server holds tens of thousands). A transport
// leaves the sweep for its own precise timer the moment its client is overdue, so detection is as exact as
// before: the sweep only ever says "still fine".
import { type Clock, systemClock, type Timer } from './clock.js';

export interface SweepMember {
  /** @internal position in the sweep's list; -1 when in none. Owned by the Sweep. */
  sweepIndex: number;
  /**
   * @internal
   * Called once per period while a member, with the tick's time and how late the tick ran (ms): a member
   * that is no longer healthy leaves the sweep (remove) and takes over with a timer of its own.
   */
  onSweep(now: number, lateMs: number): void;
}

export class Sweep {
  private readonly members: SweepMember[] = [];
  private timer: Timer | undefined;
  private dueAt = 0;

  constructor(
    readonly period: number,
    private readonly clock: Clock,
  ) {}

  get size(): number {
    return this.members.length;
  }

  add(member: SweepMember): void {
    if (member.sweepIndex >= 0) return;
    member.sweepIndex = this.members.length;
    this.members.push(member);
    if (this.timer === undefined) {
      this.timer = this.clock.setTimeout(onSweepTimer as (this: Timer) => void, this.period);
      (this.timer as OwnedTimer)[kSweep] = this;
      this.timer.unref(); // like every lifeline timer: the sockets, not the heartbeat, keep a process alive
      this.dueAt = this.clock.now() + this.period;
    }
  }

  /** O(1): the last member takes the leaver's place. */
  remove(member: SweepMember): void {
    const index = member.sweepIndex;
    if (index < 0 || this.members[index] !== member) return;
    const last = this.members.pop()!;
    if (last !== member) {
      this.members[index] = last;
      last.sweepIndex = index;
    }
    member.sweepIndex = -1;
    if (this.members.length === 0 && this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  tick(): void {
    const now = this.clock.now();
    const lateMs = now - this.dueAt;
    // From the last index down: a member that leaves is replaced by one already visited, and a member that
    // joins meanwhile waits for the next tick. Removals made by application code (a session closed from a
    // 'stall' listener) can at worst make a member be visited twice, which is harmless.
    for (let i = this.members.length - 1; i >= 0; i--) this.members[i]?.onSweep(now, lateMs);
    if (this.timer !== undefined) {
      this.timer.refresh();
      this.dueAt = this.clock.now() + this.period;
    }
  }
}

const sweeps = new WeakMap<Clock, Map<number, Sweep>>();

/**
 * The process-wide sweep for a period (ms) on a clock: one for every server with the same heartbeat interval.
 */
export function sweepFor(period: number, clock: Clock): Sweep {
  let byPeriod = sweeps.get(clock);
  if (byPeriod === undefined) {
    byPeriod = new Map();
    sweeps.set(clock, byPeriod);
  }
  let sweep = byPeriod.get(period);
  if (sweep === undefined) {
    sweep = new Sweep(period, clock);
    byPeriod.set(period, sweep);
  }
  return sweep;
}

/** How many transports the sweeps of `clock` watch, over all periods (for tests and diagnostics). */
export function sweepMembers(clock: Clock = systemClock): number {
  let n = 0;
  for (const sweep of sweeps.get(clock)?.values() ?? []) n += sweep.size;
  return n;
}

const kSweep = Symbol('lifeline.sweep');
type OwnedTimer = Timer & { [kSweep]: Sweep };

function onSweepTimer(this: OwnedTimer): void {
  this[kSweep].tick();
}
