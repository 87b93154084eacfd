/**
 * Stores one loss record (protocol/loss.ts): what an appliance could not deliver and why, into
 * `loss_records` (migration 001). Hostile or broken payloads are quarantined like bad batches.
 *
 * A device sends one record per reason per run of losses and may send it again, grown, before it
 * hears the acknowledgement (later evictions merge into the record it has not yet seen acked). The
 * record's identity is (device, first_seq, reason) — `seq` holds first_seq — so a repeat updates
 * the row to the larger counts and wider window instead of adding one: redelivery never counts a
 * loss twice. The table has no unique key for that triple (001 predates this), so a transaction-level
 * advisory lock per device serialises the check-then-write across ingest workers.
 *
 * The record's batch count and last_seq have no column yet; they stay in the device's status and
 * logs until a migration adds them.
 */
import { decodeLossRecord } from '../../protocol/codec.js';
import type { Database } from '../store/db.js';
import { type IncomingUplink, quarantine } from './store-batch.js';

export type StoreLossResult =
  | { readonly status: 'stored'; readonly events: number }
  | { readonly status: 'updated'; readonly events: number }
  | { readonly status: 'duplicate' }
  | { readonly status: 'quarantined'; readonly reason: string };

const MAX_TS_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const time = (ms: number): Date | null => (ms > 0 && ms <= MAX_TS_MS ? new Date(ms) : null);

export async function storeLossRecord(db: Database, incoming: IncomingUplink): Promise<StoreLossResult> {
  const decoded = decodeLossRecord(incoming.payload);
  if (!decoded.ok) return quarantine(db, incoming, `loss: ${decoded.reason}`);
  const r = decoded.record;
  if (r.device !== incoming.deviceId) return quarantine(db, incoming, 'loss: device mismatch');
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`loss:${r.device}`]);
    const [existing] = await tx.query<{ id: number; count: number }>(
      'SELECT id, count FROM loss_records WHERE device_id = $1 AND seq = $2 AND reason = $3',
      [r.device, r.first_seq, r.reason],
    );
    const result: StoreLossResult =
      existing === undefined
        ? { status: 'stored', events: r.events }
        : existing.count >= r.events
          ? { status: 'duplicate' }
          : { status: 'updated', events: r.events - existing.count };
    if (existing === undefined) {
      await tx.query(
        `INSERT INTO loss_records (device_id, seq, reason, count, first_ts, last_ts)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [r.device, r.first_seq, r.reason, r.events, time(r.first_ts), time(r.last_ts)],
      );
    } else if (result.status === 'updated') {
      await tx.query(
        `UPDATE loss_records SET count = $2, first_ts = least(first_ts, $3), last_ts = greatest(last_ts, $4)
         WHERE id = $1`,
        [existing.id, r.events, time(r.first_ts), time(r.last_ts)],
      );
    }
    await tx.query(
      `INSERT INTO devices (device_id, first_seen, last_seen) VALUES ($1, $2, $2)
       ON CONFLICT (device_id) DO UPDATE SET last_seen = greatest(devices.last_seen, excluded.last_seen)`,
      [r.device, incoming.receivedAt],
    );
    return result;
  });
}

/** Loss totals for one device or all (tests, reports): records and raw events lost, by reason. */
export async function lossTotals(
  db: Database,
  deviceId?: string,
): Promise<{ reason: string; records: number; events: number }[]> {
  return db.query(
    `SELECT reason, count(*) AS records, coalesce(sum(count), 0)::int8 AS events FROM loss_records
     WHERE $1::text IS NULL OR device_id = $1 GROUP BY reason ORDER BY reason`,
    [deviceId ?? null],
  );
}
