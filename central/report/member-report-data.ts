/**
 * The member report's data: everything its sections show, read from the store for one member and a
 * period, as plain JSON. The sections (`sections/`) are pure functions over this, so their fixtures
 * are JSON files and the same data can travel from a running central to the CLI (portal
 * `/api/members/:id/report-data`) to be rendered there.
 *
 * What counts as suspicious: a connection from an address outside the member's network (anything
 * that is not a `p:` pseudonym) that the firewall blocked (deny, drop, reject), or that it allowed
 * while the source was alerted on by one of the member's appliances or is on a campaign finding in
 * the period — the allowed ones are where the risk is, so the report shows them first.
 *
 * Queries read the raw `events` of the member's devices over received_at (the daily partitions and
 * the (device_id, received_at) index), the member's `alerts`, `findings`, `loss_records`, and for the
 * network comparison and the silent periods the hourly member rollups (only counts of other members,
 * never who they are). Each query returns a bounded number of rows (LIMIT), whatever the volume.
 *
 * Internal hosts are shown as the pseudonyms central holds: central never learns their addresses.
 */

import { DENIED_ACTIONS_SQL } from '../correlate/source-hits.js';
import type { Database } from '../store/db.js';
import { type IpEnricher, type IpInfo, UNKNOWN_ENRICHER } from './ip-enrichment.js';

export const REPORT_DATA_VERSION = 1;
/** Rows per list; the totals always count everything. */
export const REPORT_LIMITS = {
  alerts: 30,
  allowedFlows: 40,
  sources: 30,
  ports: 15,
  hosts: 20,
  lossRecords: 20,
  silentPeriods: 20,
} as const;
/** A device with no data for this many hours in a row is reported as a silent period. */
export const SILENT_MIN_HOURS = 3;
const HOUR_MS = 3_600_000;

export interface ReportAlert {
  readonly detector: string;
  readonly kind: string | null;
  readonly severity: string;
  readonly status: string | null;
  /** `targeted` or `background` (a mass scanner the whole internet sees). */
  readonly label: string | null;
  /** The address the alert is about (a source in clear, or for destination-keyed alerts a pseudonym). */
  readonly subject: string | null;
  readonly keyRole: string | null;
  readonly deviceId: string;
  readonly targets: readonly string[];
  readonly ports: readonly number[];
  readonly protocols: readonly string[];
  readonly events: number | null;
  readonly distinctTargets: number | null;
  readonly distinctPorts: number | null;
  /** ISO 8601. */
  readonly firstSeen: string;
  readonly lastSeen: string | null;
  readonly summary: string;
  readonly advice: string | null;
  readonly where: IpInfo;
}

export interface AllowedFlow {
  readonly src: string;
  readonly dst: string | null;
  readonly port: number | null;
  readonly proto: string | null;
  readonly events: number;
  readonly alerted: boolean;
  readonly campaign: boolean;
  readonly firstSeen: string;
  readonly lastSeen: string;
}

export interface ReportSource extends IpInfo {
  readonly ip: string;
  readonly blocked: number;
  /** Allowed connections, counted only for alerted or campaign sources (the rest are not suspicious). */
  readonly allowed: number;
  readonly ports: number;
  readonly targets: number;
  readonly alerted: boolean;
  readonly campaign: boolean;
}

export interface ReportPort {
  readonly port: number;
  readonly proto: string | null;
  readonly blocked: number;
  readonly allowed: number;
  readonly sources: number;
}

export interface ReportHost {
  /** The pseudonym (or an address the member's appliance keeps in clear, e.g. a public one). */
  readonly host: string;
  readonly deviceId: string;
  readonly blocked: number;
  readonly allowed: number;
  readonly sources: number;
  readonly ports: number;
}

export interface ComparedSource {
  readonly ip: string;
  /** Other members (not this one) whose appliances saw the source in the period. */
  readonly otherMembers: number;
  /** The widest campaign or scanner finding about it overlapping the period, counts only. */
  readonly finding: {
    readonly kind: string;
    readonly members: number;
    readonly forces: number;
    readonly scope: string;
  } | null;
}

export interface LossRow {
  readonly deviceId: string;
  readonly reason: string;
  readonly events: number;
  readonly from: string | null;
  readonly to: string | null;
}

export interface SilentPeriod {
  readonly deviceId: string;
  /** ISO 8601, hour boundaries, `to` exclusive. */
  readonly from: string;
  readonly to: string;
  readonly hours: number;
}

