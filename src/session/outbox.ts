// The replay buffer: every DATA payload sent and not yet acknowledged, in sequence order, so that a resumed
// session can replay the gap. Pure: numbers and buffers in, numbers and buffers out; bounded by its owner.

export class Outbox {
  /** Payloads of sequence numbers firstSeq, firstSeq + 1, ... (from index `head`). */
  private items: Buffer[] = NO_ITEMS; // shared until the first push: idle sessions hold no array
  private head = 0;
  /** Sequence number of items[head]. Sequence numbers start at 1 and are contiguous. */
  private firstSeq: number;
  private byteCount = 0;

  /** An empty buffer whose next message gets `nextSeq` (1 for a new session). */
  constructor(nextSeq = 1) {
    this.firstSeq = nextSeq;
  }

  /** Rebuilds a buffer from a stored record: `messages` must be contiguous and end at nextSeq - 1. */
  static restore(nextSeq: number, messages: ReadonlyArray<{ seq: number; payload: Buffer }>): Outbox {
    const outbox = new Outbox(nextSeq - messages.length);
    for (const m of messages) {
      if (outbox.push(m.payload) !== m.seq)
        throw new RangeError(`stored messages are not contiguous at seq ${m.seq}`);
    }
    return outbox;
  }

  /** Every held message, oldest first (a copy of the list; payloads are shared). */
  held(): Array<{ seq: number; payload: Buffer }> {
    const out: Array<{ seq: number; payload: Buffer }> = [];
    this.forEachAfter(0, (seq, payload) => out.push({ seq, payload }));
    return out;
  }

  /** The sequence number the next push() gets. */
  get nextSeq(): number {
    return this.firstSeq + this.items.length - this.head;
  }

  /** The highest sequence number handed out (0 when none). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** The highest sequence number acknowledged by the peer (0 when none). */
  get acknowledged(): number {
    return this.firstSeq - 1;
  }

  /** Number of unacknowledged messages. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Payload bytes held. */
  get bytes(): number {
    return this.byteCount;
  }

  /** Holds a payload until it is acknowledged; returns its sequence number. */
  push(payload: Buffer): number {
    const seq = this.nextSeq;
    if (this.items === NO_ITEMS) this.items = [];
    this.items.push(payload);
    this.byteCount += payload.length;
    return seq;
  }

  /**
   * The peer has every message up to and including `seq`. Returns false (and changes nothing) when the peer
   * acknowledges a message that was never sent: a protocol violation.
   */
  ack(seq: number): boolean {
    if (seq > this.lastSeq) return false;
    while (this.firstSeq <= seq && this.head < this.items.length) {
      this.byteCount -= this.items[this.head]!.length;
      this.items[this.head] = EMPTY;
      this.head++;
      this.firstSeq++;
    }
    // Compact now and then instead of shifting on every ack: amortised O(1).
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return true;
  }

  /** The payload of held message `seq` (firstSeq <= seq <= lastSeq). */
  payload(seq: number): Buffer {
    return this.items[this.head + seq - this.firstSeq]!;
  }

  /** Calls fn(seq, payload) for every held message after `seq`, in order. */
  forEachAfter(seq: number, fn: (seq: number, payload: Buffer) => void): void {
    const start = Math.max(this.firstSeq, seq + 1);
    for (let s = start; s <= this.lastSeq; s++) fn(s, this.items[this.head + s - this.firstSeq]!);
  }

  /** Drops everything (the session is over); returns what was never acknowledged. */
  drain(): Array<{ seq: number; payload: Buffer }> {
    if (this.items === NO_ITEMS) return []; // never pushed to (and so never written: see EMPTY_OUTBOX)
    const out = this.held();
    this.firstSeq = this.nextSeq;
    this.items = NO_ITEMS;
    this.head = 0;
    this.byteCount = 0;
    return out;
  }
}

/**
 * Whether a peer may claim to have received up to `lastReceived` (a HELLO's or WELCOME's): no more than was
 * sent, no less than it already acknowledged. Undefined when it may, else why not (a GOAWAY reason).
 */
export function resumePointProblem(
  lastReceived: number,
  lastSent: number,
  acknowledged: number,
): string | undefined {
  if (lastReceived > lastSent)
    return `lastReceived ${lastReceived} is above the last message sent (${lastSent})`;
  if (lastReceived < acknowledged)
    return `lastReceived ${lastReceived} is below what the peer already acknowledged (${acknowledged})`;
  return undefined;
}

const EMPTY = Buffer.alloc(0);
const NO_ITEMS: Buffer[] = Object.freeze([]) as unknown as Buffer[];

/**
 * The replay buffer of every endpoint that has sent nothing yet (most of a server's sessions, often): one
 * shared instance instead of one each. Never pushed to: an endpoint replaces it with its own Outbox first.
 */
export const EMPTY_OUTBOX = new Outbox();
