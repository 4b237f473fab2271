// Where the server keeps the sessions that wait to be resumed. Behind this small interface so that a
// shared store (Redis, a database) can later let a client resume on another server of a fleet without
// touching the session logic; the default keeps records in this process's memory.

/** Everything needed to continue a session on any server: what was received, what may need replaying. */
export interface SessionRecord {
  id: string;
  /** Resume token, hex. Secret. */
  token: string;
  /** The identity authenticate() returned; a resume must present the same. */
  identity: string;
  interval: number;
  timeout: number;
  /** Highest DATA sequence number received from the client. */
  receivedSeq: number;
  /** The sequence number the server's next DATA gets. */
  nextSeq: number;
  /** Sent to the client and not acknowledged, oldest first, contiguous up to nextSeq - 1. */
  unacked: Array<{ seq: number; payload: Buffer }>;
}

/** What tells two records of one session apart: both numbers only grow while the session lives. */
export type RecordedState = Pick<SessionRecord, 'receivedSeq' | 'nextSeq'>;

/** Whether two records (or states) of one session are the same state of it. */
export function sameRecordedState(a: RecordedState, b: RecordedState): boolean {
  return a.receivedSeq === b.receivedSeq && a.nextSeq === b.nextSeq;
}

export interface SessionStore {
  /** Keeps (or replaces) the record of a session whose connection died, for `ttlMs`. */
  save(record: SessionRecord, ttlMs: number): void | Promise<void>;
  /**
   * Removes and returns the record for `token` if it belongs to `identity` (a resume claims it, so that only
   * one server can); otherwise leaves it alone and returns undefined, so a stranger cannot destroy it.
   */
  take(token: string, identity: string): SessionRecord | undefined | Promise<SessionRecord | undefined>;
  /**
   * Forgets a record: the session ended for good on this server (closed by the application, or a final
   * death). Never called when the resume window passes (the time to live given to save() does that), at
   * this server's shutdown (another server of the fleet may still resume the session), or for a copy this
   * server found superseded by another server's newer record.
   *
   * `expected` is the state this server recorded. A shared store must then delete only a record in that
   * state (compare-and-delete): a different one was saved later by another server, to which the session
   * moved, and is not this server's to forget.
   */
  delete(token: string, expected?: RecordedState): void | Promise<void>;
}

/** The default store: records in a Map, each forgotten after its time to live. */
export class MemorySessionStore implements SessionStore {
  private readonly records = new Map<string, { record: SessionRecord; timer: NodeJS.Timeout }>();

  save(record: SessionRecord, ttlMs: number): void {
    this.delete(record.token);
    const timer = setTimeout(() => this.records.delete(record.token), ttlMs);
    timer.unref();
    this.records.set(record.token, { record, timer });
  }

  take(token: string, identity: string): SessionRecord | undefined {
    const entry = this.records.get(token);
    if (entry === undefined || entry.record.identity !== identity) return undefined;
    this.delete(token);
    return entry.record;
  }

  delete(token: string, expected?: RecordedState): void {
    const entry = this.records.get(token);
    if (entry === undefined) return;
    // Saved since by another server (the session moved there): not the caller's to forget.
    if (expected !== undefined && !sameRecordedState(entry.record, expected)) return;
    clearTimeout(entry.timer);
    this.records.delete(token);
  }

  /** Records held, for tests and metrics. */
  get size(): number {
    return this.records.size;
  }
}