export interface MemberReportData {
  readonly version: typeof REPORT_DATA_VERSION;
  readonly memberId: string;
  readonly memberName: string;
  readonly forceName: string | null;
  /** ISO 8601, `to` exclusive. */
  readonly from: string;
  readonly to: string;
  readonly generatedAt: string;
  readonly devices: readonly string[];
  readonly totals: {
    /** Every connection logged by the member's appliances in the period. */
    readonly events: number;
    readonly blocked: number;
    readonly allowed: number;
    /** Blocked connections from outside addresses. */
    readonly suspiciousBlocked: number;
    /** Allowed connections from alerted or campaign sources. */
    readonly suspiciousAllowed: number;
    /** Distinct outside addresses behind the suspicious connections. */
    readonly suspiciousSources: number;
  };
  /** Per UTC day of the period. */
  readonly daily: readonly { readonly day: string; readonly blocked: number; readonly allowed: number }[];
  readonly alerts: readonly ReportAlert[];
  readonly alertCounts: {
    readonly total: number;
    readonly high: number;
    readonly medium: number;
    readonly low: number;
  };
  readonly allowedFlows: readonly AllowedFlow[];
  /** Distinct allowed (source, destination, port, protocol) flows from risky sources. */
  readonly allowedFlowCount: number;
  readonly sources: readonly ReportSource[];
  readonly ports: readonly ReportPort[];
  readonly hosts: readonly ReportHost[];
  readonly comparison: {
    /** Members in the network (all forces), this one included. */
    readonly networkMembers: number;
    readonly sources: readonly ComparedSource[];
  };
  readonly gaps: {
    readonly lossRecords: readonly LossRow[];
    readonly lostEvents: number;
    readonly silentPeriods: readonly SilentPeriod[];
    /** Devices of the member that sent nothing at all in the period. */
    readonly silentDevices: readonly string[];
  };
  /** Where the country and network (ASN) data come from, or why there is none. */
  readonly enrichment: { readonly available: boolean; readonly source: string };
}

/** A report with nothing in it: the base the section fixtures add their data to. */
export function emptyReportData(base: Partial<MemberReportData> = {}): MemberReportData {
  return {
    version: REPORT_DATA_VERSION,
    memberId: 'm1',
    memberName: 'Member one',
    forceName: null,
    from: '2025-03-01T00:00:00.000Z',
    to: '2025-03-08T00:00:00.000Z',
    generatedAt: '2025-03-08T00:05:00.000Z',
    devices: [],
    totals: {
      events: 0,
      blocked: 0,
      allowed: 0,
      suspiciousBlocked: 0,
      suspiciousAllowed: 0,
      suspiciousSources: 0,
    },
    daily: [],
    alerts: [],
    alertCounts: { total: 0, high: 0, medium: 0, low: 0 },
    allowedFlows: [],
    allowedFlowCount: 0,
    sources: [],
    ports: [],
    hosts: [],
    comparison: { networkMembers: 0, sources: [] },
    gaps: { lossRecords: [], lostEvents: 0, silentPeriods: [], silentDevices: [] },
    enrichment: { available: false, source: '' },
    ...base,
  };
}

export interface MemberReportDataQuery {
  readonly memberId: string;
  readonly from: Date;
  readonly to: Date;
  readonly enricher?: IpEnricher;
  readonly now?: Date;
}

/** The member is not in the members table. */
export class UnknownMemberError extends Error {
  override readonly name = 'UnknownMemberError';
}

const iso = (d: Date | string | null): string | null =>
  d === null ? null : (d instanceof Date ? d : new Date(d)).toISOString();
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/** $1 devices, $2 from, $3 to: the member's events in the period. */
const IN_PERIOD = 'e.device_id = ANY($1::text[]) AND e.received_at >= $2 AND e.received_at < $3';
const OUTSIDE = "e.src_ip IS NOT NULL AND e.src_ip NOT LIKE 'p:%'";
/**
 * Sources alerted on by the member's appliances in the period, or on a campaign finding overlapping
 * it; $1 devices, $2 from, $3 to.
 */
