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

  constructor(
    private readonly scheduler: Scheduler,
    private readonly process: SimProcess,
  ) {
    this.inner = new MemorySessionStore(scheduler.clockFor(process));
  }

  save(record: SessionRecord, ttlMs: number): void {
    this.inner.save(record, ttlMs);
  }

  take(token: string, identity: string): SessionRecord | undefined | Promise<SessionRecord | undefined> {
    if (this.takeDelayMs === 0) return this.inner.take(token, identity);
    this.pendingTakes++;
    return new Promise((resolve) => {
      this.scheduler.at(
        this.process,
        this.scheduler.now + this.takeDelayMs,
        () => {
          this.pendingTakes--;
          resolve(this.inner.take(token, identity));
        },
        'store take',
      );
    });
  }

  delete(token: string, expected?: RecordedState): void {
    this.inner.delete(token, expected);
  }

  /** The tokens of the records held now. */
  tokens(): string[] {
    // MemorySessionStore keeps its map private; the simulation needs to compare it with the servers' view.
    const records = (this.inner as unknown as { records: Map<string, unknown> }).records;
    return [...records.keys()];
  }
}
