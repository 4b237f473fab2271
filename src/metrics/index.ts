// Metrics and the dashboard's HTTP side: re-exports only.
export { DashboardFeed, type DeathView, type FeedOptions, type SessionView, type ViewQuery } from './feed.js';
export {
  createDashboardHandler,
  createMetricsHttp,
  type DashboardHandler,
  type DashboardOptions,
  type MetricsHttp,
  type MetricsHttpOptions,
} from './http.js';
export { type InstrumentOptions, instrument, type MetricsRegistry, RTT_BUCKETS } from './instrument.js';
export { probeRtt } from './probe.js';
export type { Chart, Death, Delta, Hello, Row, Totals } from './wire.js';
