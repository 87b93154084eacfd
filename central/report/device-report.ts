/**
 * The device report: for one device and a period, events by action, top sources and top destination
 * ports. Events are weighted by `count` (a summary record stands for `count` raw events).
 *
 * The period is over received_at (central's clock), half-open [from, to):
 * - it is always present and trustworthy, whereas `ts` comes from the firewall's clock, may be
 *   absent, and syslog often lacks a year or zone;
 * - it is what the (device_id, received_at) index and, with issue 5, the daily partitions are keyed
 *   on, so each query is one index range scan (and partition pruning).
 * The cost: events an appliance held in its outbox while offline count in the period they arrived.
 *
 * Ties sort by key with COLLATE "C" so PGlite and PostgreSQL (whatever its database collation)
 * give the same order.
 */
import type { Database } from '../store/db.js';

export interface DeviceReport {
  readonly deviceId: string;
  /** ISO-8601, inclusive. */
  readonly from: string;
  /** ISO-8601, exclusive. */
  readonly to: string;
  readonly totalEvents: number;
  readonly byAction: readonly { readonly action: string; readonly events: number }[];
  readonly topSources: readonly { readonly ip: string; readonly events: number }[];
  readonly topDestinationPorts: readonly {
    readonly port: number;
    readonly proto: string | null;
    readonly events: number;
  }[];
}

export interface DeviceReportQuery {
  readonly deviceId: string;
  readonly from: Date;
  readonly to: Date;
  /** Rows in each top list. */
  readonly top: number;
}

const IN_PERIOD = 'device_id = $1 AND received_at >= $2 AND received_at < $3';

export async function deviceReport(db: Database, query: DeviceReportQuery): Promise<DeviceReport> {
  const period = [query.deviceId, query.from, query.to];
  const [byAction, topSources, topDestinationPorts] = await Promise.all([
    db.query<{ action: string; events: number }>(
      `SELECT action, sum(count)::int8 AS events FROM events WHERE ${IN_PERIOD}
       GROUP BY action ORDER BY events DESC, action COLLATE "C"`,
      period,
    ),
    db.query<{ ip: string; events: number }>(
      `SELECT src_ip AS ip, sum(count)::int8 AS events FROM events
       WHERE ${IN_PERIOD} AND src_ip IS NOT NULL
       GROUP BY src_ip ORDER BY events DESC, src_ip COLLATE "C" LIMIT $4`,
      [...period, query.top],
    ),
    db.query<{ port: number; proto: string | null; events: number }>(
      `SELECT dst_port AS port, proto, sum(count)::int8 AS events FROM events
       WHERE ${IN_PERIOD} AND dst_port IS NOT NULL
       GROUP BY dst_port, proto ORDER BY events DESC, dst_port, proto COLLATE "C" NULLS FIRST LIMIT $4`,
      [...period, query.top],
    ),
  ]);
  return {
    deviceId: query.deviceId,
    from: query.from.toISOString(),
    to: query.to.toISOString(),
    // Every event has an action, so the total is the sum over actions (no fourth query).
    totalEvents: byAction.reduce((sum, row) => sum + row.events, 0),
    byAction,
    topSources,
    topDestinationPorts,
  };
}

const number = (n: number): string => n.toLocaleString('en-GB');

function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  rightAlign: readonly boolean[],
) {
  if (rows.length === 0) return '  (none)\n';
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `  ${cells
      .map((c, i) => (rightAlign[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()}\n`;
  return line(headers) + line(widths.map((w) => '-'.repeat(w))) + rows.map(line).join('');
}

/** A plain-text rendering for the terminal. */
export function formatDeviceReport(report: DeviceReport): string {
  const share = (n: number) =>
    report.totalEvents === 0 ? '' : `${((100 * n) / report.totalEvents).toFixed(1)}%`;
  return [
    `Device report: ${report.deviceId}\n`,
    `Period (received): ${report.from} to ${report.to}\n`,
    `Total events: ${number(report.totalEvents)}\n`,
    '\nEvents by action\n',
    table(
      ['action', 'events', 'share'],
      report.byAction.map((r) => [r.action, number(r.events), share(r.events)]),
      [false, true, true],
    ),
    '\nTop sources\n',
    table(
      ['source', 'events', 'share'],
      report.topSources.map((r) => [r.ip, number(r.events), share(r.events)]),
      [false, true, true],
    ),
    '\nTop destination ports\n',
    table(
      ['port', 'proto', 'events', 'share'],
      report.topDestinationPorts.map((r) => [
        String(r.port),
        r.proto ?? '-',
        number(r.events),
        share(r.events),
      ]),
      [true, false, true, true],
    ),
  ].join('');
}
