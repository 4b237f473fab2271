// The kernel keepalive layer: SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT and TCP_USER_TIMEOUT
// set per socket and read back from the kernel, plus TCP_INFO. Re-exports only.
export { getKeepAlive, setKeepAlive } from './keepalive.js';
export { type KeepAliveBackend, keepAliveBackend } from './native.js';
export {
  deriveKeepAlive,
  type HeartbeatTiming,
  type KeepAliveOptions,
  type KeepAliveSettings,
} from './options.js';
export { keepAliveBound, systemKeepAlive } from './system.js';
export { type TcpInfo, tcpInfo } from './tcp-info.js';
export { setLinearTimeouts, setNotSentLowat } from './thin.js';
