// lifeline's public API: re-exports only. See README.md for the guide and docs/ for the details.
export { createServer, HeartbeatServer, type ServerOptions, type Authenticate, type HelloInfo } from './server/server.js';
export { Session, type SessionState } from './server/session.js';
export { connect, HeartbeatClient, type ClientOptions } from './client/client.js';
export type { BackoffOptions } from './client/backoff.js';
export type { DeathReport, DeathCause, Diagnosis } from './session/death.js';
export type { EndpointEvents, ConnectedInfo } from './session/endpoint.js';
export { HEARTBEAT_DEFAULTS, type HeartbeatOptions, type DetectorKind } from './session/options.js';
export {
  setKeepAlive,
  getKeepAlive,
  keepAliveBound,
  systemKeepAlive,
  tcpInfo,
  keepAliveBackend,
  deriveKeepAlive,
  type KeepAliveOptions,
  type KeepAliveSettings,
  type TcpInfo,
} from './keepalive/index.js';
export { watchIdle, type IdleOptions, type IdleWatcher, type IdleEvent } from './idle/index.js';
export { LifelineError, SocketOptionError, UnsupportedError } from './errors.js';
