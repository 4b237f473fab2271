// Thin-stream linear retransmission timeouts (Linux TCP_THIN_LINEAR_TIMEOUTS). A heartbeat is a thin
// stream: a few tiny segments in flight. Under packet loss, TCP's exponential backoff holds a lost PING back
// 0.2 + 0.4 + 0.8 + 1.6 s after four losses in a row — long enough to look like a dead peer. With linear
// timeouts Linux retransmits a thin stream every RTO (at least 200 ms) for up to 6 tries before backing off
// (Documentation/networking/ip-sysctl.rst, tcp_thin_linear_timeouts), so loss costs ~0.2 s per try instead.
import type * as net from 'node:net';
import { getInt, requireFfi, setInt } from './ffi.js';
import { assertSocket, noFdError, socketFd, tcpOwner } from './socket.js';

/**
 * Turns linear retransmission timeouts for thin streams on or off for `socket` (a net.Socket or the TCP
 * socket under a tls.TLSSocket). Returns what the kernel now holds, or undefined where the platform has no
 * such option (everywhere but Linux). Throws like setKeepAlive() (FFI unavailable, no file descriptor).
 */
export function setLinearTimeouts(socket: net.Socket, on: boolean): boolean | undefined {
  assertSocket(socket, 'setLinearTimeouts');
  const f = requireFfi('set TCP_THIN_LINEAR_TIMEOUTS');
  const option = f.options.TCP_THIN_LINEAR_TIMEOUTS;
  if (option === undefined) return undefined;
  const owner = tcpOwner(socket);
  const fd = socketFd(owner);
  if (fd < 0) throw noFdError(socket, owner, 'setLinearTimeouts');
  setInt(fd, f.options.IPPROTO_TCP, option, on ? 1 : 0, 'TCP_THIN_LINEAR_TIMEOUTS');
  return getInt(fd, f.options.IPPROTO_TCP, option, 'TCP_THIN_LINEAR_TIMEOUTS') !== 0;
}
