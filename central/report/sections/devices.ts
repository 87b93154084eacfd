/**
 * 6. Which of the member's machines were targeted. Central never learns internal addresses: each
 * machine shows as the pseudonym its appliance gave it (`p:…`), which the member's appliance status
 * page can map back to the real address; central cannot.
 */
import { esc, fmt, hostText, type ReportSection, section, table } from './kit.js';

export const devices: ReportSection = {
  id: 'devices',
  title: 'Your machines that were targeted',
  render(data) {
    if (data.hosts.length === 0) {
      return section(
        devices,
        '<p class="none">None of your machines was named as the target of suspicious traffic.</p>',
      );
    }
    const rows = data.hosts.map((h) => [
      hostText(h.host),
      `<code>${esc(h.deviceId)}</code>`,
      h.allowed > 0 ? `<strong>${fmt(h.allowed)}</strong>` : '0',
      fmt(h.blocked),
      fmt(h.sources),
      fmt(h.ports),
    ]);
    return section(
      devices,
      `<p>Machines appear under the private name your appliance gives them (<code>p:…</code>): CyberAlarm's central service never learns their real addresses. Your appliance's status page shows which machine each name is.</p>
${table(['machine', 'seen by appliance', 'let in', 'blocked', 'addresses', 'ports'], rows, [false, false, true, true, true, true])}`,
    );
  },
};
