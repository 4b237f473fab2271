// The idle clock: Netty IdleStateHandler's bookkeeping as a pure class. It holds when the connection last
// read and wrote and, given `now`, says which idle events are due and when to look next.
// Pure: no sockets, no timers, no clock; the caller passes the time.

import { assertFiniteNumber, assertRange } from '../errors.js';

export interface IdleOptions {
  /** Report `reader` idleness after this many ms with nothing read. 0 or undefined: off. */
  readerIdle?: number;
  /** Report `writer` idleness after this many ms with nothing written. 0 or undefined: off. */
  writerIdle?: number;
  /** Report `all` idleness after this many ms with nothing read nor written. 0 or undefined: off. */
  allIdle?: number;
}

export type IdleKind = 'reader' | 'writer' | 'all';

export interface IdleEvent {
  kind: IdleKind;
  /** How long (ms) nothing has been read / written / either, when the event is reported. */
  idleMs: number;
  /** True for the first event of a run of idleness, false for its repetitions (Netty's FIRST_*_IDLE). */
  first: boolean;
}

const KINDS: readonly IdleKind[] = ['reader', 'writer', 'all'];
const OPTION: Record<IdleKind, keyof IdleOptions> = {
  reader: 'readerIdle',
  writer: 'writerIdle',
  all: 'allIdle',
};
/** Largest duration Node's setTimeout accepts (2^31 - 1 ms). */
const MAX_IDLE_MS = 2 ** 31 - 1;

/** Validates idle options in one place: each 0/undefined (off) or > 0 ms, and at least one on. */
export function validateIdleOptions(options: IdleOptions): Required<IdleOptions> {
  const out = { readerIdle: 0, writerIdle: 0, allIdle: 0 };
  for (const kind of KINDS) {
    const name = OPTION[kind];
    const value = options[name] ?? 0;
    assertFiniteNumber(name, value);
    assertRange(name, value, 0, MAX_IDLE_MS, 'ms');
    out[name] = value;
  }
  if (out.readerIdle === 0 && out.writerIdle === 0 && out.allIdle === 0) {
    throw new RangeError('at least one of readerIdle, writerIdle, allIdle must be greater than 0 ms');
  }
  return out;
}

export class IdleClock {
  // TypeScript's `private`, not #fields: a `#private` in the emitted .d.ts fails to compile for users whose
  // tsconfig targets ES5 (tsc's default).
  private readAt: number;
  private writeAt: number;
  /** Per kind, in KINDS order: the period (0 = off), when to look next, and whether the next event is a first. */
  private readonly periods: number[];
  private readonly dueAt: number[];
  private readonly first = [true, true, true];

  constructor(options: IdleOptions, now: number) {
    const o = validateIdleOptions(options);
    this.periods = [o.readerIdle, o.writerIdle, o.allIdle];
    this.dueAt = this.periods.map((p) => (p > 0 ? now + p : Number.POSITIVE_INFINITY));
    this.readAt = now;
    this.writeAt = now;
  }

  get lastReadAt(): number {
    return this.readAt;
  }

  get lastWriteAt(): number {
    return this.writeAt;
  }

  /** Something was read at `now`. Hot path: assignments only (the next poll reschedules, as in Netty). */
  read(now: number): void {
    this.readAt = now;
    this.first[0] = true;
    this.first[2] = true;
  }

  /** Something was written at `now`. */
  wrote(now: number): void {
    this.writeAt = now;
    this.first[1] = true;
    this.first[2] = true;
  }

  /**
   * The events due at `now`. Like Netty's idle tasks: a kind whose check time has come reports idleness if
   * nothing happened for its period and looks again one full period later, or else looks again when the
   * period since the last activity will have passed.
   */
  poll(now: number): IdleEvent[] {
    const events: IdleEvent[] = [];
    for (let i = 0; i < KINDS.length; i++) {
      const period = this.periods[i]!;
      if (period === 0 || now < this.dueAt[i]!) continue;
      const lastAt = this.lastAt(i);
      // Compared as an instant (not now - lastAt >= period) so that dueAt = lastAt + period is always enough.
      if (now >= lastAt + period) {
        events.push({ kind: KINDS[i]!, idleMs: now - lastAt, first: this.first[i]! });
        this.first[i] = false;
        this.dueAt[i] = now + period;
      } else {
        this.dueAt[i] = lastAt + period;
      }
    }
    return events;
  }

  /** When the next event could be due (a poll before then returns nothing). */
  nextCheckAt(): number {
    return Math.min(this.dueAt[0]!, this.dueAt[1]!, this.dueAt[2]!);
  }

  private lastAt(i: number): number {
    if (i === 0) return this.readAt;
    if (i === 1) return this.writeAt;
    return Math.max(this.readAt, this.writeAt);
  }
}
