/**
 * 8. Gaps in the data, stated plainly: what the appliance reported it could not deliver (loss
 * records) and periods with no data from an appliance, so the member knows what this report cannot see.
 */
import { esc, fmt, plural, type ReportSection, section, table, when } from './kit.js';

export const dataGaps: ReportSection = {
  id: 'data-gaps',
  title: 'Gaps in the data',
  render(data) {
    const g = data.gaps;
    const parts: string[] = [];
    if (data.devices.length === 0) {
      parts.push('<p>No appliance is connected for you, so this report has no data.</p>');
      return section(dataGaps, parts.join('\n'));
    }
    if (g.lossRecords.length === 0 && g.silentPeriods.length === 0 && g.silentDevices.length === 0) {
      parts.push(
        '<p class="none">None found: every appliance sent data throughout the period and reported no loss.</p>',
      );
    }
    if (g.silentDevices.length > 0) {
      parts.push(
        `<p class="warn-text">${plural(g.silentDevices.length, 'appliance')} sent no data at all in this period: ${g.silentDevices.map((d) => `<code>${esc(d)}</code>`).join(', ')}. Check it is switched on and connected.</p>`,
      );
    }
    if (g.silentPeriods.length > 0) {
      parts.push(
        `<p>Periods of at least 3 hours with no data from an appliance (it may have been off or offline, or the network quiet):</p>\n${table(
          ['appliance', 'from', 'to', 'hours'],
          g.silentPeriods.map((s) => [
            `<code>${esc(s.deviceId)}</code>`,
            esc(when(s.from)),
            esc(when(s.to)),
            fmt(s.hours),
          ]),
          [false, false, false, true],
        )}`,
      );
    }
    if (g.lossRecords.length > 0) {
      parts.push(
        `<p>Your appliance reported ${plural(g.lostEvents, 'connection record')} it could not deliver (for example when its store was full during a long outage): they are not in this report.</p>\n${table(
          ['appliance', 'reason', 'records', 'from', 'to'],
          g.lossRecords.map((l) => [
            `<code>${esc(l.deviceId)}</code>`,
            esc(l.reason),
            fmt(l.events),
            esc(when(l.from)),
            esc(when(l.to)),
          ]),
          [false, false, true, false, false],
        )}`,
      );
    }
    return section(dataGaps, parts.join('\n'));
  },
};
