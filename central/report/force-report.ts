/**
 * The force report: for one police force and a period, events by action and protocol, the members
 * seeing the most, top sources and top destination ports across all its members — read from the
 * daily force rollups (migration 004): 30 days of a force cost ~30 × (distinct sources per day) rows.
 *
 * The period is over received_at, widened outward to whole UTC days; the report's `from`/`to` give
 * the period it covers. Each query is one range scan of a rollup's primary key (force_id, day, …);
 * ties sort with COLLATE "C" so both engines give the same order.
 */
import type { Database } from '../store/db.js';
import {
  type ActionCount,
  alignPeriod,
  DAY_MS,
  type GroupedActionRow,
  type PortCount,
  type ProtocolCount,
  protoOut,
  type SourceCount,
  splitGroups,
} from './rollup-period.js';

export interface ForceReport {
  readonly forceId: string;
  /** ISO-8601, inclusive, on a UTC midnight. */
  readonly from: string;
  /** ISO-8601, exclusive, on a UTC midnight. */
  readonly to: string;
  readonly totalEvents: number;
  readonly byAction: readonly ActionCount[];
  readonly byProtocol: readonly ProtocolCount[];
  /** Members with the most events ('' for devices not yet bound to a member), with their names. */
  readonly topMembers: readonly {
    readonly memberId: string;
    readonly name: string | null;
    readonly events: number;
  }[];
  readonly topSources: readonly SourceCount[];
  readonly topDestinationPorts: readonly PortCount[];
}

export interface ForceReportQuery {
  readonly forceId: string;
  readonly from: Date;
  readonly to: Date;
  /** Rows in each top list. */
  readonly top: number;
}

const IN_PERIOD = 'force_id = $1 AND day >= $2 AND day < $3';

export async function forceReport(db: Database, query: ForceReportQuery): Promise<ForceReport> {
  const { from, to } = alignPeriod(query, DAY_MS);
  const period = [query.forceId, from, to];
  const [grouped, topMembers, topSources, ports] = await Promise.all([
    db.query<GroupedActionRow>(
      `SELECT CASE WHEN grouping(action) = 0 THEN 'action' ELSE 'proto' END AS grp,
         coalesce(action, proto) AS key, sum(events)::int8 AS events
       FROM rollup_force_daily_actions WHERE ${IN_PERIOD}
       GROUP BY GROUPING SETS ((action), (proto))
       ORDER BY grp, events DESC, coalesce(action, proto) COLLATE "C"`,
      period,
    ),
    db.query<{ memberId: string; name: string | null; events: number }>(
      `SELECT r.member_id AS "memberId", m.name, sum(r.events)::int8 AS events
       FROM rollup_force_daily_actions r LEFT JOIN members m ON m.member_id = r.member_id
       WHERE r.force_id = $1 AND r.day >= $2 AND r.day < $3
       GROUP BY r.member_id, m.name ORDER BY events DESC, r.member_id COLLATE "C" LIMIT $4`,
      [...period, query.top],
    ),
    db.query<SourceCount>(
      `SELECT src_ip AS ip, sum(events)::int8 AS events FROM rollup_force_daily_sources
       WHERE ${IN_PERIOD} GROUP BY src_ip ORDER BY events DESC, src_ip COLLATE "C" LIMIT $4`,
      [...period, query.top],
    ),
    db.query<{ port: number; proto: string; events: number }>(
      `SELECT dst_port AS port, proto, sum(events)::int8 AS events FROM rollup_force_daily_ports
       WHERE ${IN_PERIOD} GROUP BY dst_port, proto ORDER BY events DESC, dst_port, proto COLLATE "C" LIMIT $4`,
      [...period, query.top],
    ),
  ]);
  const groups = splitGroups(grouped);
  const byAction = (groups.get('action') ?? []).map((r) => ({ action: r.key, events: r.events }));
  return {
    forceId: query.forceId,
    from: from.toISOString(),
    to: to.toISOString(),
    totalEvents: byAction.reduce((sum, r) => sum + r.events, 0),
    byAction,
    byProtocol: (groups.get('proto') ?? []).map((r) => ({ proto: protoOut(r.key), events: r.events })),
    topMembers,
    topSources,
    topDestinationPorts: ports.map((r) => ({ port: r.port, proto: protoOut(r.proto), events: r.events })),
  };
}
