/**
 * 7. How the member compares with the network: for the member's main sources, how many other
 * members saw the same address, and whether it is a campaign. Counts only: never who the others are.
 */
import { esc, fmt, hostText, plural, type ReportSection, section, table } from './kit.js';

const SCOPE: Readonly<Record<string, string>> = {
  force: 'in your police force area',
  region: 'in your region',
  nation: 'across the country',
};

export const comparison: ReportSection = {
  id: 'comparison',
  title: 'How you compare with other members',
  render(data) {
    const c = data.comparison;
    if (c.sources.length === 0) {
      return section(comparison, '<p class="none">No suspicious source to compare in this period.</p>');
    }
    const others = Math.max(0, c.networkMembers - 1);
    const shared = c.sources.filter((s) => s.otherMembers > 0).length;
    const rows = c.sources.map((s) => [
      hostText(s.ip),
      s.otherMembers === 0 ? 'only you' : `${plural(s.otherMembers, 'other member')} saw this source`,
      s.finding
        ? `${esc(s.finding.kind === 'campaign' ? 'campaign' : 'mass scanner')}: ${plural(s.finding.members, 'member')}, ${plural(s.finding.forces, 'force')} ${esc(SCOPE[s.finding.scope] ?? '')}`
        : '',
    ]);
    const lead =
      shared === 0
        ? `None of these addresses was seen by any of the ${fmt(others)} other members: the traffic looks aimed at you. That makes the alerts above more important.`
        : `${fmt(shared)} of these ${plural(c.sources.length, 'address', 'addresses')} were also seen by other members (of ${fmt(others)}): much of this is the background noise every internet connection gets.`;
    return section(
      comparison,
      `<p>${lead}</p>\n${table(['address', 'other members', 'finding'], rows)}\n<p class="muted">Only counts are shared between members; no member is ever named.</p>`,
    );
  },
};
