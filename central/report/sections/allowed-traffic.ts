/**
 * 3. Suspicious traffic, allowed first: connections the firewall let in from addresses that were
 * alerted on or are on a campaign (attacking several members) — where the risk is — then what it
 * blocked.
 */
import {
  esc,
  fmt,
  hostText,
  plural,
  portLabel,
  type ReportSection,
  section,
  serviceName,
  table,
  when,
} from './kit.js';

export const allowedTraffic: ReportSection = {
  id: 'allowed-traffic',
  title: 'Suspicious traffic: let in first, then blocked',
  render(data) {
    const t = data.totals;
    let allowed: string;
    if (data.allowedFlows.length === 0) {
      allowed =
        '<p class="none">Nothing was let in from an address that was alerted on or is attacking other members.</p>';
    } else {
      const rows = data.allowedFlows.map((f) => [
        hostText(f.src),
        hostText(f.dst),
        `${esc(portLabel(f.port, f.proto))} <span class="muted">${esc(serviceName(f.port))}</span>`,
        fmt(f.events),
        [f.alerted ? 'alerted on' : '', f.campaign ? 'attacking other members' : '']
          .filter(Boolean)
          .join(', '),
        esc(when(f.lastSeen)),
      ]);
      const more =
        data.allowedFlowCount > data.allowedFlows.length
          ? `<p class="muted">The ${fmt(data.allowedFlows.length)} largest of ${fmt(data.allowedFlowCount)} are listed.</p>`
          : '';
      allowed = `<p class="warn-text">${plural(t.suspiciousAllowed, 'connection')} let in from attacking addresses. Check that the machines named below should be reachable from the internet, and that their software and passwords are up to date.</p>
${table(['from', 'to your machine', 'port', 'connections', 'why suspicious', 'last seen'], rows, [false, false, false, true, false, false])}${more}`;
    }
    const blocked =
      t.suspiciousBlocked === 0
        ? '<p class="none">Nothing from outside was blocked in this period.</p>'
        : `<p>Your firewall blocked ${plural(t.suspiciousBlocked, 'connection attempt')} from ${plural(t.suspiciousSources, 'outside address', 'outside addresses')}. Blocked attempts did no harm; the sections below show where they came from and what they were after.</p>`;
    return section(allowedTraffic, `<h3>Let in</h3>\n${allowed}\n<h3>Blocked</h3>\n${blocked}`);
  },
};
