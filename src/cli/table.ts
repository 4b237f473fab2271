// The session table of `serve` and `demo` for a terminal, and the one-line story of a death. Pure: takes
// session views and returns text.
import type { SessionView } from '../metrics/feed.js';
import type { DeathReport } from '../session/death.js';
import { ms } from './output.js';

const HEADER = ['SESSION', 'REMOTE', 'RTT', 'LAST HEARD', 'DETECTOR', 'IN', 'OUT'];
/** Right-aligned columns (numbers). */
const RIGHT = new Set([2, 3, 5, 6]);

/** What each diagnosis means, for people reading a death line. */
export const DIAGNOSIS_MEANING: Record<string, string> = {
  'peer-unresponsive': 'its kernel still ACKs, its program does not answer (hung, stopped, long pause)',
  network: 'our segments go unacknowledged (partition, dead host, pulled cable)',
  unknown: 'no kernel view of the connection on this platform',
};

export function detectorText(v: SessionView): string {
  if (v.state === 'detached') return 'waiting to resume';
  const d = v.detector;
  if (d === null) return '-';
  if (d.kind === 'phi') return `phi ${(d.phi ?? 0).toFixed(2)}, ${ms(d.leftMs)} left`;
  return `${ms(d.leftMs)} left`;
}

export function renderTable(views: SessionView[], width = 120): string[] {
  const rows = views.map((v) => [
    v.id,
    v.remote,
    v.rttMs === null ? '-' : ms(v.rttMs),
    v.state === 'open' ? `${ms(v.silentMs)} ago` : '-',
    detectorText(v),
    String(v.messagesIn),
    String(v.messagesOut),
  ]);
  const all = [HEADER, ...rows];
  const widths = HEADER.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const lines = all.map((r) =>
    r
      .map((cell, i) => (RIGHT.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
      .slice(0, width),
  );
  if (rows.length === 0) lines.push('(no sessions yet)');
  return lines;
}

/** "DEAD heartbeat-timeout (peer-unresponsive: ...) after 3.00 s of silence — detail" */
export function deathLine(r: Pick<DeathReport, 'cause' | 'diagnosis' | 'silentMs' | 'detail'>): string {
  const diagnosis = r.diagnosis ? ` (${r.diagnosis}: ${DIAGNOSIS_MEANING[r.diagnosis] ?? ''})` : '';
  return `DEAD ${r.cause}${diagnosis} after ${ms(r.silentMs)} of silence${r.detail ? ` — ${r.detail}` : ''}`;
}
