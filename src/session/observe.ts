// What lifeline lets tools observe, the way Node's own modules do: `NODE_DEBUG=lifeline` traces through
// util.debuglog, and diagnostics_channel channels (as undici publishes 'undici:request:create' & co.) let APM
// and OpenTelemetry instrumentations see connections, handshakes, deaths and resumes without a hook of ours.
// Both cost one boolean test when nobody listens; neither is on the per-frame path.
import diagnostics from 'node:diagnostics_channel';
import { debuglog } from 'node:util';

/** `NODE_DEBUG=lifeline`: one line per state change, death and resume (to stderr, by Node). */
export const debug = debuglog('lifeline');

/**
 * The channels lifeline publishes on (`diagnostics_channel.subscribe(name, fn)`), each with its message:
 * - `lifeline:connect` — a client starts a connection attempt: `{ client, host, port, attempt }`;
 * - `lifeline:handshake` — a session is established on a connection: `{ endpoint, sessionId, resumed }`
 *   (`endpoint` is the HeartbeatClient or the server's Session);
 * - `lifeline:death` — a connection of a session died: `{ endpoint, report }` (a DeathReport);
 * - `lifeline:resume` — a session continued on a new connection with nothing lost: `{ endpoint, sessionId }`.
 */
export const channels = {
  connect: diagnostics.channel('lifeline:connect'),
  handshake: diagnostics.channel('lifeline:handshake'),
  death: diagnostics.channel('lifeline:death'),
  resume: diagnostics.channel('lifeline:resume'),
} as const;

/** Publishes `message()` on `channel` only if someone subscribed (the message is not even built otherwise). */
export function publish(channel: diagnostics.Channel, message: () => object): void {
  if (channel.hasSubscribers) channel.publish(message());
}
