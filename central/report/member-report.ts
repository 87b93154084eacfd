/**
 * The member report: for one member organisation and a period, events by action, by protocol and by
 * device, top sources and top destination ports — read from the hourly member rollups (migration
 * 004), so 30 days cost ~720 hours × (distinct sources per hour) rows, not every event. Exact.
 *
 * The rollup job (`store/rollup-job.ts`) fills the rollups every few seconds, so the report lags
 * ingest by up to one job interval and says how far it is complete (`rolledUpTo`).
 *
 * The period is over received_at like the device report, widened outward to whole UTC hours; the
 * report's `from`/`to` give the period it covers. Data a device sent before it was bound to a member
 * is under member '' (see the migration), not under the member it was later bound to.
 *
 * Each query is one range scan of a rollup's primary key (member_id, hour, …). Ties sort by key with
 * COLLATE "C" so PGlite and PostgreSQL give the same order.
 */
import type { Database } from '../store/db.js';
import { rolledUpTo } from '../store/rollup-job.js';
import {
  type ActionCount,
  alignPeriod,
  type GroupedActionRow,
  HOUR_MS,
  type PortCount,
  type ProtocolCount,
  protoOut,
  type SourceCount,
  splitGroups,
} from './rollup-period.js';

export interface MemberReport {
  readonly memberId: string;
  /** ISO-8601, inclusive, on an hour. */
  readonly from: string;
  /** ISO-8601, exclusive, on an hour. */
  readonly to: string;
  readonly totalEvents: number;
  readonly byAction: readonly ActionCount[];
  readonly byProtocol: readonly ProtocolCount[];
  readonly byDevice: readonly { readonly deviceId: string; readonly events: number }[];
  readonly topSources: readonly SourceCount[];
  readonly topDestinationPorts: readonly PortCount[];
  /** ISO-8601: every batch received before this instant is in the figures. */
  readonly rolledUpTo: string;
}

export interface MemberReportQuery {
  readonly memberId: string;
  readonly from: Date;
  readonly to: Date;
  /** Rows in each top list. */
  readonly top: number;
}

const IN_PERIOD = 'member_id = $1 AND hour >= $2 AND hour < $3';

export async function memberReport(db: Database, query: MemberReportQuery): Promise<MemberReport> {
  const { from, to } = alignPeriod(query, HOUR_MS);
  const period = [query.memberId, from, to];
  const [grouped, topSources, ports, complete] = await Promise.all([
    // One scan of the small actions rollup answers all three breakdowns.
    db.query<GroupedActionRow>(
      `SELECT CASE WHEN grouping(action) = 0 THEN 'action' WHEN grouping(proto) = 0 THEN 'proto'
           ELSE 'device' END AS grp,
         coalesce(action, proto, device_id) AS key, sum(events)::int8 AS events
       FROM rollup_member_hourly_actions WHERE ${IN_PERIOD}
       GROUP BY GROUPING SETS ((action), (proto), (device_id))
       ORDER BY grp, events DESC, coalesce(action, proto, device_id) COLLATE "C"`,
      period,
    ),
    db.query<SourceCount>(
      `SELECT src_ip AS ip, sum(events)::int8 AS events FROM rollup_member_hourly_sources
       WHERE ${IN_PERIOD} GROUP BY src_ip ORDER BY events DESC, src_ip COLLATE "C" LIMIT $4`,
      [...period, query.top],
    ),
    db.query<{ port: number; proto: string; events: number }>(
      `SELECT dst_port AS port, proto, sum(events)::int8 AS events FROM rollup_member_hourly_ports
       WHERE ${IN_PERIOD} GROUP BY dst_port, proto ORDER BY events DESC, dst_port, proto COLLATE "C" LIMIT $4`,
      [...period, query.top],
    ),
    rolledUpTo(db),
  ]);
  const groups = splitGroups(grouped);
  const byAction = (groups.get('action') ?? []).map((r) => ({ action: r.key, events: r.events }));
  return {
    memberId: query.memberId,
    from: from.toISOString(),
    to: to.toISOString(),
    totalEvents: byAction.reduce((sum, r) => sum + r.events, 0),
    byAction,
    byProtocol: (groups.get('proto') ?? []).map((r) => ({ proto: protoOut(r.key), events: r.events })),
    byDevice: (groups.get('device') ?? []).map((r) => ({ deviceId: r.key, events: r.events })),
    topSources,
    topDestinationPorts: ports.map((r) => ({ port: r.port, proto: protoOut(r.proto), events: r.events })),
    rolledUpTo: complete.toISOString(),
  };
}
