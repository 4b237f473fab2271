// watchIdle, for people who keep their own protocol: Netty IdleStateHandler semantics on any socket.
// Re-exports only.
export type { IdleEvent, IdleKind, IdleOptions } from './clock.js';
export { type IdleWatcher, watchIdle } from './watch.js';
