/**
 * Findings in the `findings` table (migration 010). A new observation of a subject (a source, a
 * port) that touches or overlaps one already stored — its first sighting no more than `mergeGapMs`
 * after the stored one's last — is merged into that row: seen-times and the window widen, counts
 * take the larger value (overlapping windows would count the same events twice if added), the scope
 * widens (finding.ts `widerScope`). So an ongoing campaign is one row that moves on, and running the
 * job twice over the same period changes nothing.
 */
import type { Database, Queryable } from '../store/db.js';
import { type Finding, type FindingKind, type FindingScope, widerScope } from './finding.js';

/** Fixed key for pg_advisory_xact_lock ("CYBF"), distinct from the store's other locks. */
export const FINDINGS_LOCK_KEY = 0x43594246;

export interface StoreFindingsResult {
  readonly inserted: number;
  readonly updated: number;
}

interface FindingRow {
  readonly id: number;
  readonly scope: FindingScope;
  readonly scope_id: string | null;
  readonly members: number;
  readonly forces: number;
  readonly events: number;
  readonly first_seen: Date;
  readonly last_seen: Date;
  readonly range_from: Date;
  readonly range_to: Date;
  readonly detail: Record<string, number>;
}

export function findingSubject(finding: Pick<Finding, 'srcIp' | 'dstPort' | 'proto'>): string {
  if (finding.srcIp !== null) return finding.srcIp;
  return `${finding.proto ?? 'any'}/${finding.dstPort ?? 0}`;
}

export async function storeFindings(
  db: Database,
  findings: readonly Finding[],
  options: { readonly now: Date; readonly mergeGapMs: number },
): Promise<StoreFindingsResult> {
  let inserted = 0;
  let updated = 0;
  await db.transaction(async (tx) => {
    // Two runs at once (the schedule and `correlate`, or two central processes) would each insert
    // the same new subject: they take turns instead.
    await tx.query('SELECT pg_advisory_xact_lock($1::int8)', [FINDINGS_LOCK_KEY]);
    for (const finding of findings) {
      if ((await merge(tx, finding, options)) === 'inserted') inserted++;
      else updated++;
    }
  });
  return { inserted, updated };
}

async function merge(
  tx: Queryable,
  f: Finding,
  options: { readonly now: Date; readonly mergeGapMs: number },
): Promise<'inserted' | 'updated'> {
  const subject = findingSubject(f);
  const firstSeen = new Date(f.firstSeen);
  const [row] = await tx.query<FindingRow>(
    `SELECT id, scope, scope_id, members, forces, events, first_seen, last_seen, range_from, range_to, detail
       FROM findings
      WHERE kind = $1 AND subject = $2 AND last_seen >= $3 AND first_seen <= $4
      ORDER BY last_seen DESC LIMIT 1`,
    [f.kind, subject, new Date(firstSeen.getTime() - options.mergeGapMs), new Date(f.lastSeen)],
  );
  if (row === undefined) {
    await tx.query(
      `INSERT INTO findings (kind, subject, scope, scope_id, src_ip, dst_port, proto, members, forces, events,
                             first_seen, last_seen, range_from, range_to, detail, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb, $16, $16)`,
      [
        f.kind,
        subject,
        f.scope,
        f.scopeId,
        f.srcIp,
        f.dstPort,
        f.proto,
        f.members,
        f.forces,
        f.events,
        firstSeen,
        new Date(f.lastSeen),
        new Date(f.from),
        new Date(f.to),
        JSON.stringify(f.detail),
        options.now,
      ],
    );
    return 'inserted';
  }
  const scope = widerScope({ scope: row.scope, scopeId: row.scope_id }, f);
  const detail: Record<string, number> = { ...row.detail };
  for (const [k, v] of Object.entries(f.detail)) detail[k] = Math.max(detail[k] ?? v, v);
  const min = (a: Date, b: Date) => (a.getTime() <= b.getTime() ? a : b);
  const max = (a: Date, b: Date) => (a.getTime() >= b.getTime() ? a : b);
  await tx.query(
    `UPDATE findings SET scope = $2, scope_id = $3, members = $4, forces = $5, events = $6,
            first_seen = $7, last_seen = $8, range_from = $9, range_to = $10, detail = $11::jsonb, updated_at = $12
      WHERE id = $1`,
    [
      row.id,
      scope.scope,
      scope.scopeId,
      Math.max(row.members, f.members),
      Math.max(row.forces, f.forces),
      Math.max(row.events, f.events),
      min(row.first_seen, firstSeen),
      max(row.last_seen, new Date(f.lastSeen)),
      min(row.range_from, new Date(f.from)),
      max(row.range_to, new Date(f.to)),
      JSON.stringify(detail),
      options.now,
    ],
  );
  return 'updated';
}

/** Sources of recent source findings (campaign, new-scanner) with the most members any reached. */
export async function recentFindingSources(
  db: Queryable,
  since: Date,
): Promise<{ readonly srcIp: string; readonly members: number; readonly kinds: FindingKind[] }[]> {
  const rows = await db.query<{ src_ip: string; members: number; kinds: string }>(
    `SELECT src_ip, max(members)::int8 AS members, string_agg(DISTINCT kind, ',') AS kinds
       FROM findings
      WHERE src_ip IS NOT NULL AND kind IN ('campaign', 'new-scanner') AND last_seen >= $1
      GROUP BY src_ip ORDER BY src_ip`,
    [since],
  );
  return rows.map((r) => ({
    srcIp: r.src_ip,
    members: r.members,
    kinds: r.kinds.split(',') as FindingKind[],
  }));
}
