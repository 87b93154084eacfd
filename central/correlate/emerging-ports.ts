/**
 * Emerging ports, in the manner of DShield's port trends: for each destination port (and protocol)
 * the distinct external sources denied there in the period, against the same port's own baseline —
 * the mean distinct sources per day over the `baselineDays` before the period, scaled to the
 * period's length. A port is flagged when it has at least `minSources` sources and
 * `sources / max(expected, 1) ≥ minRatio` (a port with no history at all is compared against one
 * source, so a brand-new port needs `minRatio` sources or `minSources`, whichever is more).
 *
 * The baseline is averaged over the days on which central received anything, not over calendar
 * days, so an outage or a fresh install does not make every port look new; with fewer than
 * `minBaselineDays` such days there is no baseline and nothing is flagged (`baselineDays` in the
 * result says why). Over a period longer than a day the distinct count is over the whole period,
 * the baseline a sum of daily counts: a source seen on several days counts once now but several
 * times in the baseline, which errs toward flagging less.
 */
import type { Database } from '../store/db.js';
import { type Finding, scopeOf } from './finding.js';
import { DENIED_ACTIONS_SQL } from './source-hits.js';

export interface EmergingPortOptions {
  readonly from: Date;
  readonly to: Date;
  readonly minRatio: number;
  readonly minSources: number;
  readonly baselineDays: number;
  readonly minBaselineDays?: number;
}

export interface EmergingPortResult {
  readonly findings: Finding[];
  /** Days with data in the baseline window. */
  readonly baselineDays: number;
}

const DAY_MS = 86_400_000;
const DAY_S = 86_400;

const PORT_EVENTS_SQL = `
    FROM events e
    JOIN devices d ON d.device_id = e.device_id
    JOIN members m ON m.member_id = d.member_id
    JOIN forces f ON f.force_id = m.force_id
   WHERE e.received_at >= $1 AND e.received_at < $2
     AND e.action IN ${DENIED_ACTIONS_SQL}
     AND e.dst_port IS NOT NULL
     AND e.src_ip IS NOT NULL AND e.src_ip NOT LIKE 'p:%'
     AND (e.direction IS NULL OR e.direction NOT IN ('out', 'outbound'))`;

interface PortRow {
  readonly port: number;
  readonly proto: string | null;
  readonly sources: number;
  readonly members: number;
  readonly forces: number;
  readonly regions: number;
  readonly region_unknown: boolean;
  readonly force_id: string | null;
  readonly region_id: string | null;
  readonly events: number;
  readonly first_seen: Date;
  readonly last_seen: Date;
}

export async function findEmergingPorts(
  db: Database,
  options: EmergingPortOptions,
): Promise<EmergingPortResult> {
  const { from, to } = options;
  const baselineFrom = new Date(from.getTime() - options.baselineDays * DAY_MS);
  const [days] = await db.query<{ days: number }>(
    `SELECT count(DISTINCT floor(extract(epoch FROM received_at)::float8 / ${DAY_S}))::int8 AS days
       FROM batches WHERE received_at >= $1 AND received_at < $2`,
    [baselineFrom, from],
  );
  const baselineDays = days?.days ?? 0;
  if (baselineDays < (options.minBaselineDays ?? 7)) return { findings: [], baselineDays };

  const candidates = await db.query<PortRow>(
    `SELECT e.dst_port AS port, e.proto,
            count(DISTINCT e.src_ip)::int8 AS sources,
            count(DISTINCT m.member_id)::int8 AS members,
            count(DISTINCT m.force_id)::int8 AS forces,
            count(DISTINCT f.region_id)::int8 AS regions,
            bool_or(f.region_id IS NULL) AS region_unknown,
            min(m.force_id) AS force_id,
            min(f.region_id) AS region_id,
            sum(e.count)::int8 AS events,
            min(e.received_at) AS first_seen,
            max(e.received_at) AS last_seen
     ${PORT_EVENTS_SQL}
      GROUP BY e.dst_port, e.proto
     HAVING count(DISTINCT e.src_ip) >= $3
      ORDER BY sources DESC, port`,
    [from, to, options.minSources],
  );
  if (candidates.length === 0) return { findings: [], baselineDays };

  const baseline = await db.query<{ port: number; proto: string | null; source_days: number }>(
    `WITH daily AS (
       SELECT e.dst_port AS port, e.proto,
              floor(extract(epoch FROM e.received_at)::float8 / ${DAY_S}) AS day,
              count(DISTINCT e.src_ip)::int8 AS sources
       ${PORT_EVENTS_SQL}
          AND e.dst_port IN (SELECT value::int FROM jsonb_array_elements_text($3::jsonb))
        GROUP BY 1, 2, 3
     )
     SELECT port, proto, sum(sources)::int8 AS source_days FROM daily GROUP BY port, proto`,
    [baselineFrom, from, JSON.stringify([...new Set(candidates.map((c) => c.port))])],
  );
  const key = (port: number, proto: string | null) => `${proto ?? ''}/${port}`;
  const sourceDays = new Map(baseline.map((b) => [key(b.port, b.proto), b.source_days]));
  const periodDays = (to.getTime() - from.getTime()) / DAY_MS;

  const findings: Finding[] = [];
  for (const row of candidates) {
    const perDay = (sourceDays.get(key(row.port, row.proto)) ?? 0) / baselineDays;
    const expected = perDay * periodDays;
    const ratio = row.sources / Math.max(expected, 1);
    if (ratio < options.minRatio) continue;
    findings.push({
      kind: 'emerging-port',
      ...scopeOf({
        forces: row.forces,
        regions: row.regions,
        regionUnknown: row.region_unknown,
        forceId: row.force_id,
        regionId: row.region_id,
      }),
      srcIp: null,
      dstPort: row.port,
      proto: row.proto,
      members: row.members,
      forces: row.forces,
      events: row.events,
      firstSeen: row.first_seen.toISOString(),
      lastSeen: row.last_seen.toISOString(),
      from: from.toISOString(),
      to: to.toISOString(),
      detail: {
        sources: row.sources,
        baselineSourcesPerDay: Math.round(perDay * 100) / 100,
        ratio: Math.round(ratio * 100) / 100,
      },
    });
  }
  return { findings, baselineDays };
}
