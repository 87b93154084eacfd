/**
 * Stores one alerts batch (protocol/alert.ts) into `alerts` (migrations 008, 011), or quarantines it
 * with a reason, with store-batch.ts's guarantees:
 *
 * - Undecodable or hostile payloads, and batches naming another device than the authenticated
 *   identity, are quarantined (reason `alerts: …`) and counted against the device.
 * - A batch is stored once: its (device, seq) goes into `alert_batches` with the payload's SHA-256
 *   in the same transaction as its alerts. The same bytes again are a redelivery (`duplicate`,
 *   nothing written); other bytes under a stored seq are a conflicting copy, quarantined.
 * - An alert is one row per (device, alert id): the first report inserts it, later reports (status
 *   `update`, `final`) replace its values, only if they come from a later batch (a higher seq: the
 *   appliance numbers alert batches from one increasing sequence), so a late redelivery of an older
 *   report never rolls an alert back. Within one batch the last report of an alert wins.
 * - Addresses are checked as store-batch.ts checks them: an alert whose key address is neither an
 *   IP address nor a pseudonym is refused (the alert would be about nothing); a sampled target that
 *   is neither is left out and counted in `clearedAddresses`.
 * - Database errors propagate: nothing was committed, the caller does not acknowledge.
 *
 * Columns: `raised_at` = firstSeen; `src_ip`/`dst_ip` hold the key address on its side (source for
 * inbound detectors, destination for destination-keyed ones) and the first sampled peer on the
 * other; `dst_port` the first sampled port; `detail` the samples, distinct counts, thresholds and
 * advice. `received_at` is when the alert was first received, `updated_at` its latest report.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { type AlertRecord, decodeAlertsBatch } from '../../protocol/alert.js';
import type { Database } from '../store/db.js';
import { type IncomingUplink, quarantine } from './store-batch.js';

export type StoreAlertsResult =
  | {
      readonly status: 'stored';
      readonly alerts: number;
      /** Rows inserted (new alerts), with their detector and severity for the metrics. */
      readonly inserted: readonly { readonly detector: string; readonly severity: string }[];
      /** Existing rows replaced by a later report. */
      readonly updated: number;
      /** Reports older than the row's (a late copy of an earlier batch's report): ignored. */
      readonly stale: number;
      readonly clearedAddresses: number;
    }
  | { readonly status: 'duplicate' }
  | { readonly status: 'quarantined'; readonly reason: string };

const PSEUDONYM = /^p:[a-z2-7]{12}$/;
const isAddress = (value: string): boolean => isIP(value) !== 0 || PSEUDONYM.test(value);
const MIN_TS_MS = 0;
const MAX_TS_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function time(iso: string): Date | undefined {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) && ms >= MIN_TS_MS && ms <= MAX_TS_MS ? new Date(ms) : undefined;
}

interface AlertRow {
  readonly alert: AlertRecord;
  readonly firstSeen: Date;
  readonly lastSeen: Date;
  readonly targets: readonly string[];
}

/** What the schema lets through but a store must not: times out of range, key addresses that are none. */
function checkAlerts(alerts: readonly AlertRecord[]): { rows: AlertRow[]; cleared: number } | string {
  // The last report of an alert in the batch wins (a detector may raise and update within a second).
  const latest = new Map<string, AlertRecord>();
  for (const alert of alerts) {
    latest.delete(alert.id);
    latest.set(alert.id, alert);
  }
  const rows: AlertRow[] = [];
  let cleared = 0;
  for (const alert of latest.values()) {
    const firstSeen = time(alert.firstSeen);
    const lastSeen = time(alert.lastSeen);
    if (!firstSeen || !lastSeen) return 'alerts: time out of range';
    if (!isAddress(alert.source)) return 'alerts: source not an address';
    const targets = alert.targets.filter(isAddress);
    cleared += alert.targets.length - targets.length;
    rows.push({ alert, firstSeen, lastSeen, targets });
  }
  return { rows, cleared };
}

