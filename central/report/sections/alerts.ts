/**
 * 2. Alerts: what the member's appliances raised in the period, each with its evidence and the
 * detector's plain-English advice. No alert is an honest sentence, not an empty table.
 */
import {
  detectorName,
  esc,
  fmt,
  hostText,
  plural,
  portLabel,
  type ReportSection,
  section,
  when,
  whereText,
} from './kit.js';

const SEVERITY: Readonly<Record<string, string>> = { high: 'Serious', medium: 'Worth a look', low: 'Minor' };

export const alerts: ReportSection = {
  id: 'alerts',
  title: 'Alerts',
  render(data) {
    const c = data.alertCounts;
    if (data.alerts.length === 0) {
      return section(
        alerts,
        '<p class="none">Your appliance raised no alerts in this period: it saw no scan, password guessing or other attack pattern aimed at you.</p>',
      );
    }
    const shown =
      c.total > data.alerts.length ? ` The ${fmt(data.alerts.length)} most serious are listed.` : '';
    const items = data.alerts.map((a) => {
      const severity = SEVERITY[a.severity] ?? a.severity;
      const evidence: string[] = [];
      if (a.subject) {
        evidence.push(
          `${a.keyRole === 'destination' ? 'Your machine' : 'From'} ${hostText(a.subject)}${a.keyRole === 'destination' ? '' : ` (${whereText(a.where)})`}`,
        );
      }
      if (a.events !== null) evidence.push(plural(a.events, 'connection'));
      if (a.targets.length > 0) {
        const more = (a.distinctTargets ?? a.targets.length) - a.targets.length;
        evidence.push(`to ${a.targets.map(hostText).join(', ')}${more > 0 ? ` and ${fmt(more)} more` : ''}`);
      }
      if (a.ports.length > 0) {
        const more = (a.distinctPorts ?? a.ports.length) - a.ports.length;
        evidence.push(
          `ports ${a.ports.map((p) => esc(portLabel(p, null))).join(', ')}${more > 0 ? ` and ${fmt(more)} more` : ''}`,
        );
      }
      evidence.push(
        `${esc(when(a.firstSeen))}${a.lastSeen && a.lastSeen !== a.firstSeen ? ` to ${esc(when(a.lastSeen))}` : ''}`,
      );
      evidence.push(`appliance <code>${esc(a.deviceId)}</code>`);
      const background =
        a.label === 'background'
          ? '<p class="note">This address scans the whole internet, not you in particular.</p>'
          : '';
      return `<li class="alert sev-${esc(a.severity)}"><h3><span class="badge">${esc(severity)}</span> ${esc(detectorName(a.detector))}</h3>
<p class="alert-summary">${esc(a.summary)}</p>
<p class="evidence">${evidence.join(' · ')}</p>
${background}${a.advice ? `<p class="advice"><strong>What to do:</strong> ${esc(a.advice)}</p>` : ''}</li>`;
    });
    return section(
      alerts,
      `<p>${plural(c.total, 'alert')} in this period: ${fmt(c.high)} serious, ${fmt(c.medium)} worth a look, ${fmt(c.low)} minor.${shown}</p>\n<ol class="alerts">\n${items.join('\n')}\n</ol>`,
    );
  },
};
