/**
 * 4. Top sources of suspicious traffic, split UK / outside the UK (and unknown where no offline
 * location data is installed), with country and network (ASN).
 */
import type { ReportSource } from '../member-report-data.js';
import { esc, fmt, hostText, type ReportSection, section, table, whereText } from './kit.js';

function sourceTable(rows: readonly ReportSource[]): string {
  return table(
    ['address', 'where', 'blocked', 'let in', 'ports tried', 'flags'],
    rows.map((s) => [
      hostText(s.ip),
      whereText(s),
      fmt(s.blocked),
      s.allowed > 0 ? `<strong>${fmt(s.allowed)}</strong>` : '0',
      fmt(s.ports),
      [s.alerted ? 'alerted on' : '', s.campaign ? 'campaign' : ''].filter(Boolean).join(', '),
    ]),
    [false, false, true, true, true, false],
  );
}

export const topSources: ReportSection = {
  id: 'top-sources',
  title: 'Where the suspicious traffic came from',
  render(data) {
    if (data.sources.length === 0) {
      return section(topSources, '<p class="none">No suspicious traffic from outside in this period.</p>');
    }
    const uk = data.sources.filter((s) => s.country === 'GB');
    const abroad = data.sources.filter((s) => s.country !== null && s.country !== 'GB');
    const unknown = data.sources.filter((s) => s.country === null);
    const parts: string[] = [];
    if (data.totals.suspiciousSources > data.sources.length) {
      parts.push(
        `<p class="muted">The ${fmt(data.sources.length)} busiest of ${fmt(data.totals.suspiciousSources)} addresses.</p>`,
      );
    }
    parts.push(
      `<h3>From the UK</h3>\n${uk.length ? sourceTable(uk) : '<p class="none">None.</p>'}`,
      `<h3>From outside the UK</h3>\n${abroad.length ? sourceTable(abroad) : '<p class="none">None.</p>'}`,
    );
    if (unknown.length) parts.push(`<h3>Location unknown</h3>\n${sourceTable(unknown)}`);
    parts.push(
      data.enrichment.available
        ? `<p class="source">Country and network: ${esc(data.enrichment.source)}. IP geolocation is approximate.</p>`
        : `<p class="source">Country and network are not shown: ${esc(data.enrichment.source || 'no offline location database is installed')}.</p>`,
    );
    return section(topSources, parts.join('\n'));
  },
};
