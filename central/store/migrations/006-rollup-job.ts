/**
 * Rollups move off the ingest path (issue 5: ≥ 100k events/s stored per worker core): ingest stores
 * a batch and its events only, and the rollup job (`store/rollup-job.ts`) adds stored batches to the
 * rollups every few seconds.
 *
 * - `batches.rolled_up_at`: null until the job has added the batch to the rollups; the job sets it
 *   in the transaction that adds the batch, so a batch is rolled up exactly once. Batches stored
 *   before this migration were already rolled up (by ingest or 004's backfill), so they get the
 *   migration's time: a constant default fills existing rows without rewriting the table (PG 11+),
 *   and is dropped at once so new rows start as null.
 * - A partial index holds only the batches waiting for the job (a few seconds' worth), so picking
 *   the oldest of them, and the reports' `rolledUpTo`, are index lookups whatever the size of
 *   batches.
 * - Force-wide top lists: per force-day only the top K sources and top K ports (K set by the job,
 *   1000 by default) plus one remainder row per list, so a 30-day force report reads ~30 × K rows
 *   instead of every distinct source of every day (~1.1M rows in the bench, 0.6–1.6 s). The full
 *   per-day tables of 004 stay, written only by the job: they are what each day's top K is computed
 *   from. `remainder` holds what the top K leaves out: the sum (so the list plus remainder adds up
 *   to the exact total), the largest single count left out (the error bound reports state) and how
 *   many keys were left out.
 * - `rollup_force_days_pending`: force-days whose full rows changed since their top K was computed.
 *   The job adds to it in the same transaction as the rollups and empties it as it recomputes, so a
 *   crash between the two loses nothing. Every force-day already rolled up starts pending, so the
 *   job's first runs compute the top lists of existing history.
 */
import type { Migration } from '../migrate.js';

export const migration: Migration = {
  version: 6,
  name: 'rollup-job',
  sql: `
ALTER TABLE batches ADD COLUMN rolled_up_at timestamptz DEFAULT now();
ALTER TABLE batches ALTER COLUMN rolled_up_at DROP DEFAULT;
CREATE INDEX batches_not_rolled_up ON batches (received_at) WHERE rolled_up_at IS NULL;

CREATE TABLE rollup_force_daily_top_sources (
  force_id text NOT NULL,
  day timestamptz NOT NULL,
  src_ip text NOT NULL,
  events bigint NOT NULL,
  PRIMARY KEY (force_id, day, src_ip)
);
CREATE INDEX rollup_force_daily_top_sources_day ON rollup_force_daily_top_sources USING brin (day);

CREATE TABLE rollup_force_daily_top_ports (
  force_id text NOT NULL,
  day timestamptz NOT NULL,
  dst_port integer NOT NULL,
  proto text NOT NULL,
  events bigint NOT NULL,
  PRIMARY KEY (force_id, day, dst_port, proto)
);
CREATE INDEX rollup_force_daily_top_ports_day ON rollup_force_daily_top_ports USING brin (day);

CREATE TABLE rollup_force_daily_remainder (
  force_id text NOT NULL,
  day timestamptz NOT NULL,
  list text NOT NULL CHECK (list IN ('sources', 'ports')),
  -- Events of the keys outside the day's top K, the largest count among them, and how many.
  events bigint NOT NULL,
  max_events bigint NOT NULL,
  keys bigint NOT NULL,
  PRIMARY KEY (force_id, day, list)
);
CREATE INDEX rollup_force_daily_remainder_day ON rollup_force_daily_remainder USING brin (day);

CREATE TABLE rollup_force_days_pending (
  force_id text NOT NULL,
  day timestamptz NOT NULL,
  PRIMARY KEY (force_id, day)
);
INSERT INTO rollup_force_days_pending (force_id, day)
SELECT force_id, day FROM rollup_force_daily_sources
UNION SELECT force_id, day FROM rollup_force_daily_ports;
`,
};
