// lifeline's public API: re-exports only. See README.md for the guide and docs/ for the details.

export type { BackoffOptions } from './client/backoff.js';
export { type ClientOptions, connect, HeartbeatClient } from './client/client.js';
export { LifelineError, SocketOptionError, UnsupportedError } from './errors.js';
export { type IdleEvent, type IdleOptions, type IdleWatcher, watchIdle } from './idle/index.js';
export {
  deriveKeepAlive,
  getKeepAlive,
  type KeepAliveOptions,
  type KeepAliveSettings,
  keepAliveBackend,
  keepAliveBound,
  setKeepAlive,
  systemKeepAlive,
  type TcpInfo,
  tcpInfo,
} from './keepalive/index.js';
export {
  createDashboardHandler,
  createMetricsHttp,
  type DashboardHandler,
  type DashboardOptions,
  type InstrumentOptions,
  instrument,
  type MetricsHttp,
  type MetricsHttpOptions,
  type MetricsRegistry,
  probeRtt,
} from './metrics/index.js';
export {
  type Authenticate,
  createServer,
  HeartbeatServer,
  type HelloInfo,
  type ServerOptions,
} from './server/server.js';
export { Session, type SessionState } from './server/session.js';
export {
  MemorySessionStore,
  type RecordedState,
  type SessionRecord,
  type SessionStore,
} from './server/store.js';
export type { DeathCause, DeathReport, Diagnosis } from './session/death.js';
export type { ConnectedInfo, EndpointEvents } from './session/endpoint.js';
export { type DetectorKind, HEARTBEAT_DEFAULTS, type HeartbeatOptions } from './session/options.js';
