// The server's sessions: found by id and by resume token, created new or continued from a stored record,
// and recorded in the store while they wait to be resumed. Never reads a socket or a frame.
import { randomBytes } from 'node:crypto';
import { TOKEN_LENGTH } from '../protocol/constants.js';
import type { Clock } from '../session/clock.js';
import type { CodecOption } from '../session/codec.js';
import type { LivenessParams } from '../session/transport.js';
import { Session, type SessionEnding, type SessionOwner } from './session.js';
import type { SessionRecord, SessionStore } from './store.js';

export interface RegistryOptions {
  store: SessionStore;
  resumeWindow: number;
  maxBuffered: number | undefined;
  /** Validated maxMessageSize and receiveWindow of every session. */
  flow: { maxMessageSize: number; receiveWindow: number };
  /** Most bytes held, in all, by the replay buffers of sessions waiting to be resumed (see ServerOptions). */
  maxDetachedBuffered: number;
  codec: CodecOption<unknown> | undefined;
  clock: Clock;
  /** A store call failed: the server reports it ('error') and goes on. */
  onStoreError(err: Error): void;
}

export class SessionRegistry implements SessionOwner {
  /** Sessions by id: open, detached or closing. */
  readonly sessions = new Map<string, Session<unknown>>();
  private readonly byToken = new Map<string, Session<unknown>>();
  /** Detached sessions, oldest first, with the bytes their replay buffer held when they detached. */
  private readonly detached = new Map<Session<unknown>, number>();
  private detachedBytes = 0;

  constructor(private readonly options: RegistryOptions) {}

  get store(): SessionStore {
    return this.options.store;
  }

  /** The session `token` resumes here, if it is held, not ending, and belongs to `identity`. */
  find(token: string, identity: string): Session<unknown> | undefined {
    const session = this.byToken.get(token);
    if (session === undefined || session.identity !== identity) return undefined;
    return session.state === 'open' || session.state === 'detached' ? session : undefined;
  }

  /** Creates a session (new, or continued from a stored record) and makes it findable. */
  create(identity: string, params: LivenessParams, record?: SessionRecord): Session<unknown> {
    let id = record?.id;
    while (id === undefined || this.sessions.has(id)) id = randomBytes(4).toString('hex');
    const token = record?.token ?? randomBytes(TOKEN_LENGTH).toString('hex');
    const { resumeWindow, maxBuffered, clock, codec, flow } = this.options;
    const session = new Session<unknown>(
      this,
      { id, identity, token, params, resumeWindow, clock },
      {
        ...(maxBuffered === undefined ? {} : { maxBuffered }),
        ...(codec === undefined ? {} : { codec }),
        ...flow,
      },
      record,
    );
    this.sessions.set(id, session);
    this.byToken.set(token, session);
    return session;
  }

  /**
   * A resume claimed `record` from the store and then could not go on (its connection dropped, the server
   * began shutting down, its HELLO was refused): the store gets it back — or, when this server holds the
   * session in a state at least as new, that state — so that the client can still resume. (Nothing claimed,
   * nothing to give back: a local copy whose record is gone either moved, or has its save still on the way.)
   */
  giveBack(record: SessionRecord | undefined, local: Session<unknown> | undefined): void {
    if (
      local !== undefined &&
      local.state === 'detached' &&
      (record === undefined || record.epoch <= local.epoch)
    )
      this.save(local);
    else if (record !== undefined)
      this.call(() => this.options.store.save(record, this.options.resumeWindow));
  }

  sessionDetached(session: Session<unknown>): void {
    if (session.state === 'detached') {
      this.release(session);
      this.detached.set(session, session.buffered);
      this.detachedBytes += session.buffered;
    }
    this.save(session);
    // Over the budget: the oldest detached sessions end as if their window ran out (what they held is
    // reported unconfirmed), the newest detached last.
    for (const oldest of this.detached.keys()) {
      if (this.detachedBytes <= this.options.maxDetachedBuffered) break;
      oldest.evict();
    }
  }

  /** A session stopped waiting (resumed, or ended): its bytes no longer count against the budget. */
  release(session: Session<unknown>): void {
    const bytes = this.detached.get(session);
    if (bytes === undefined) return;
    this.detached.delete(session);
    this.detachedBytes -= bytes;
  }

  /**
   * Makes room for a new session when maxSessions is reached: ends the oldest detached session whose client
   * never sent a byte after its WELCOME (a peer that said HELLO and vanished), as if its window ran out.
   * Returns false when there is none: every session held has a client that proved itself.
   */
  evictUnproven(): boolean {
    for (const session of this.detached.keys()) {
      if (session.proven) continue;
      session.evict();
      return true;
    }
    return false;
  }

  sessionClosed(session: Session<unknown>, ending: SessionEnding): void {
    this.release(session);
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    if (this.byToken.get(session.token) === session) this.byToken.delete(session.token);
    // A session that ended for good, or whose window ran out here, is forgotten by the store — only in the
    // epoch this server recorded (a store that rounds time to live up must not let it be resumed after its
    // 'close'): one left at a shutdown may still be resumed elsewhere, and one that moved is another's now.
    if (ending === 'ended' || ending === 'expired')
      this.call(() => this.options.store.delete(session.token, session.recordedState()));
  }

  /** Records a detached session for what is left of its resume window (the whole window when handed over). */
  private save(session: Session<unknown>): void {
    const ttl = session.state === 'detached' ? session.windowLeft() : this.options.resumeWindow;
    if (ttl <= 0) return;
    const epoch = session.epoch;
    // Once the store has it, a resume that finds no record knows another server claimed it.
    this.call(() => this.options.store.save(session.toRecord(), ttl)).then((saved) => {
      if (saved) session.landedEpoch = Math.max(session.landedEpoch, epoch);
    });
  }

  /** Runs a store call; resolves true when it succeeded (a failure is reported, never thrown). */
  private call(call: () => void | Promise<void>): Promise<boolean> {
    try {
      return Promise.resolve(call()).then(
        () => true,
        (err: unknown) => {
          this.options.onStoreError(asError(err));
          return false;
        },
      );
    } catch (err) {
      this.options.onStoreError(asError(err));
      return Promise.resolve(false);
    }
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
