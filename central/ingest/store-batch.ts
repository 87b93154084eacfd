/**
 * Stores one events batch exactly once, or quarantines it with a reason.
 *
 * - Undecodable or hostile payloads, and batches naming another device than the authenticated
 *   identity (topic/certificate), go to quarantine with a sample, and the device's bad_batches
 *   counter goes up. They are acknowledged: redelivering them would never succeed.
 * - A good batch is stored atomically (one statement): the batches row (unique on device and
 *   sequence) is inserted first; if it already exists nothing else is written. A copy with the same
 *   bytes (SHA-256) is a redelivery (`duplicate`). A copy with other bytes is a conflicting copy: the
 *   first one ingest handled stays stored and this one is quarantined with its reason and counted
 *   against the device, so neither is lost. The agent never reuses a sequence number (an epoch
 *   durable before use, outbox/seq-reserve.ts), so only a broken or hostile device sends one, and it
 *   can spoil only its own data. "First" is the order central's ingest handles them: on the embedded
 *   broker the device's publish order; on a Mosquitto worker with several sessions the broker's
 *   hand-out order across sessions, which need not be the device's (docs/SECURITY.md).
 * - Database errors propagate: the caller does not acknowledge, the broker/device redelivers.
 *
 * Events go in with one INSERT … SELECT FROM unnest(column arrays) per batch rather than multi-row
 * VALUES: 21 array parameters instead of 21 per row, one statement to parse and plan whatever the
 * batch size, no chunking (a 5,000-event batch would need 10 VALUES statements of 500 rows).
 * Measured with 20 batches of 5,000 events: on PGlite the whole of storeBatch (decode included) ran
 * at ~56,000 events/s against ~29,000 events/s for the VALUES inserts alone; on PostgreSQL 15 the
 * two were level (~62,000 events/s), so unnest wins where it matters and costs nothing elsewhere.
 *
 * Nothing else happens on this path: the report rollups are added by the rollup job
 * (`store/rollup-job.ts`) seconds later, off the hot path. Upserting six rollup tables inside this
 * statement (as before migration 006) made a 500-event batch cost ~25–46 ms instead of ~5–9 ms on
 * PostgreSQL; see docs/PERFORMANCE.md.
 *
 * The batch row, its events and the device's last_seen go in as ONE statement (data-modifying CTEs)
 * rather than three statements inside BEGIN … COMMIT: a single statement is atomic on its own, so a
 * batch costs one round trip instead of five. The events and device inserts run only when the
 * batch row was new (its RETURNING row exists), so a duplicate writes nothing.
 */

import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Batch } from '../../protocol/batch.js';
import { batchEventCount, decodeBatch } from '../../protocol/codec.js';
import type { Database } from '../store/db.js';

export type StoreBatchResult =
  /** `created`: the batch's creation time (epoch ms, device clock), for the lag metric. */
  | {
      readonly status: 'stored';
      readonly events: number;
      readonly created: number;
      /** Fields stored empty because their value was impossible (see `StoredAnyway`). */
      readonly cleared: StoredAnyway;
    }
  | { readonly status: 'duplicate' }
  | { readonly status: 'quarantined'; readonly reason: string };

/** An uplink message as received: the same shape for every kind (events, loss, ...). */
export interface IncomingUplink {
  /** The authenticated identity: from the certificate or the topic the broker allowed. */
  readonly deviceId: string;
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly receivedAt: Date;
}

/** Bytes of a quarantined payload kept for inspection. */
export const QUARANTINE_SAMPLE_BYTES = 256;

// timestamptz takes years 4713 BC to 294276 AD and JS Dates other ranges: an event time outside
// 1970-01-01 … 9999-12-31 is a broken device clock, stored as "no time" rather than failing the insert.
const MIN_TS_MS = 0;
const MAX_TS_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export async function storeBatch(db: Database, incoming: IncomingUplink): Promise<StoreBatchResult> {
  const decoded = decodeBatch(incoming.payload);
  if (!decoded.ok) return quarantine(db, incoming, decoded.reason);
  const batch = decoded.batch;
  if (batch.device !== incoming.deviceId) return quarantine(db, incoming, 'device mismatch');
  const refused = refuseBeforeStoring(batch);
  if (refused !== undefined) return quarantine(db, incoming, refused);
  const rawEvents = batchEventCount(batch);
  if (!Number.isSafeInteger(rawEvents)) return quarantine(db, incoming, 'event count overflow');

  const cleared = { addresses: 0, times: 0 };
  const digest = createHash('sha256').update(incoming.payload).digest();
  const [row] = await db.query<{ stored: number }>(STORE_BATCH, [
    ...storeBatchParams(batch, incoming.receivedAt, rawEvents, cleared),
    digest,
  ]);
  if (row?.stored === 1) return { status: 'stored', events: rawEvents, created: batch.created, cleared };
  // Rare (a redelivery): one more read to tell a resend from a conflicting copy.
  const [held] = await db.query<{ payload_sha256: Uint8Array | null }>(
    'SELECT payload_sha256 FROM batches WHERE device_id = $1 AND seq = $2',
    [batch.device, batch.seq],
  );
  const heldDigest = held?.payload_sha256;
  if (heldDigest == null || Buffer.from(heldDigest).equals(digest)) return { status: 'duplicate' };
  return quarantine(
    db,
    incoming,
    `conflicting copy of sequence ${batch.seq}: stored first with other content`,
  );
}

