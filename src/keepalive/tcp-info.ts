// The kernel's own view of a connection (Linux TCP_INFO): what the heartbeat layer uses to tell a hung
// peer program from a dead network. Reads only, never throws for a socket that is gone: undefined instead.
import type * as net from 'node:net';
import { endianness } from 'node:os';
import { TCP_STATES } from './constants.js';
import { ffi, readTcpInfo, TCP_INFO_BUFFER } from './ffi.js';
import { assertSocket, socketFd, tcpOwner } from './socket.js';

/**
 * A decoded struct tcp_info (include/uapi/linux/tcp.h). Durations are milliseconds: the kernel's
 * microseconds (rtt, rttvar, rto, ato) become fractional ms; the ages are how long ago, in ms.
 */
export interface TcpInfo {
  /** TCP state by name, e.g. 'ESTABLISHED' (include/net/tcp_states.h). */
  state: string;
  /** The same state as the kernel's number (1 = ESTABLISHED). */
  stateCode: number;
  /** Congestion-avoidance state: 0 open, 1 disorder, 2 CWR, 3 recovery, 4 loss. */
  caState: number;
  /** Retransmissions of the current segment without an ACK (the RTO backoff count). */
  retransmits: number;
  /** Zero-window or keepalive probes sent without an answer. */
  probes: number;
  /** Exponential backoff of the retransmission timer. */
  backoff: number;
  /** Current retransmission timeout, ms. */
  rto: number;
  /** Delayed-ACK timeout, ms. */
  ato: number;
  sndMss: number;
  rcvMss: number;
  /** Segments sent and not yet acknowledged: above 0 on a silent connection means the network ate them. */
  unacked: number;
  sacked: number;
  /** Segments the kernel considers lost. */
  lost: number;
  /** Segments retransmitted and not yet acknowledged. */
  retrans: number;
  /** Age of the last data sent, ms. */
  lastDataSentMs: number;
  /** Age of the last data received, ms. */
  lastDataReceivedMs: number;
  /** Age of the last ACK received, ms: a peer whose kernel still ACKs keeps this small. */
  lastAckReceivedMs: number;
  pmtu: number;
  /** Smoothed round-trip time, ms. */
  rtt: number;
  /** Round-trip time variation, ms. */
  rttvar: number;
  sndSsthresh: number;
  sndCwnd: number;
  reordering: number;
  /** Retransmissions over the connection's life. */
  totalRetrans: number;
  /** Bytes written and not yet sent (Linux 4.6+; undefined on older kernels). */
  notsentBytes?: number;
  /**
   * The peer's receive window as last advertised, bytes (Linux 5.4+; undefined on older kernels): 0 for a
   * peer that stopped reading.
   */
  sndWnd?: number;
}

/** Bytes up to and including tcpi_total_retrans: the layout of Linux 2.6.10 onwards. */
const MIN_TCP_INFO = 104;
const LITTLE = endianness() === 'LE';

/**
 * The kernel's TCP_INFO for the TCP socket under `socket`, or undefined where there is none: not Linux,
 * the FFI unavailable (keepAliveBackend() says why), or the socket without a file descriptor (connecting
 * or closed).
 */
export function tcpInfo(socket: net.Socket): TcpInfo | undefined {
  assertSocket(socket, 'tcpInfo');
  const f = ffi();
  if (f === undefined || f.options.TCP_INFO === undefined) return undefined;
  const fd = socketFd(tcpOwner(socket));
  if (fd < 0) return undefined;
  const length = readTcpInfo(fd, f.options.TCP_INFO, f.options.IPPROTO_TCP);
  if (length < MIN_TCP_INFO) return undefined;
  const info = decodeTcpInfo(TCP_INFO_BUFFER);
  if (length >= NOTSENT_END) info.notsentBytes = u32(TCP_INFO_BUFFER, 144);
  if (length >= SND_WND_END) info.sndWnd = u32(TCP_INFO_BUFFER, 228);
  return info;
}

/** Where tcpi_notsent_bytes (offset 144, Linux 4.6) and tcpi_snd_wnd (offset 228, Linux 5.4) end. */
const NOTSENT_END = 148;
const SND_WND_END = 232;

/** Decodes a Linux struct tcp_info by offset; `b` must hold at least 104 bytes in host byte order. */
export function decodeTcpInfo(b: Buffer): TcpInfo {
  const stateCode = b[0]!;
  return {
    state: TCP_STATES[stateCode] ?? `UNKNOWN(${stateCode})`,
    stateCode,
    caState: b[1]!,
    retransmits: b[2]!,
    probes: b[3]!,
    backoff: b[4]!,
    // b[5] options, b[6] window scales, b[7] flags: not reported.
    rto: u32(b, 8) / 1000,
    ato: u32(b, 12) / 1000,
    sndMss: u32(b, 16),
    rcvMss: u32(b, 20),
    unacked: u32(b, 24),
    sacked: u32(b, 28),
    lost: u32(b, 32),
    retrans: u32(b, 36),
    // 40 fackets (unused since 4.15), 48 last_ack_sent ("not remembered" by the kernel): not reported.
    lastDataSentMs: u32(b, 44),
    lastDataReceivedMs: u32(b, 52),
    lastAckReceivedMs: u32(b, 56),
    pmtu: u32(b, 60),
    // 64 rcv_ssthresh: not reported.
    rtt: u32(b, 68) / 1000,
    rttvar: u32(b, 72) / 1000,
    sndSsthresh: u32(b, 76),
    sndCwnd: u32(b, 80),
    // 84 advmss: not reported.
    reordering: u32(b, 88),
    // 92 rcv_rtt, 96 rcv_space: not reported.
    totalRetrans: u32(b, 100),
  };
}

function u32(b: Buffer, offset: number): number {
  return LITTLE ? b.readUInt32LE(offset) : b.readUInt32BE(offset);
}
