// The fleet's shared session store in the simulation: lifeline's MemorySessionStore on virtual time, whose
// take() can be made slow (its answer arrives `takeDelayMs` later, as from a remote store under load).
import type { SessionRecord, SessionStore } from '../../src/server/store.js';
import { MemorySessionStore, type RecordedState } from '../../src/server/store.js';
import type { Scheduler, SimProcess } from './scheduler.js';

export class SimStore implements SessionStore {
  readonly inner: MemorySessionStore;
  /** How long take() takes from now on, ms (0: it answers at once, synchronously). */
  takeDelayMs = 0;
  /** take() calls whose answer has not arrived yet. */
  pendingTakes = 0;
  /**
   * Server messages carried by a record that ran out of time without being taken or deleted: a session
   * handed over at a shutdown and never resumed. Nobody can report them (see README, Limits).
   */
  readonly orphaned = new Set<number>();
  private readonly last = new Map<string, { record: SessionRecord; settled: boolean }>();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly process: SimProcess,
  ) {
    this.inner = new MemorySessionStore(scheduler.clockFor(process));
  }

  save(record: SessionRecord, ttlMs: number): void {
    const held = this.last.get(record.token);
    if (held !== undefined && !held.settled && held.record.epoch > record.epoch)
      return this.inner.save(record, ttlMs);
    this.inner.save(record, ttlMs);
    const entry = { record, settled: false };
    this.last.set(record.token, entry);
    this.scheduler.at(
      this.process,
      this.scheduler.now + ttlMs,
      () => {
        if (this.last.get(record.token) !== entry || entry.settled) return;
        for (const m of record.unacked) this.orphaned.add(Number(m.payload.toString().slice(1)));
      },
      'store expiry watch',
    );
  }

  private settle(token: string): void {
    const entry = this.last.get(token);
    if (entry !== undefined) entry.settled = true;
  }

  take(token: string, identity: string): SessionRecord | undefined | Promise<SessionRecord | undefined> {
    if (this.takeDelayMs === 0) return this.taken(token, this.inner.take(token, identity));
    this.pendingTakes++;
    return new Promise((resolve) => {
      this.scheduler.at(
        this.process,
        this.scheduler.now + this.takeDelayMs,
        () => {
          this.pendingTakes--;
          resolve(this.taken(token, this.inner.take(token, identity)));
        },
        'store take',
      );
    });
  }

  private taken(token: string, record: SessionRecord | undefined): SessionRecord | undefined {
    if (record !== undefined) this.settle(token);
    return record;
  }

  delete(token: string, expected?: RecordedState): void {
    const before = this.inner.size;
    this.inner.delete(token, expected);
    if (this.inner.size < before) this.settle(token);
  }

  /** The tokens of the records held now. */
  tokens(): string[] {
    // MemorySessionStore keeps its map private; the simulation needs to compare it with the servers' view.
    const records = (this.inner as unknown as { records: Map<string, unknown> }).records;
    return [...records.keys()];
  }
}
