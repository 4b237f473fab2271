// The limits the fuzzer's server runs with, and the memory bound they imply: shared by the server process
// (fuzz-server.ts) and the test that checks it (fuzz.test.ts), so that the bound follows the settings.

export const FUZZ_LIMITS = {
  /** Heartbeat, ms: generous, so that a loaded 2-core CI box is not taken for a dead peer. */
  interval: 1000,
  timeout: 5000,
  /** Largest frame payload, bytes: what one connection's decoder may hold. */
  maxFrame: 64 * 1024,
  /** Replay buffer per session, bytes (the echo application queues at most as much again). */
  maxBuffered: 256 * 1024,
  /** Sessions held at once, attached or detached. */
  maxSessions: 64,
  /** ms a detached session (and its replay buffer) is kept for a resume. */
  resumeWindow: 2000,
  handshakeTimeout: 2000,
  /** Hostile connections open at once. */
  hostileConnections: 8,
  /** Well-behaved clients alongside. */
  honestClients: 3,
} as const;

/**
 * What the server may legitimately hold beyond its idle baseline, in bytes, after a full collection:
 *
 *   maxSessions × (maxBuffered + maxBuffered)          replay buffer + the echo's own queue, per session
 * + maxSessions × maxBuffered / 2                      the socket's write budget (send()'s backpressure)
 * + hostileConnections × (maxFrame + 5)                one partial frame per connection's decoder
 * + hostileConnections × maxFrame                      one whole frame being delivered/echoed
 * + maxSessions × PER_SESSION                          objects of a session and its connection
 * + SLACK                                              V8's own variation between two collections
 *
 * (Every session counts at most once: a detached one holds no socket.) Heap and array buffers are
 * measured; RSS is allowed twice this plus RSS_SLACK (allocator fragmentation, freed pages not returned).
 */
export function memoryBound(l: typeof FUZZ_LIMITS = FUZZ_LIMITS): { heap: number; rss: number } {
  const PER_SESSION = 64 * 1024;
  const SLACK = 16 * 1024 * 1024;
  const RSS_SLACK = 96 * 1024 * 1024;
  const sessions = l.maxSessions + l.honestClients;
  const heap =
    sessions * (2 * l.maxBuffered + l.maxBuffered / 2 + PER_SESSION) +
    l.hostileConnections * (2 * l.maxFrame + 5) +
    SLACK;
  return { heap, rss: 2 * heap + RSS_SLACK };
}
