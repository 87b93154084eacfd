/**
 * Durable ingest totals from the database (the in-process counters reset on restart; these do not).
 * Field names are what /api/stats consumers (demo, harness, end-to-end tests) read.
 */
import type { Database } from '../store/db.js';

export interface IngestTotals {
  /** Batches stored (duplicates are not stored, so they are not here). */
  readonly batches: number;
  /** Raw events stored: the sum of every stored event's `count`. */
  readonly stored: number;
  /** Batches quarantined. */
  readonly quarantined: number;
  /** Devices central has heard from, including ones that only sent bad batches. */
  readonly devices: number;
}

export async function ingestTotals(db: Database): Promise<IngestTotals> {
  // batches.raw_events holds each batch's sum of count, so the event total reads one row per batch
  // instead of one per event. sum(bigint) is numeric: cast to int8 so both engines return a number.
  const [row] = await db.query<IngestTotals>(
    `SELECT
       (SELECT count(*) FROM batches) AS batches,
       (SELECT coalesce(sum(raw_events), 0)::int8 FROM batches) AS stored,
       (SELECT count(*) FROM quarantine) AS quarantined,
       (SELECT count(*) FROM devices) AS devices`,
  );
  if (row === undefined) throw new Error('ingestTotals: no row');
  return { batches: row.batches, stored: row.stored, quarantined: row.quarantined, devices: row.devices };
}
