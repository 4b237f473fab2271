// The heartbeat of one established connection, as a pure core: what was heard and pinged when, and given
// `now`, what to do — PING, declare the peer dead, or look again at a given time. No sockets, no timers, no
// clock: the Transport passes the time and carries out the decision (after Netty's IdleStateHandler, which
// stores the last read and computes the remainder when its task fires).
import {
  createDetector,
  type Detector,
  type DetectorState,
  fatalSilenceAt,
  silenceIsFatal,
} from '../detect/index.js';
import type { DetectorKind } from './options.js';

export interface LivenessParams {
  interval: number;
  timeout: number;
  detector: DetectorKind;
  phiThreshold: number | undefined;
  maxPingsPerInterval: number;
  /**
   * 'active' (the client): sends a PING when it has heard nothing for `interval`.
   * 'passive' (the server): answers, and sends a PING of its own only after 1.5 intervals of silence, so
   * that on a healthy link only the client pings and the server's own PINGs serve as the probe whose
   * acknowledgement (or not) tells a hung peer from a broken network.
   * 'off': no PINGs and no heartbeat death (PINGs are still answered): kernel keepalive alone watches.
   */
  mode: 'active' | 'passive' | 'off';
  /**
   * Passive side: at most this often (ms), answer a PING with a PONG *and* a PING of its own, so that the
   * server measures round-trip times too without pinging every interval. 0 = never.
   */
  rttSampleEvery?: number;
}

/** PING wake-ups are rounded up to this many ms, so that thousands of connections share few timer lists. */
export const PING_QUANTUM_MS = 8;

/** What the heartbeat asks for at a given moment. */
export type Beat = 'ping' | 'dead' | 'wait';

export class Heartbeat {
  readonly params: LivenessParams;
  /** Whether the peer was heard at all since the heartbeat started (it has its WELCOME, or HELLO's answer). */
  heardSinceStart = false;
  /** When the peer was last heard (ms); at first, when the session was established. */
  lastHeardAt: number;
  lastPingAt = Number.NEGATIVE_INFINITY;
  /**
   * When this side last wrote anything to the peer (ms); at first, when the session was established. A side
   * that only listens — the receiver of a bulk transfer, busy hearing the peer — still PINGs after its own
   * silence: the peer, whose PINGs may wait behind its own data, hears it over the idle direction.
   */
  lastSentAt: number;
  /** After a stall of this process, no death is declared before this time (see check()). */
  private graceUntil = 0;
  /** The phi detector's state; the deadline detector needs nothing but lastHeardAt. */
  private readonly detector: Detector | undefined;

  /** Starts the clock at `now`: the peer's silence counts from here. */
  constructor(params: LivenessParams, now: number) {
    this.params = params;
    this.lastHeardAt = now;
    this.lastSentAt = now;
    if (params.detector !== 'deadline') {
      this.detector = createDetector(
        params.detector,
        {
          interval: params.interval,
          timeout: params.timeout,
          ...(params.phiThreshold === undefined ? {} : { threshold: params.phiThreshold }),
        },
        now,
      );
      this.detector.heard(now);
    }
  }

  /** Something arrived from the peer: the only work on the per-frame path. */
  heard(now: number): void {
    this.lastHeardAt = now;
    this.heardSinceStart = true;
    this.detector?.heard(now);
  }

  /** A PING went out at `now` (its write counts as sent(), as every write does). */
  pinged(now: number): void {
    this.lastPingAt = now;
  }

  /** Something went out to the peer at `now` (a frame, a batch of DATA). */
  sent(now: number): void {
    this.lastSentAt = now;
  }

  /**
   * What the next PING is counted from: the older of the peer's last word and ours (each side is heard at
   * least once per pingAfter, and hears at least that often), or the last PING if later.
   */
  private get quietSince(): number {
    return Math.max(Math.min(this.lastHeardAt, this.lastSentAt), this.lastPingAt);
  }

  /** After this much silence (ms) this side PINGs: the client after one interval, the server after 1.5. */
  get pingAfter(): number {
    return this.params.mode === 'active' ? this.params.interval : this.params.interval * 1.5;
  }

  /** The detector's verdict; the deadline detector's rule applied to lastHeardAt. */
  isDead(now: number): boolean {
    if (this.detector !== undefined) return this.detector.isDead(now);
    return silenceIsFatal(this.lastHeardAt, this.params.timeout, now);
  }

  /** The earliest time at which isDead() holds if nothing more is heard, never before a stall's grace. */
  deadAt(now: number): number {
    const at =
      this.detector !== undefined
        ? this.detector.deadlineAt(now)
        : fatalSilenceAt(this.lastHeardAt, this.params.timeout, now);
    return Math.max(at, this.graceUntil);
  }

  /** Detector state for display ('phi' value or time left). */
  state(now: number): DetectorState {
    if (this.detector !== undefined) return this.detector.state(now);
    return {
      kind: 'deadline',
      silentMs: Math.max(0, now - this.lastHeardAt),
      leftMs: this.deadAt(now) - now,
    };
  }

  /**
   * The passive side on a healthy link: the client's PINGs arrive every interval and the deadline is more
   * than one PING period away, so no precise wake-up is needed (a sweep can watch it).
   */
  healthy(now: number): boolean {
    return (
      this.params.mode === 'passive' &&
      now - this.lastHeardAt < this.params.interval &&
      now - this.lastSentAt < this.params.interval &&
      this.deadAt(now) - now > this.pingAfter
    );
  }

  /**
   * What is due at `now`, `lateMs` after the wake-up that asked: 'dead' (the caller confirms after reading
   * pending input), 'ping', or 'wait' (until wakeAt()). A wake-up more than an interval late means this
   * process was stalled past a PING it owed: the peer had no chance to answer it, so it gets a PING now and
   * one interval of grace instead of a death.
   */
  check(now: number, lateMs: number): Beat {
    if (this.params.mode === 'off') return 'wait';
    if (this.isDead(now) && now >= this.graceUntil) {
      const { interval } = this.params;
      if (lateMs > interval && now - this.lastPingAt > interval) {
        this.graceUntil = now + interval;
        return 'ping';
      }
      return 'dead';
    }
    return now - this.quietSince >= this.pingAfter - PING_QUANTUM_MS ? 'ping' : 'wait';
  }

  /**
   * How long (ms, a whole number ≥ 1) until the next look, after check(): the detector's deadline exactly,
   * or the next PING due rounded up to PING_QUANTUM_MS, so that many connections share few of Node's
   * per-duration timer lists. Infinity with mode 'off'.
   */
  wakeIn(now: number): number {
    if (this.params.mode === 'off') return Number.POSITIVE_INFINITY;
    const deadAt = this.deadAt(now);
    const pingAt = this.quietSince + this.pingAfter;
    if (deadAt <= pingAt) return Math.max(1, Math.ceil(deadAt - now));
    return Math.max(1, Math.ceil((pingAt - now) / PING_QUANTUM_MS) * PING_QUANTUM_MS);
  }
}