const RISKY_CTE = `risky AS (
  SELECT src, bool_or(alerted) AS alerted, bool_or(campaign) AS campaign FROM (
    SELECT a.src_ip AS src, true AS alerted, false AS campaign FROM alerts a
     WHERE a.device_id = ANY($1::text[]) AND coalesce(a.last_seen, a.raised_at) >= $2 AND a.raised_at < $3
       AND a.src_ip IS NOT NULL AND a.src_ip NOT LIKE 'p:%' AND coalesce(a.key_role, 'source') = 'source'
    UNION ALL
    SELECT f.src_ip, false, true FROM findings f
     WHERE f.kind = 'campaign' AND f.src_ip IS NOT NULL AND f.last_seen >= $2 AND f.first_seen < $3
  ) r GROUP BY src)`;
const SUSPICIOUS = `(e.action IN ${DENIED_ACTIONS_SQL} OR (e.action = 'allow' AND r.src IS NOT NULL))`;

export async function memberReportData(
  db: Database,
  query: MemberReportDataQuery,
): Promise<MemberReportData> {
  const enricher = query.enricher ?? UNKNOWN_ENRICHER;
  const { memberId, from, to } = query;
  const [member] = await db.query<{ name: string; force_name: string | null }>(
    `SELECT m.name, f.name AS force_name FROM members m LEFT JOIN forces f ON f.force_id = m.force_id
      WHERE m.member_id = $1`,
    [memberId],
  );
  if (!member) throw new UnknownMemberError(`no member ${JSON.stringify(memberId)}`);
  const deviceRows = await db.query<{ device_id: string; first_seen: Date }>(
    'SELECT device_id, first_seen FROM devices WHERE member_id = $1 ORDER BY device_id COLLATE "C"',
    [memberId],
  );
  const devices = deviceRows.map((d) => d.device_id);
  const p = [devices, from, to];
  const hourFrom = new Date(Math.floor(from.getTime() / HOUR_MS) * HOUR_MS);
  const hourTo = new Date(Math.ceil(to.getTime() / HOUR_MS) * HOUR_MS);

  const [daily, alertRows, allowed, sources, ports, hosts, loss, hours, networkMembers] = await Promise.all([
    db.query<{ day: Date; action: string; events: number }>(
      `SELECT date_trunc('day', e.received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day, e.action,
              sum(e.count)::int8 AS events
         FROM events e WHERE ${IN_PERIOD} GROUP BY 1, 2 ORDER BY 1`,
      p,
    ),
    db.query<{
      detector: string;
      kind: string | null;
      severity: string;
      status: string | null;
      label: string | null;
      key_role: string | null;
      src_ip: string | null;
      dst_ip: string | null;
      device_id: string;
      events: number | null;
      raised_at: Date;
      first_seen: Date | null;
      last_seen: Date | null;
      summary: string;
      detail: Record<string, unknown> | null;
      total: number;
      high: number;
      medium: number;
    }>(
      `SELECT a.detector, a.kind, a.severity, a.status, a.label, a.key_role, a.src_ip, a.dst_ip, a.device_id,
              a.events, a.raised_at, a.first_seen, a.last_seen, a.summary, a.detail,
              count(*) OVER ()::int8 AS total,
              count(*) FILTER (WHERE a.severity = 'high') OVER ()::int8 AS high,
              count(*) FILTER (WHERE a.severity = 'medium') OVER ()::int8 AS medium
         FROM alerts a
        WHERE a.device_id = ANY($1::text[]) AND coalesce(a.last_seen, a.raised_at) >= $2 AND a.raised_at < $3
        ORDER BY CASE a.severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END,
                 CASE WHEN a.label = 'background' THEN 1 ELSE 0 END, coalesce(a.events, 0) DESC, a.id
        LIMIT ${REPORT_LIMITS.alerts}`,
      p,
    ),
    db.query<{
      src: string;
      dst: string | null;
      port: number | null;
      proto: string | null;
      events: number;
      alerted: boolean;
      campaign: boolean;
      first_seen: Date;
      last_seen: Date;
      flows: number;
      total: number;
    }>(
      `WITH ${RISKY_CTE}
       SELECT * FROM (
       SELECT e.src_ip AS src, e.dst_ip AS dst, e.dst_port AS port, e.proto, sum(e.count)::int8 AS events,
              bool_or(r.alerted) AS alerted, bool_or(r.campaign) AS campaign,
              min(e.received_at) AS first_seen, max(e.received_at) AS last_seen,
              count(*) OVER ()::int8 AS flows, (sum(sum(e.count)) OVER ())::int8 AS total
         FROM events e JOIN risky r ON r.src = e.src_ip
        WHERE ${IN_PERIOD} AND e.action = 'allow'
        GROUP BY e.src_ip, e.dst_ip, e.dst_port, e.proto) q
        ORDER BY events DESC, src COLLATE "C", dst COLLATE "C", port, proto COLLATE "C"
        LIMIT ${REPORT_LIMITS.allowedFlows}`,
      p,
    ),
    db.query<{
      ip: string;
      blocked: number;
      allowed: number;
      ports: number;
      targets: number;
      alerted: boolean | null;
      campaign: boolean | null;
      sources: number;
      total_blocked: number;
    }>(
      `WITH ${RISKY_CTE}
       SELECT * FROM (
       SELECT e.src_ip AS ip,
              coalesce(sum(e.count) FILTER (WHERE e.action IN ${DENIED_ACTIONS_SQL}), 0)::int8 AS blocked,
              coalesce(sum(e.count) FILTER (WHERE e.action = 'allow'), 0)::int8 AS allowed,
              count(DISTINCT e.dst_port)::int8 AS ports, count(DISTINCT e.dst_ip)::int8 AS targets,
              bool_or(r.alerted) AS alerted, bool_or(r.campaign) AS campaign,
              count(*) OVER ()::int8 AS sources,
              (sum(coalesce(sum(e.count) FILTER (WHERE e.action IN ${DENIED_ACTIONS_SQL}), 0)) OVER ())::int8
                AS total_blocked
         FROM events e LEFT JOIN risky r ON r.src = e.src_ip
        WHERE ${IN_PERIOD} AND ${OUTSIDE} AND ${SUSPICIOUS}
        GROUP BY e.src_ip) q
        ORDER BY blocked + allowed DESC, ip COLLATE "C"
        LIMIT ${REPORT_LIMITS.sources}`,
      p,
    ),
    db.query<{ port: number; proto: string | null; blocked: number; allowed: number; sources: number }>(
      `WITH ${RISKY_CTE}
       SELECT * FROM (
       SELECT e.dst_port AS port, e.proto,
              coalesce(sum(e.count) FILTER (WHERE e.action IN ${DENIED_ACTIONS_SQL}), 0)::int8 AS blocked,
              coalesce(sum(e.count) FILTER (WHERE e.action = 'allow'), 0)::int8 AS allowed,
              count(DISTINCT e.src_ip)::int8 AS sources
         FROM events e LEFT JOIN risky r ON r.src = e.src_ip
        WHERE ${IN_PERIOD} AND ${OUTSIDE} AND ${SUSPICIOUS} AND e.dst_port IS NOT NULL
        GROUP BY e.dst_port, e.proto) q
        ORDER BY blocked + allowed DESC, port, proto COLLATE "C" NULLS FIRST
        LIMIT ${REPORT_LIMITS.ports}`,
      p,
    ),
    db.query<{
      host: string;
      device_id: string;
      blocked: number;
      allowed: number;
      sources: number;
      ports: number;
    }>(
      `WITH ${RISKY_CTE}
       SELECT * FROM (
       SELECT e.dst_ip AS host, e.device_id,
              coalesce(sum(e.count) FILTER (WHERE e.action IN ${DENIED_ACTIONS_SQL}), 0)::int8 AS blocked,
              coalesce(sum(e.count) FILTER (WHERE e.action = 'allow'), 0)::int8 AS allowed,
              count(DISTINCT e.src_ip)::int8 AS sources, count(DISTINCT e.dst_port)::int8 AS ports
         FROM events e LEFT JOIN risky r ON r.src = e.src_ip
        WHERE ${IN_PERIOD} AND ${OUTSIDE} AND ${SUSPICIOUS} AND e.dst_ip IS NOT NULL
        GROUP BY e.dst_ip, e.device_id) q
        ORDER BY allowed DESC, blocked DESC, host COLLATE "C", device_id COLLATE "C"
        LIMIT ${REPORT_LIMITS.hosts}`,
      p,
    ),
    // A loss record with no time at all cannot be placed in a period and is left out.
    db.query<{
      device_id: string;
      reason: string;
      count: number;
      first_ts: Date | null;
      last_ts: Date | null;
    }>(
      `SELECT device_id, reason, count, first_ts, last_ts FROM loss_records
        WHERE device_id = ANY($1::text[])
          AND coalesce(last_ts, first_ts) >= $2 AND coalesce(first_ts, last_ts) < $3
        ORDER BY coalesce(first_ts, last_ts), id`,
      p,
    ),
    db.query<{ device_id: string; hour: Date }>(
      `SELECT DISTINCT device_id, hour FROM rollup_member_hourly_actions
        WHERE member_id = $1 AND hour >= $2 AND hour < $3 ORDER BY 1, 2`,
      [memberId, hourFrom, hourTo],
    ),
    db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM members'),
  ]);

  // Totals and the per-day chart.
  const dayMap = new Map<string, { blocked: number; allowed: number }>();
  let events = 0;
  let blocked = 0;
  let allowedTotal = 0;
  for (const row of daily) {
    const day = iso(row.day) as string;
    const slot = dayMap.get(day) ?? { blocked: 0, allowed: 0 };
    events += row.events;
    if (row.action === 'allow') {
      allowedTotal += row.events;
      slot.allowed += row.events;
    } else if (row.action === 'deny' || row.action === 'drop' || row.action === 'reject') {
      blocked += row.events;
      slot.blocked += row.events;
    }
    dayMap.set(day, slot);
  }
  const days: { day: string; blocked: number; allowed: number }[] = [];
  for (let t = Math.floor(from.getTime() / 86_400_000) * 86_400_000; t < to.getTime(); t += 86_400_000) {
    const day = new Date(t).toISOString();
    days.push({ day, ...(dayMap.get(day) ?? { blocked: 0, allowed: 0 }) });
  }

  const alerts: ReportAlert[] = alertRows.map((a) => {
    const detail = a.detail ?? {};
    const list = <T>(key: string): T[] => (Array.isArray(detail[key]) ? (detail[key] as T[]) : []);
    const subject = a.key_role === 'destination' ? a.dst_ip : a.src_ip;
    return {
      detector: a.detector,
      kind: a.kind,
      severity: a.severity,
      status: a.status,
      label: a.label,
      subject,
      keyRole: a.key_role,
      deviceId: a.device_id,
      targets: list<string>('targets').map(String),
      ports: list<number>('ports').map(Number),
      protocols: list<string>('protocols').map(String),
      events: a.events === null ? null : Number(a.events),
      distinctTargets: typeof detail.distinctTargets === 'number' ? detail.distinctTargets : null,
      distinctPorts: typeof detail.distinctPorts === 'number' ? detail.distinctPorts : null,
      firstSeen: iso(a.first_seen ?? a.raised_at) as string,
      lastSeen: iso(a.last_seen),
      summary: a.summary,
      advice: typeof detail.advice === 'string' ? detail.advice : null,
      where: subject && a.key_role !== 'destination' ? enricher.lookup(subject) : UNKNOWN_ENRICHER.lookup(''),
    };
  });
  const first = alertRows[0];
  const alertCounts = first
    ? {
        total: num(first.total),
        high: num(first.high),
        medium: num(first.medium),
        low: num(first.total) - num(first.high) - num(first.medium),
      }
    : { total: 0, high: 0, medium: 0, low: 0 };

  const reportSources: ReportSource[] = sources.map((s) => ({
    ip: s.ip,
    blocked: num(s.blocked),
    allowed: s.alerted || s.campaign ? num(s.allowed) : 0,
    ports: num(s.ports),
    targets: num(s.targets),
    alerted: s.alerted === true,
    campaign: s.campaign === true,
    ...enricher.lookup(s.ip),
  }));

  // The network comparison: the member's top sources and alert subjects, other members' counts only.
  const compareIps = [
    ...new Set([
      ...reportSources.slice(0, 15).map((s) => s.ip),
      ...alerts.filter((a) => a.subject && !a.subject.startsWith('p:')).map((a) => a.subject as string),
    ]),
  ].slice(0, 25);
  const [seenBy, findingRows] = compareIps.length
    ? await Promise.all([
        db.query<{ src_ip: string; members: number }>(
          `SELECT src_ip, count(DISTINCT member_id)::int8 AS members FROM rollup_member_hourly_sources
            WHERE src_ip = ANY($1::text[]) AND hour >= $2 AND hour < $3 AND member_id <> '' AND member_id <> $4
            GROUP BY src_ip`,
          [compareIps, hourFrom, hourTo, memberId],
        ),
        db.query<{ src_ip: string; kind: string; members: number; forces: number; scope: string }>(
          `SELECT DISTINCT ON (src_ip) src_ip, kind, members, forces, scope FROM findings
            WHERE src_ip = ANY($1::text[]) AND kind IN ('campaign', 'new-scanner')
              AND last_seen >= $2 AND first_seen < $3
            ORDER BY src_ip, members DESC, forces DESC, id`,
          [compareIps, from, to],
        ),
      ])
    : [[], []];
  const seen = new Map(seenBy.map((r) => [r.src_ip, num(r.members)]));
  const findingOf = new Map(findingRows.map((r) => [r.src_ip, r]));
  const compared: ComparedSource[] = compareIps.map((ip) => {
    const f = findingOf.get(ip);
    return {
      ip,
      otherMembers: seen.get(ip) ?? 0,
      finding: f ? { kind: f.kind, members: num(f.members), forces: num(f.forces), scope: f.scope } : null,
    };
  });

  // Silent periods: runs of hours with no data from a device, within the part of the period after
  // it first appeared; the run still open at the end stops at `now` (the hour in progress is not silent).
  const now = query.now ?? new Date();
  const endMs = Math.min(hourTo.getTime(), Math.floor(now.getTime() / HOUR_MS) * HOUR_MS);
  const byDevice = new Map<string, number[]>();
  for (const h of hours) {
    const list = byDevice.get(h.device_id) ?? [];
    list.push(h.hour.getTime());
    byDevice.set(h.device_id, list);
  }
  const silentPeriods: SilentPeriod[] = [];
  const silentDevices: string[] = [];
  for (const d of deviceRows) {
    const seenHours = byDevice.get(d.device_id) ?? [];
    const startMs = Math.max(hourFrom.getTime(), Math.floor(d.first_seen.getTime() / HOUR_MS) * HOUR_MS);
    if (seenHours.length === 0) {
      if (startMs < endMs) silentDevices.push(d.device_id);
      continue;
    }
    let cursor = startMs;
    for (const h of [...seenHours, endMs]) {
      if (h - cursor >= SILENT_MIN_HOURS * HOUR_MS) {
        silentPeriods.push({
          deviceId: d.device_id,
          from: new Date(cursor).toISOString(),
          to: new Date(h).toISOString(),
          hours: (h - cursor) / HOUR_MS,
        });
      }
      cursor = Math.max(cursor, h + HOUR_MS);
    }
  }
  silentPeriods.sort((a, b) => b.hours - a.hours || a.from.localeCompare(b.from));

  const allowedFirst = allowed[0];
  const sourcesFirst = sources[0];
  return {
    version: REPORT_DATA_VERSION,
    memberId,
    memberName: member.name,
    forceName: member.force_name,
    from: from.toISOString(),
    to: to.toISOString(),
    generatedAt: now.toISOString(),
    devices,
    totals: {
      events,
      blocked,
      allowed: allowedTotal,
      suspiciousBlocked: sourcesFirst ? num(sourcesFirst.total_blocked) : 0,
      suspiciousAllowed: allowedFirst ? num(allowedFirst.total) : 0,
      suspiciousSources: sourcesFirst ? num(sourcesFirst.sources) : 0,
    },
    daily: days,
    alerts,
    alertCounts,
    allowedFlows: allowed.map((f) => ({
      src: f.src,
      dst: f.dst,
      port: f.port,
      proto: f.proto,
      events: num(f.events),
      alerted: f.alerted === true,
      campaign: f.campaign === true,
      firstSeen: iso(f.first_seen) as string,
      lastSeen: iso(f.last_seen) as string,
    })),
    allowedFlowCount: allowedFirst ? num(allowedFirst.flows) : 0,
    sources: reportSources,
    ports: ports.map((r) => ({
      port: r.port,
      proto: r.proto,
      blocked: num(r.blocked),
      allowed: num(r.allowed),
      sources: num(r.sources),
    })),
    hosts: hosts.map((h) => ({
      host: h.host,
      deviceId: h.device_id,
      blocked: num(h.blocked),
      allowed: num(h.allowed),
      sources: num(h.sources),
      ports: num(h.ports),
    })),
    comparison: { networkMembers: num(networkMembers[0]?.n), sources: compared },
    gaps: {
      lossRecords: loss.slice(0, REPORT_LIMITS.lossRecords).map((l) => ({
        deviceId: l.device_id,
        reason: l.reason,
        events: num(l.count),
        from: iso(l.first_ts),
        to: iso(l.last_ts),
      })),
      lostEvents: loss.reduce((sum, l) => sum + num(l.count), 0),
      silentPeriods: silentPeriods.slice(0, REPORT_LIMITS.silentPeriods),
      silentDevices,
    },
    enrichment: { available: enricher.available, source: enricher.source },
  };
}
