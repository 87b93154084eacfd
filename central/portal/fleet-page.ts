/**
 * The fleet page: each enrolled appliance of the officer's force with its state (healthy, degraded,
 * silent) and why, its last heartbeat, last data and agent version. Its own file beside pages.ts
 * (same layout, same `esc`): every value that came from a device or a member passes through `esc`.
 *
 * Stable element ids: `#fleet` (a row per device `tr[data-device]`, the state in `.fleet-state`,
 * the reasons in `.fleet-reasons`), `#fleet-summary`.
 */
import { escapeHtml } from '../../common/html.js';
import type { FleetVerdict } from '../fleet/fleet-state.js';
import { layout, type PageContext } from './pages.js';

const esc = escapeHtml;

/** One device as the page and `/portal/fleet.json` show it. */
export interface FleetEntry extends FleetVerdict {
  readonly deviceId: string;
  readonly memberId: string;
  readonly memberName: string;
  readonly lastData: Date | null;
  readonly detection: boolean | null;
  readonly sources: number | null;
}

const when = (d: Date | null): string => (d ? esc(d.toISOString().replace('T', ' ').slice(0, 16)) : '—');

/** The page's existing styles: green for healthy, red for silent, bold for degraded. */
const stateBadge = (state: FleetEntry['state']): string =>
  state === 'healthy'
    ? '<span class="ok">healthy</span>'
    : state === 'silent'
      ? '<span class="error">silent</span>'
      : '<strong>degraded</strong>';

const STATE_ORDER = { silent: 0, degraded: 1, healthy: 2 } as const;

export function fleetPage(ctx: PageContext, entries: readonly FleetEntry[], silentAfterH: number): string {
  const count = (state: keyof typeof STATE_ORDER) => entries.filter((e) => e.state === state).length;
  const sorted = [...entries].sort(
    (a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || a.memberName.localeCompare(b.memberName),
  );
  const rows = sorted
    .map(
      (
        e,
      ) => `<tr data-device="${esc(e.deviceId)}"><td><code>${esc(e.deviceId)}</code><br>${esc(e.memberName)}</td>
<td class="fleet-state">${stateBadge(e.state)}</td>
<td class="fleet-reasons">${e.reasons.map((r) => esc(r)).join('<br>')}</td>
<td>${when(e.lastHeartbeat)}</td><td>${when(e.lastData)}</td><td>${esc(e.version ?? '—')}</td>
<td>${e.sources === null ? '—' : esc(e.sources)}</td><td>${e.detection === null ? '—' : e.detection ? 'on' : 'off'}</td></tr>`,
    )
    .join('\n');
  return layout(
    ctx,
    'Fleet health',
    `<p id="fleet-summary">${count('healthy')} healthy · ${count('degraded')} degraded · ${count('silent')} silent
<span class="muted">(silent: no heartbeat and no data for ${esc(silentAfterH)} hours)</span></p>
${
  entries.length === 0
    ? '<p id="fleet">No appliances enrolled in your force yet.</p>'
    : `<div class="card"><table id="fleet"><thead><tr><th>Appliance</th><th>State</th><th>Why</th><th>Last heartbeat (UTC)</th>
<th>Last data (UTC)</th><th>Version</th><th>Log sources</th><th>Detection</th></tr></thead><tbody>${rows}</tbody></table></div>`
}`,
  );
}