/**
 * What the codec lets through but PostgreSQL would refuse on every redelivery (a poison message
 * that would stall the device): numbers outside the columns' ranges. (Text with NUL never gets
 * here: the codec's pre-scan refuses it.)
 */
function refuseBeforeStoring(batch: Batch): string | undefined {
  if (!Number.isSafeInteger(batch.seq) || batch.seq < 0) return 'sequence out of range';
  if (!Number.isFinite(batch.created) || batch.created < MIN_TS_MS || batch.created > MAX_TS_MS)
    return 'created out of range';
  return undefined;
}

function eventTime(ts: string | undefined): string | null {
  if (ts === undefined) return null;
  const ms = Date.parse(ts);
  return ms >= MIN_TS_MS && ms <= MAX_TS_MS ? new Date(ms).toISOString() : null;
}

/**
 * What a batch may carry that the schema lets through but no appliance sends: text that is not an
 * address in an address field, and times far in the future (a device clock in the year 3000). The
 * event is still stored — its counts are real — with that field empty, and counted, so reports
 * never show junk as an address or a date that has not happened.
 */
export interface StoredAnyway {
  readonly addresses: number;
  readonly times: number;
}

/** A device's clock may run ahead of central's; more than a day ahead is not a clock, it is junk. */
const MAX_AHEAD_MS = 86_400_000;
/** The pseudonym an appliance writes for an internal address (appliance/minimise/pseudonym.ts). */
const PSEUDONYM = /^p:[a-z2-7]{12}$/;

function address(value: string | undefined, cleared: { addresses: number }): string | null {
  if (value === undefined) return null;
  if (isIP(value) !== 0 || PSEUDONYM.test(value)) return value;
  cleared.addresses++;
  return null;
}

function possibleTime(value: string | null, latestMs: number, cleared: { times: number }): string | null {
  if (value === null || Date.parse(value) <= latestMs) return value;
  cleared.times++;
  return null;
}

function storeBatchParams(
  batch: Batch,
  receivedAt: Date,
  rawEvents: number,
  cleared: { addresses: number; times: number },
): unknown[] {
  const latestMs = receivedAt.getTime() + MAX_AHEAD_MS;
  const n = batch.events.length;
  const ts: (string | null)[] = new Array(n);
  const vendor: string[] = new Array(n);
  const srcIp: (string | null)[] = new Array(n);
  const srcPort: (number | null)[] = new Array(n);
  const dstIp: (string | null)[] = new Array(n);
  const dstPort: (number | null)[] = new Array(n);
  const proto: (string | null)[] = new Array(n);
  const action: string[] = new Array(n);
  const srcNatIp: (string | null)[] = new Array(n);
  const srcNatPort: (number | null)[] = new Array(n);
  const dstNatIp: (string | null)[] = new Array(n);
  const dstNatPort: (number | null)[] = new Array(n);
  const bytes: (number | null)[] = new Array(n);
  const packets: (number | null)[] = new Array(n);
  const rule: (string | null)[] = new Array(n);
  const iface: (string | null)[] = new Array(n);
  const direction: (string | null)[] = new Array(n);
  const category: (string | null)[] = new Array(n);
  const severity: (string | null)[] = new Array(n);
  const count: number[] = new Array(n);
  const lastSeen: (string | null)[] = new Array(n);
  const srcPorts: (number | null)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const e = batch.events[i];
    if (e === undefined) continue;
    ts[i] = possibleTime(eventTime(e.ts), latestMs, cleared);
    vendor[i] = e.vendor;
    srcIp[i] = address(e.src_ip, cleared);
    srcPort[i] = e.src_port ?? null;
    dstIp[i] = address(e.dst_ip, cleared);
    dstPort[i] = e.dst_port ?? null;
    proto[i] = e.proto ?? null;
    action[i] = e.action;
    srcNatIp[i] = address(e.src_nat_ip, cleared);
    srcNatPort[i] = e.src_nat_port ?? null;
    dstNatIp[i] = address(e.dst_nat_ip, cleared);
    dstNatPort[i] = e.dst_nat_port ?? null;
    bytes[i] = e.bytes ?? null;
    packets[i] = e.packets ?? null;
    rule[i] = e.rule ?? null;
    iface[i] = e.interface ?? null;
    direction[i] = e.direction ?? null;
    category[i] = e.category ?? null;
    severity[i] = e.severity ?? null;
    count[i] = e.count ?? 1;
    lastSeen[i] = possibleTime(eventTime(e.last_seen), latestMs, cleared);
    srcPorts[i] = e.src_ports ?? null;
  }
  return [
    batch.device,
    batch.seq,
    receivedAt,
    ts,
    vendor,
    srcIp,
    srcPort,
    dstIp,
    dstPort,
    proto,
    action,
    srcNatIp,
    srcNatPort,
    dstNatIp,
    dstNatPort,
    bytes,
    packets,
    rule,
    iface,
    direction,
    category,
    severity,
    count,
    new Date(batch.created),
    n,
    rawEvents,
    lastSeen,
    srcPorts,
  ];
}

