// Metrics and the dashboard's HTTP side: re-exports only.
export { DashboardFeed, type DeathView, type FeedOptions, type SessionView, type Snapshot } from './feed.js';
export { createMetricsHttp, type MetricsHttp, type MetricsHttpOptions } from './http.js';
export { type InstrumentOptions, instrument, type MetricsRegistry, RTT_BUCKETS } from './instrument.js';
export { probeRtt } from './probe.js';
