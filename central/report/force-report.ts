/**
 * The force report: for one police force and a period, events by action and protocol, the members
 * seeing the most, top sources and top destination ports across all its members — read from the
 * daily force rollups that the rollup job maintains (`store/rollup-job.ts`), so it lags ingest by up
 * to one job interval and says how far it is complete (`rolledUpTo`).
 *
 * Totals, actions, protocols and members are exact (rollup_force_daily_actions). The top sources
 * and ports are summed from each day's top K (migration 006; K = 1000 by default), so 30 days read
 * ≤ 30 × K rows per list instead of every distinct source of every day. Error bound: a key's listed
 * count is the sum over the days on which it was in that day's top K, so it is exact for a key in
 * the top K of every day it appears and otherwise low by at most the sum, over the days it was left
 * out, of that day's largest left-out count. `topListAccuracy` states that bound summed over the
 * period (an upper bound for every key, listed or not); when it is 0 no day left anything out and
 * the lists are exact (`approximate: false`). A key missing from the list can outrank a listed one
 * only by being undercounted, so by no more than the bound.
 *
 * The period is over received_at, widened outward to whole UTC days; the report's `from`/`to` give
 * the period it covers. Each query is one range scan of a rollup's primary key (force_id, day, …);
 * ties sort with COLLATE "C" so both engines give the same order.
 */
import type { Database } from '../store/db.js';
import { rolledUpTo } from '../store/rollup-job.js';
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
  readonly topListAccuracy: TopListAccuracy;
  /** ISO-8601: every batch received before this instant is in the figures (see rolledUpTo). */
  readonly rolledUpTo: string;
}

/** How far the force-wide top lists may be from exact (see the module comment). */
export interface TopListAccuracy {
  /** True when some day in the period left keys out of its top K, i.e. a bound below is > 0. */
  readonly approximate: boolean;
  /** No source's listed (or unlisted, taken as 0) count is more than this below its true count. */
  readonly sourcesMaxUndercount: number;
  readonly portsMaxUndercount: number;
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
  const [grouped, topMembers, topSources, ports, remainders, complete] = await Promise.all([
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
      `SELECT src_ip AS ip, sum(events)::int8 AS events FROM rollup_force_daily_top_sources
       WHERE ${IN_PERIOD} GROUP BY src_ip ORDER BY events DESC, src_ip COLLATE "C" LIMIT $4`,
      [...period, query.top],
    ),
    db.query<{ port: number; proto: string; events: number }>(
      `SELECT dst_port AS port, proto, sum(events)::int8 AS events FROM rollup_force_daily_top_ports
       WHERE ${IN_PERIOD} GROUP BY dst_port, proto ORDER BY events DESC, dst_port, proto COLLATE "C" LIMIT $4`,
      [...period, query.top],
    ),
    db.query<{ list: string; bound: number }>(
      `SELECT list, least(sum(max_events), 9223372036854775807)::int8 AS bound
       FROM rollup_force_daily_remainder WHERE ${IN_PERIOD} GROUP BY list`,
      period,
    ),
    rolledUpTo(db),
  ]);
  const bound = (list: string) => remainders.find((r) => r.list === list)?.bound ?? 0;
  const sourcesMaxUndercount = bound('sources');
  const portsMaxUndercount = bound('ports');
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
    topListAccuracy: {
      approximate: sourcesMaxUndercount > 0 || portsMaxUndercount > 0,
      sourcesMaxUndercount,
      portsMaxUndercount,
    },
    rolledUpTo: complete.toISOString(),
  };
}
