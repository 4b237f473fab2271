// Every kernel number the keepalive layer uses, per platform, each with its source. Nothing here touches a
// socket: contributors adding a platform add a table here and nothing else needs to know its numbers.

/** The socket option numbers of one operating system, and the C library that carries setsockopt. */
export interface PlatformOptions {
  /** Shared libraries to try, in order, for setsockopt/getsockopt. */
  readonly libc: readonly string[];
  readonly SOL_SOCKET: number;
  readonly SO_KEEPALIVE: number;
  readonly IPPROTO_TCP: number;
  /** The option holding the idle time before the first probe, in seconds. */
  readonly TCP_KEEPIDLE: number;
  /** Its name on this platform, for error messages (macOS calls it TCP_KEEPALIVE). */
  readonly idleName: string;
  readonly TCP_KEEPINTVL: number;
  readonly TCP_KEEPCNT: number;
  /** Milliseconds unacknowledged data may stay unacknowledged; undefined where the platform has none. */
  readonly TCP_USER_TIMEOUT: number | undefined;
  /**
   * Linear (not exponential) retransmission timeouts while a stream is thin (< 4 segments in flight);
   * undefined where the platform has none.
   */
  readonly TCP_THIN_LINEAR_TIMEOUTS: number | undefined;
  /** TCP_NOTSENT_LOWAT: most unsent bytes the kernel queues before the socket stops being writable. */
  readonly TCP_NOTSENT_LOWAT: number | undefined;
  /** struct tcp_info; only Linux's layout is decoded (see tcp-info.ts). */
  readonly TCP_INFO: number | undefined;
  readonly AF_INET: number;
  readonly SOCK_STREAM: number;
}

/**
 * Linux: SOL_SOCKET and SO_KEEPALIVE from include/uapi/asm-generic/socket.h; the TCP options from
 * include/uapi/linux/tcp.h (TCP_KEEPIDLE 4, TCP_KEEPINTVL 5, TCP_KEEPCNT 6, TCP_INFO 11, TCP_USER_TIMEOUT 18);
 * documented in man 7 socket and man 7 tcp.
 */
export const LINUX: PlatformOptions = {
  libc: ['libc.so.6'],
  SOL_SOCKET: 1,
  SO_KEEPALIVE: 9,
  IPPROTO_TCP: 6,
  TCP_KEEPIDLE: 4,
  idleName: 'TCP_KEEPIDLE',
  TCP_KEEPINTVL: 5,
  TCP_KEEPCNT: 6,
  TCP_USER_TIMEOUT: 18,
  // include/uapi/linux/tcp.h; Documentation/networking/ip-sysctl.rst, tcp_thin_linear_timeouts (Linux 2.6.34+)
  TCP_THIN_LINEAR_TIMEOUTS: 16,
  TCP_NOTSENT_LOWAT: 25,
  TCP_INFO: 11,
  AF_INET: 2,
  SOCK_STREAM: 1,
};

/**
 * macOS (XNU bsd/netinet/tcp.h, bsd/sys/socket.h): the idle time is TCP_KEEPALIVE (0x10), interval and count
 * are TCP_KEEPINTVL (0x101) and TCP_KEEPCNT (0x102). There is no TCP_USER_TIMEOUT; the nearest option,
 * TCP_RXT_CONNDROPTIME (0x80, seconds of retransmission before the connection is dropped), has different
 * semantics and is deliberately not mapped onto userTimeout. TCP_CONNECTION_INFO (0x106) is not decoded.
 */
export const MACOS: PlatformOptions = {
  libc: ['/usr/lib/libSystem.B.dylib', 'libc.dylib'],
  SOL_SOCKET: 0xffff,
  SO_KEEPALIVE: 0x0008,
  IPPROTO_TCP: 6,
  TCP_KEEPIDLE: 0x10,
  idleName: 'TCP_KEEPALIVE',
  TCP_KEEPINTVL: 0x101,
  TCP_KEEPCNT: 0x102,
  TCP_USER_TIMEOUT: undefined,
  TCP_THIN_LINEAR_TIMEOUTS: undefined,
  TCP_NOTSENT_LOWAT: 0x201,
  TCP_INFO: undefined,
  AF_INET: 2,
  SOCK_STREAM: 1,
};

/**
 * FreeBSD (sys/netinet/tcp.h, sys/sys/socket.h; man 4 tcp): TCP_KEEPIDLE 256, TCP_KEEPINTVL 512,
 * TCP_KEEPCNT 1024. No TCP_USER_TIMEOUT. Its TCP_INFO (32) has a different layout and is not decoded.
 */
export const FREEBSD: PlatformOptions = {
  libc: ['libc.so.7'],
  SOL_SOCKET: 0xffff,
  SO_KEEPALIVE: 0x0008,
  IPPROTO_TCP: 6,
  TCP_KEEPIDLE: 256,
  idleName: 'TCP_KEEPIDLE',
  TCP_KEEPINTVL: 512,
  TCP_KEEPCNT: 1024,
  TCP_USER_TIMEOUT: undefined,
  TCP_THIN_LINEAR_TIMEOUTS: undefined,
  TCP_NOTSENT_LOWAT: undefined,
  TCP_INFO: undefined,
  AF_INET: 2,
  SOCK_STREAM: 1,
};

/** The option table for a platform, or undefined where lifeline carries none (Windows, for now). */
export function platformOptions(platform: NodeJS.Platform = process.platform): PlatformOptions | undefined {
  if (platform === 'linux') return LINUX;
  if (platform === 'darwin') return MACOS;
  if (platform === 'freebsd') return FREEBSD;
  return undefined;
}

/** Linux's ceiling for TCP_KEEPIDLE, in seconds (MAX_TCP_KEEPIDLE, include/net/tcp.h). */
export const MAX_IDLE_SECONDS = 32767;
/** Linux's ceiling for TCP_KEEPINTVL, in seconds (MAX_TCP_KEEPINTVL, include/net/tcp.h). */
export const MAX_INTERVAL_SECONDS = 32767;
/** Linux's ceiling for TCP_KEEPCNT (MAX_TCP_KEEPCNT, include/net/tcp.h). */
export const MAX_COUNT = 127;
/** TCP_USER_TIMEOUT is a C int of milliseconds; negative values are EINVAL (man 7 tcp). */
export const MAX_USER_TIMEOUT_MS = 2 ** 31 - 1;

/** Linux's TCP states by number (enum in include/net/tcp_states.h), as tcpi_state reports them. */
export const TCP_STATES: readonly string[] = [
  'UNKNOWN',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
];
