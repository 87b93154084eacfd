/**
 * 1. The summary: what a non-specialist understands in ten seconds — one or two sentences and four
 * headline numbers, then the week as a chart.
 */
import { columnChart } from '../svg-chart.js';
import { COLOURS, esc, fmt, periodText, plural, type ReportSection, section } from './kit.js';

export const summary: ReportSection = {
  id: 'summary',
  title: 'Summary',
  render(data) {
    const t = data.totals;
    const a = data.alertCounts;
    const period = periodText(data);
    let headline: string;
    if (t.events === 0 && data.devices.length === 0) {
      headline = `No appliance is connected for ${esc(data.memberName)} yet, so there is nothing to report for ${esc(period)}.`;
    } else if (t.events === 0) {
      headline = `Your appliance sent no connection data for ${esc(period)}: see "Gaps in the data" below.`;
    } else {
      const first = `From ${esc(period)} your firewall blocked ${plural(t.suspiciousBlocked, 'connection attempt')} from ${plural(t.suspiciousSources, 'outside address', 'outside addresses')}.`;
      let second: string;
      if (t.suspiciousAllowed > 0) {
        second = ` <strong>It let in ${plural(t.suspiciousAllowed, 'connection')} from addresses known to be attacking</strong>: those are where the risk is, see below.`;
      } else if (a.total > 0) {
        second = ` Your appliance raised ${plural(a.total, 'alert')}${a.high > 0 ? `, ${fmt(a.high)} of them serious` : ''}; none of the attacking addresses got through.`;
      } else {
        second =
          ' Nothing got through from an address that was attacking, and there were no alerts: no action is needed.';
      }
      headline = first + second;
    }
    const figures: [string, number, boolean][] = [
      ['alerts', a.total, a.high > 0],
      ['let in from attacking addresses', t.suspiciousAllowed, t.suspiciousAllowed > 0],
      ['blocked attempts', t.suspiciousBlocked, false],
      ['outside addresses involved', t.suspiciousSources, false],
    ];
    const tiles = figures
      .map(
        ([label, value, warn]) =>
          `<div class="figure${warn ? ' warn' : ''}"><span class="value">${fmt(value)}</span><span class="label">${esc(label)}</span></div>`,
      )
      .join('');
    const chart =
      data.daily.length > 0 && t.events > 0
        ? columnChart(
            'Connections per day',
            [
              { name: 'blocked', colour: COLOURS.blocked },
              { name: 'allowed', colour: '#2e86c1' },
            ],
            data.daily.map((d) => ({
              label: new Date(d.day).toLocaleDateString('en-GB', {
                day: 'numeric',
                month: 'short',
                timeZone: 'UTC',
              }),
              values: [d.blocked, d.allowed],
            })),
          )
        : '';
    return section(
      summary,
      `<p class="headline">${headline}</p>\n<div class="figures">${tiles}</div>\n${chart}`,
    );
  },
};
