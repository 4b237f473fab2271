// Where the server keeps the sessions that wait to be resumed. Behind this small interface so that a
// shared store (Redis, a database) can later let a client resume on another server of a fleet without
// touching the session logic; the default keeps records in this process's memory.
import { type Clock, systemClock, type Timer } from '../session/clock.js';

/** Everything needed to continue a session on any server: what was received, what may need replaying. */
export interface SessionRecord {
  id: string;
  /**
   * The session's version: 1 when it is created, one more each time it continues on a new connection (on
   * any server). Of two records of one session, the one with the higher epoch is the newer; a server
   * continues from a record only when it is newer than the copy it holds.
   */
  epoch: number;
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

/** What tells two records of one session apart: its epoch (see SessionRecord). */
export type RecordedState = Pick<SessionRecord, 'epoch'>;

export interface SessionStore {
  /**
   * Keeps (or replaces) the record of a session whose connection died, for `ttlMs`. Never replaces a record
   * with an older one (a lower epoch): a late save from a server that lost the session must not undo the
   * server that has it.
   */
  save(record: SessionRecord, ttlMs: number): void | Promise<void>;
  /**
   * Removes and returns the record for `token` if it belongs to `identity` (a resume claims it, so that only
   * one server can); otherwise leaves it alone and returns undefined, so a stranger cannot destroy it.
   */
  take(token: string, identity: string): SessionRecord | undefined | Promise<SessionRecord | undefined>;
  /**
   * Forgets a record: the session ended for good on this server (closed by the application, a final death,
   * or its resume window ran out here — so that a record given back late cannot outlive the window). Never
   * called at this server's shutdown (another server of the fleet may still resume the session), or for a
   * copy this server found superseded by another server's newer record.
   *
   * `expected` is the epoch this server recorded. A shared store must then delete only a record of that
   * epoch (compare-and-delete): a newer one was saved later by another server, to which the session moved,
   * and is not this server's to forget.
   */
  delete(token: string, expected?: RecordedState): void | Promise<void>;
}

/** The default store: records in a Map, each forgotten after its time to live. */
export class MemorySessionStore implements SessionStore {
  private readonly records = new Map<string, { record: SessionRecord; timer: Timer }>();

  /** `clock`: where the time to live is measured (Node's timers by default; a simulation passes its own). */
  constructor(private readonly clock: Clock = systemClock) {}

  save(record: SessionRecord, ttlMs: number): void {
    const held = this.records.get(record.token);
    if (held !== undefined && held.record.epoch > record.epoch) return;
    this.delete(record.token);
    const timer = this.clock.setTimeout(() => this.records.delete(record.token), ttlMs);
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
    if (expected !== undefined && entry.record.epoch !== expected.epoch) return;
    this.clock.clearTimeout(entry.timer);
    this.records.delete(token);
  }

  /** Records held, for tests and metrics. */
  get size(): number {
    return this.records.size;
  }
}
