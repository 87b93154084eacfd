/**
 * The SQL the source-based findings (campaigns, new scanners) share: every time an external source
 * was denied at, or alerted on by, a device bound to a member, with that member's force and region.
 * Pseudonyms (`p:…`, internal addresses after the privacy boundary) are left out here; addresses in
 * clear that are not public are left out by `isPublicAddress` on the few rows that come back.
 *
 * Parameters: $1 from, $2 to (timestamptz, `to` exclusive). Devices not bound to a member have no
 * member to count and are left out.
 */
import type { Database } from '../store/db.js';
import { type Finding, type FindingKind, isPublicAddress, scopeOf } from './finding.js';

export const DENIED_ACTIONS_SQL = "('deny', 'drop', 'reject')";

export const SOURCE_HITS_SQL = `
  SELECT e.src_ip AS src, d.member_id, m.force_id, f.region_id, e.received_at AS at,
         e.count AS events, 0 AS alerts
    FROM events e
    JOIN devices d ON d.device_id = e.device_id
    JOIN members m ON m.member_id = d.member_id
    JOIN forces f ON f.force_id = m.force_id
   WHERE e.received_at >= $1 AND e.received_at < $2
     AND e.action IN ${DENIED_ACTIONS_SQL}
     AND e.src_ip IS NOT NULL AND e.src_ip NOT LIKE 'p:%'
  UNION ALL
  SELECT a.src_ip, d.member_id, m.force_id, f.region_id, a.raised_at, 0, 1
    FROM alerts a
    JOIN devices d ON d.device_id = a.device_id
    JOIN members m ON m.member_id = d.member_id
    JOIN forces f ON f.force_id = m.force_id
   WHERE a.raised_at >= $1 AND a.raised_at < $2
     AND a.src_ip IS NOT NULL AND a.src_ip NOT LIKE 'p:%'`;

/** The aggregate columns every source row carries (over a `hits` relation). */
export const SPREAD_COLUMNS_SQL = `
  count(DISTINCT member_id)::int8 AS members,
  count(DISTINCT force_id)::int8 AS forces,
  count(DISTINCT region_id)::int8 AS regions,
  bool_or(region_id IS NULL) AS region_unknown,
  min(force_id) AS force_id,
  min(region_id) AS region_id,
  sum(events)::int8 AS events,
  sum(alerts)::int8 AS alerts,
  min(at) AS first_seen,
  max(at) AS last_seen`;

export interface SourceRow {
  readonly src: string;
  readonly members: number;
  readonly forces: number;
  readonly regions: number;
  readonly region_unknown: boolean;
  readonly force_id: string | null;
  readonly region_id: string | null;
  readonly events: number;
  readonly alerts: number;
  readonly first_seen: Date;
  readonly last_seen: Date;
}

/** A source row as a finding (or undefined for an address that is not public). */
export function sourceFinding(
  kind: FindingKind,
  row: SourceRow,
  window: { readonly from: Date; readonly to: Date },
): Finding | undefined {
  if (!isPublicAddress(row.src)) return undefined;
  return {
    kind,
    ...scopeOf({
      forces: row.forces,
      regions: row.regions,
      regionUnknown: row.region_unknown,
      forceId: row.force_id,
      regionId: row.region_id,
    }),
    srcIp: row.src,
    dstPort: null,
    proto: null,
    members: row.members,
    forces: row.forces,
    events: row.events + row.alerts,
    firstSeen: row.first_seen.toISOString(),
    lastSeen: row.last_seen.toISOString(),
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    detail: { alerts: row.alerts, deniedEvents: row.events },
  };
}

export type { Database };
