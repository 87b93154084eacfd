/**
 * Campaigns: an external source denied at, or alerted on by, at least `minMembers` distinct members
 * within `windowMs`. A period longer than the window is cut into consecutive windows from `from`
 * (the scheduled run covers exactly one window, the last one); a source that qualifies in several
 * windows gives one finding, from the window where it reached the most members.
 */
import type { Database } from '../store/db.js';
import type { Finding } from './finding.js';
import { SOURCE_HITS_SQL, type SourceRow, SPREAD_COLUMNS_SQL, sourceFinding } from './source-hits.js';

export interface CampaignOptions {
  readonly from: Date;
  readonly to: Date;
  readonly minMembers: number;
  readonly windowMs: number;
}

export async function findCampaigns(db: Database, options: CampaignOptions): Promise<Finding[]> {
  const { from, to, windowMs } = options;
  const rows = await db.query<SourceRow & { readonly bucket: number }>(
    `WITH hits AS (${SOURCE_HITS_SQL})
     SELECT src, floor((extract(epoch FROM at)::float8 - $3::float8) / $4::float8)::int8 AS bucket,
            ${SPREAD_COLUMNS_SQL}
       FROM hits
      GROUP BY src, bucket
     HAVING count(DISTINCT member_id) >= $5
      ORDER BY members DESC, events DESC, src, bucket`,
    [from, to, from.getTime() / 1000, windowMs / 1000, options.minMembers],
  );
  const best = new Map<string, Finding>();
  for (const row of rows) {
    if (best.has(row.src)) continue; // ordered by members, then events: the first row is the best
    const start = new Date(from.getTime() + row.bucket * windowMs);
    const end = new Date(Math.min(to.getTime(), start.getTime() + windowMs));
    const finding = sourceFinding('campaign', row, { from: start, to: end });
    if (finding) best.set(row.src, finding);
  }
  return [...best.values()];
}
