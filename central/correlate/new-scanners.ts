/**
 * New scanners: sources denied at, or alerted on by, at least `minMembers` members in the period
 * that no device had reported before it — within what central still holds (events older than
 * `retentionDays` are gone, so "never" means "not in the retained history").
 */
import type { Database } from '../store/db.js';
import type { Finding } from './finding.js';
import { SOURCE_HITS_SQL, type SourceRow, SPREAD_COLUMNS_SQL, sourceFinding } from './source-hits.js';

export interface NewScannerOptions {
  readonly from: Date;
  readonly to: Date;
  readonly minMembers: number;
}

export async function findNewScanners(db: Database, options: NewScannerOptions): Promise<Finding[]> {
  const { from, to } = options;
  const rows = await db.query<SourceRow>(
    `WITH hits AS (${SOURCE_HITS_SQL}),
     current AS (
       SELECT src, ${SPREAD_COLUMNS_SQL}
         FROM hits GROUP BY src HAVING count(DISTINCT member_id) >= $3
     ),
     seen_before AS (
       SELECT e.src_ip AS src FROM events e
        WHERE e.received_at < $1 AND e.src_ip IN (SELECT src FROM current)
       UNION
       SELECT a.src_ip FROM alerts a
        WHERE a.raised_at < $1 AND a.src_ip IN (SELECT src FROM current)
     )
     SELECT * FROM current
      WHERE src NOT IN (SELECT src FROM seen_before)
      ORDER BY members DESC, events DESC, src`,
    [from, to, options.minMembers],
  );
  const findings: Finding[] = [];
  for (const row of rows) {
    const finding = sourceFinding('new-scanner', row, { from, to });
    if (finding) findings.push(finding);
  }
  return findings;
}
