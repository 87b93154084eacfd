/** 5. Services and ports targeted, as a bar chart and a table. */
import { horizontalBarChart } from '../svg-chart.js';
import { COLOURS, esc, fmt, portLabel, type ReportSection, section, serviceName, table } from './kit.js';

export const services: ReportSection = {
  id: 'services',
  title: 'Services and ports targeted',
  render(data) {
    if (data.ports.length === 0) {
      return section(services, '<p class="none">No port was targeted from outside in this period.</p>');
    }
    const chart = horizontalBarChart(
      'Suspicious connections by port',
      [
        { name: 'blocked', colour: COLOURS.blocked },
        { name: 'let in', colour: COLOURS.allowed },
      ],
      data.ports.map((p) => ({ label: portLabel(p.port, p.proto), values: [p.blocked, p.allowed] })),
      { labelWidth: 90 },
    );
    const rows = data.ports.map((p) => [
      esc(portLabel(p.port, p.proto)),
      esc(serviceName(p.port)),
      fmt(p.blocked),
      p.allowed > 0 ? `<strong>${fmt(p.allowed)}</strong>` : '0',
      fmt(p.sources),
    ]);
    return section(
      services,
      `${chart}\n${table(['port', 'service', 'blocked', 'let in', 'addresses'], rows, [false, false, true, true, true])}`,
    );
  },
};
