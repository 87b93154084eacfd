/**
 * "Alerts" on the member's status page: what detection found lately, newest first, each in plain
 * English with what to do (the detector writes both), the evidence behind it, and a line on what is
 * being watched when nothing was found. Internal hosts appear as the pseudonyms central sees.
 */
import { escapeHtml as e } from '../../common/html.js';
import type { Alert } from '../detect/alert.js';
import type { IntelView } from '../detect/intel/live-intel.js';
import type { DetectionView } from '../detect/live.js';

export const ALERTS_CSS = `.alert{border-left:4px solid #bf8700;padding:.4rem .7rem;margin:.6rem 0;background:#fff8e6}
.alert.high{border-color:#cf222e;background:#ffebe9}.alert.low{border-color:#57606a;background:#f6f8fa}
.alert h3{font-size:1rem;margin:0 0 .3rem}.alert p{margin:.3rem 0}.alert .advice{font-weight:600}`;

/** How many alerts the page lists (the engine keeps more; the rest are in central's portal). */
const SHOWN = 20;

export function alertsSection(view: DetectionView | undefined, intel?: IntelView): string {
  if (view === undefined || !view.enabled) {
    return `<section id="alerts"><h2>Alerts</h2><p>Detection is off on this appliance
(<code>detectEnabled</code>).</p></section>`;
  }
  const lists = intelLine(intel);
  if (view.recent.length === 0) {
    return `<section id="alerts"><h2>Alerts</h2><p data-testid="no-alerts">Nothing suspicious found so far.
${view.detectors.length} detectors are watching ${view.eventsSeen} connections logged since the appliance started.</p>${lists}</section>`;
  }
  const items = view.recent.slice(0, SHOWN).map(alertItem).join('\n');
  const more =
    view.recent.length > SHOWN
      ? `<p class="muted">${view.recent.length - SHOWN} older alerts are not shown.</p>`
      : '';
  return `<section id="alerts"><h2>Alerts</h2>${items}${more}${lists}</section>`;
}

/** Central's blocklists: which are held, and any list refused (tampered, stale, out of order). */
function intelLine(intel: IntelView | undefined): string {
  if (intel === undefined) return '';
  if (!intel.enabled)
    return `<p class="muted" data-testid="intel">Blocklists from central: off (${e(intel.reason ?? 'no key')}).</p>`;
  const held = intel.lists
    .map(
      (l) =>
        `${e(l.list)} v${l.version} (${l.entries} entries)${l.lastError ? ` — last update refused: ${e(l.lastError)}` : ''}`,
    )
    .join('; ');
  return `<p class="muted" data-testid="intel">Blocklists from central: ${held || 'none received yet'}.</p>`;
}

function alertItem(a: Alert): string {
  const background =
    a.label === 'background'
      ? ' <span class="muted">(background internet scanning seen at many members, not aimed at you)</span>'
      : '';
  const ongoing = a.status === 'final' ? 'ended' : 'ongoing';
  return `<article class="alert ${e(a.severity)}" data-testid="alert" data-detector="${e(a.detector)}">
<h3>${e(a.severity)} · ${e(a.detector)} · ${e(a.source)}${background}</h3>
<p>${e(a.summary)}</p>
<p class="advice">What to do: ${e(a.advice)}</p>
<p class="muted">${e(a.firstSeen)} – ${e(a.lastSeen)} (${ongoing}) · ${a.events} events · ${a.distinctTargets} targets · ports ${e(a.ports.slice(0, 10).join(', ') || '—')}</p>
</article>`;
}
