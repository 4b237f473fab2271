// What a death is: the DeathReport of DESIGN.md, how socket errors map to its causes, and how the kernel's
// view of the connection (TCP_INFO) tells a hung peer from a broken network. Decides; never acts.
import type { TcpInfo } from '../keepalive/index.js';
import type { GoawayName } from '../protocol/constants.js';

export type DeathCause =
  | 'closed'
  | 'reset'
  | 'heartbeat-timeout'
  | 'keepalive-timeout'
  | 'protocol-error'
  | 'goaway'
  | 'handshake-timeout'
  | 'local';

export type Diagnosis = 'peer-unresponsive' | 'network' | 'unknown';

export interface DeathReport {
  cause: DeathCause;
  /** For heartbeat-timeout: what the kernel saw (see diagnose()). */
  diagnosis?: Diagnosis;
  /** How long nothing had been heard from the peer when the death was declared, in ms. */
  silentMs: number;
  /** Human-readable detail: the errno, the GOAWAY code and reason, the protocol violation... */
  detail?: string;
  /** The GOAWAY code name, for cause 'goaway' (sent by the peer) and for deaths this side announced. */
  goaway?: GoawayName;
}

/**
 * The peer ended the session on purpose (GOAWAY normal): a goodbye, not a death. It ends the session with
 * 'close' and no 'dead' event.
 */
export function isGoodbye(report: DeathReport): boolean {
  return report.cause === 'goaway' && report.goaway === 'normal';
}

/**
 * The GOAWAY codes after which a session cannot go on, whichever side said them (docs/PROTOCOL.md, section
 * 7): a goodbye, a broken protocol, refused credentials or version. A client does not reconnect after them,
 * so a server does not keep the session for a resume. After any other code (too-many-pings,
 * server-shutdown, internal-error...) the client reconnects and resumes, so the session waits for it.
 */
export const FINAL_GOAWAYS: ReadonlySet<GoawayName> = new Set<GoawayName>([
  'normal',
  'protocol-error',
  'frame-too-large',
  'auth-failed',
  'unsupported-version',
  'flow-control-error',
  'message-too-large',
]);

/** Whether a connection that ended so ends its session too (see FINAL_GOAWAYS); else it may be resumed. */
export function endsSession(report: DeathReport): boolean {
  return report.goaway !== undefined && FINAL_GOAWAYS.has(report.goaway);
}

/** Maps an error from a connected socket to a death cause. */
export function causeOfSocketError(err: NodeJS.ErrnoException): DeathCause {
  switch (err.code) {
    // ETIMEDOUT on an established connection: keepalive probes or TCP_USER_TIMEOUT ran out (man 7 tcp).
    case 'ETIMEDOUT':
      return 'keepalive-timeout';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return 'reset';
    default:
      return 'local';
  }
}

/**
 * How recent the peer's kernel's last ACK must be for the link to count as moving, in ms: an interval (a
 * busy sender's bytes are acknowledged every few round trips; a heartbeat's at least once per interval),
 * never more than a third of the timeout, so that a partition always shows as an old ACK by the deadline.
 */
export function ackFreshMs(interval: number, timeout: number): number {
  return Math.min(interval, Math.floor(timeout / 3));
}

/**
 * The kernel sees the ACK clock moving: bytes of ours are in flight and the peer's kernel acknowledged some
 * within `freshMs` (TCP_INFO tcpi_unacked and tcpi_last_ack_recv). Then the peer's machine is up and the
 * link carries data — slowly: a PING may still sit behind the bytes in flight, and the silence is not yet a
 * death (docs/DETECTORS.md, "A slow link is not a dead one").
 */
export function ackClockMoving(info: TcpInfo | undefined, freshMs: number): boolean {
  return info !== undefined && info.unacked > 0 && info.lastAckReceivedMs < freshMs;
}

/**
 * Why a heartbeat timed out, from the kernel's view of the socket at that moment (the rule table is in
 * docs/DETECTORS.md). A side that goes silent sends PINGs, so after `timeout` of silence there is always
 * something we sent recently:
 * - unacknowledged segments and no ACK from the peer's kernel for `freshMs`: our bytes are not reaching the
 *   peer's machine (or its ACKs are not reaching us): 'network' — a partition, a dead host, a pulled cable;
 * - everything acknowledged: the peer's kernel is alive and received it all, but its program is not
 *   answering: 'peer-unresponsive' — hung, stopped (SIGSTOP), stuck in a long pause, or a reader that
 *   stopped while we streamed to it: its window closed and only zero-window probes go out (Linux counts
 *   them in `probes` and does not renew tcpi_last_ack_recv for their answers, so they read as neither);
 * - nothing in flight but probes going out while the peer's window is open (tcpi_snd_wnd > 0, Linux 5.4+):
 *   our segments cannot even leave this host (a local firewall, an interface down): 'network';
 * - unacknowledged segments but a fresh ACK (the ACK clock still moving when the slow-link grace ran out):
 *   the peer's kernel takes our bytes and its program still does not answer: 'peer-unresponsive';
 * - without TCP_INFO (another platform, a closed fd, a socket not over TCP): 'unknown'.
 */
export function diagnose(info: TcpInfo | undefined, freshMs = 0): Diagnosis {
  if (info === undefined) return 'unknown';
  if (info.unacked > 0) return info.lastAckReceivedMs >= freshMs ? 'network' : 'peer-unresponsive';
  // Nothing in flight, yet the kernel probes with the peer's window open: our segments cannot leave this
  // host (a local firewall, an interface down), which is the network too. A stopped reader closed its window.
  if (info.probes > 0 && info.sndWnd !== undefined && info.sndWnd > 0) return 'network';
  return 'peer-unresponsive';
}