export async function storeAlerts(db: Database, incoming: IncomingUplink): Promise<StoreAlertsResult> {
  const decoded = decodeAlertsBatch(incoming.payload);
  if (!decoded.ok) return quarantine(db, incoming, `alerts: ${decoded.reason}`);
  const batch = decoded.batch;
  if (batch.device !== incoming.deviceId) return quarantine(db, incoming, 'alerts: device mismatch');
  const checked = checkAlerts(batch.alerts);
  if (typeof checked === 'string') return quarantine(db, incoming, checked);

  const digest = createHash('sha256').update(incoming.payload).digest();
  const outcome = await db.transaction(async (tx) => {
    const [fresh] = await tx.query<{ fresh: number }>(
      `INSERT INTO alert_batches (device_id, seq, created, received_at, alerts, payload_sha256)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (device_id, seq) DO NOTHING RETURNING 1 AS fresh`,
      [batch.device, batch.seq, new Date(batch.created), incoming.receivedAt, batch.alerts.length, digest],
    );
    if (fresh === undefined) {
      const [held] = await tx.query<{ payload_sha256: Uint8Array }>(
        'SELECT payload_sha256 FROM alert_batches WHERE device_id = $1 AND seq = $2',
        [batch.device, batch.seq],
      );
      return held && Buffer.from(held.payload_sha256).equals(digest) ? 'duplicate' : 'conflict';
    }
    const inserted: { detector: string; severity: string }[] = [];
    let updated = 0;
    let stale = 0;
    for (const row of checked.rows) {
      const [written] = await tx.query<{ inserted: boolean }>(
        UPSERT_ALERT,
        alertParams(batch.device, batch.seq, incoming.receivedAt, row),
      );
      if (written === undefined) stale++;
      else if (written.inserted)
        inserted.push({ detector: row.alert.detector, severity: row.alert.severity });
      else updated++;
    }
    await tx.query(
      `INSERT INTO devices (device_id, first_seen, last_seen) VALUES ($1, $2, $2)
       ON CONFLICT (device_id) DO UPDATE SET last_seen = greatest(devices.last_seen, excluded.last_seen)`,
      [batch.device, incoming.receivedAt],
    );
    return { inserted, updated, stale };
  });
  if (outcome === 'duplicate') return { status: 'duplicate' };
  if (outcome === 'conflict')
    return quarantine(
      db,
      incoming,
      `alerts: conflicting copy of sequence ${batch.seq}: stored first with other content`,
    );
  return {
    status: 'stored',
    alerts: batch.alerts.length,
    inserted: outcome.inserted,
    updated: outcome.updated,
    stale: outcome.stale,
    clearedAddresses: checked.cleared,
  };
}

function alertParams(device: string, seq: number, receivedAt: Date, row: AlertRow): unknown[] {
  const { alert, targets } = row;
  const bySource = alert.keyRole === 'source';
  const peer = targets[0] ?? null;
  return [
    device,
    seq,
    row.firstSeen,
    receivedAt,
    alert.detector,
    alert.severity,
    bySource ? alert.source : peer,
    bySource ? peer : alert.source,
    alert.ports[0] ?? null,
    alert.summary,
    JSON.stringify({
      targets,
      ports: alert.ports,
      protocols: alert.protocols,
      distinctTargets: alert.distinctTargets,
      distinctPorts: alert.distinctPorts,
      distinctCapped: alert.distinctCapped,
      thresholds: alert.thresholds,
      advice: alert.advice,
    }),
    alert.id,
    alert.kind,
    alert.status,
    alert.label,
    alert.keyRole,
    row.firstSeen,
    row.lastSeen,
    alert.events,
  ];
}

/**
 * $1 device … $19 events ($4, the receipt time, is also updated_at). Returns no row when the stored report is from this batch or a later one
 * (the WHERE of DO UPDATE), else `inserted` (xmax = 0 for a row this statement created).
 */
const UPSERT_ALERT = `
INSERT INTO alerts (device_id, seq, raised_at, received_at, detector, severity, src_ip, dst_ip, dst_port,
  summary, detail, alert_id, kind, status, label, key_role, first_seen, last_seen, events, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15, $16, $17, $18, $19, $4)
ON CONFLICT (device_id, alert_id) DO UPDATE SET
  seq = excluded.seq, raised_at = excluded.raised_at, detector = excluded.detector,
  severity = excluded.severity, src_ip = excluded.src_ip, dst_ip = excluded.dst_ip,
  dst_port = excluded.dst_port, summary = excluded.summary, detail = excluded.detail,
  kind = excluded.kind, status = excluded.status, label = excluded.label, key_role = excluded.key_role,
  first_seen = excluded.first_seen, last_seen = excluded.last_seen, events = excluded.events,
  reports = alerts.reports + 1, updated_at = excluded.updated_at
WHERE alerts.seq < excluded.seq
RETURNING (xmax = 0) AS inserted`;