/**
 * $1 device, $2 seq, $3 received_at, $4–$23 the event columns as arrays (unnested once), $24
 * created, $25 event records, $26 raw events, $27–$28 the summary columns (last seen, source ports),
 * $29 the payload's SHA-256. Returns stored = 1 for a new batch, 0 when (device, seq) is stored already.
 */
const STORE_BATCH = `
WITH batch AS (
  INSERT INTO batches (device_id, seq, created, received_at, events, raw_events, payload_sha256)
  VALUES ($1, $2, $24, $3, $25, $26, $29)
  ON CONFLICT (device_id, seq) DO NOTHING
  RETURNING 1
),
stored AS (
  INSERT INTO events (device_id, seq, received_at, ts, vendor, src_ip, src_port, dst_ip, dst_port,
    proto, action, src_nat_ip, src_nat_port, dst_nat_ip, dst_nat_port, bytes, packets, rule,
    interface, direction, category, severity, count, last_seen, src_ports)
  SELECT $1, $2, $3, u.* FROM unnest($4::timestamptz[], $5::text[], $6::text[], $7::int[], $8::text[],
    $9::int[], $10::text[], $11::text[], $12::text[], $13::int[], $14::text[], $15::int[], $16::int8[],
    $17::int8[], $18::text[], $19::text[], $20::text[], $21::text[], $22::text[], $23::int8[],
    $27::timestamptz[], $28::int[]) AS u
  WHERE EXISTS (SELECT 1 FROM batch)
),
device AS (
  INSERT INTO devices (device_id, first_seen, last_seen)
  SELECT $1, $3, $3 WHERE EXISTS (SELECT 1 FROM batch)
  ON CONFLICT (device_id) DO UPDATE SET last_seen = greatest(devices.last_seen, excluded.last_seen)
)
SELECT count(*)::int AS stored FROM batch`;

/**
 * Writes the quarantine row and (unless `countAgainstDevice` is false: a kind central does not
 * ingest yet is no fault of the device) counts the bad message against the device, in one
 * transaction. The sample is the first QUARANTINE_SAMPLE_BYTES, or the whole payload when
 * `keepWholePayload` (a well-meant message of a kind without a store yet, kept for replay). Shared by every uplink kind (batches here, loss records in store-loss.ts, kinds
 * without a store in handlers/not-ingested-yet.ts).
 */
export async function quarantine(
  db: Database,
  incoming: IncomingUplink,
  reason: string,
  options: { readonly countAgainstDevice?: boolean; readonly keepWholePayload?: boolean } = {},
): Promise<{ readonly status: 'quarantined'; readonly reason: string }> {
  // Reasons and topics end up in text columns: a NUL would make the insert fail on every delivery.
  const safeReason = reason.replaceAll('\0', '\uFFFD').slice(0, 500);
  const safeTopic = incoming.topic.replaceAll('\0', '\uFFFD');
  // A payload kept whole is still bounded: the broker refuses packets over the protocol's limit.
  const sample = Buffer.from(
    options.keepWholePayload ? incoming.payload : incoming.payload.subarray(0, QUARANTINE_SAMPLE_BYTES),
  );
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO quarantine (device_id, topic, received_at, reason, size_bytes, sample)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [incoming.deviceId, safeTopic, incoming.receivedAt, safeReason, incoming.payload.length, sample],
    );
    const bad = options.countAgainstDevice === false ? 0 : 1;
    await tx.query(
      `INSERT INTO devices (device_id, first_seen, last_seen, bad_batches) VALUES ($1, $2, $2, $3)
       ON CONFLICT (device_id) DO UPDATE SET bad_batches = devices.bad_batches + $3,
         last_seen = greatest(devices.last_seen, excluded.last_seen)`,
      [incoming.deviceId, incoming.receivedAt, bad],
    );
  });
  return { status: 'quarantined', reason: safeReason };
}
