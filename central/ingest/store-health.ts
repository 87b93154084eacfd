/**
 * Stores one heartbeat (protocol/health.ts) as a row of `device_health` (migrations 008, 012), or
 * quarantines it with a reason.
 *
 * - Undecodable or hostile payloads, and heartbeats naming another device than the authenticated
 *   identity, are quarantined (reason `health: …`). They do not count towards flagging the device:
 *   heartbeats are advisory, and an agent newer than central (a heartbeat version central does not
 *   know yet) must not get a whole fleet flagged.
 * - (device_id, reported_at) is the key: a redelivered heartbeat (QoS 1 after a lost PUBACK) is a
 *   `duplicate` and writes nothing.
 * - `reported_at` is the device's own time (`at`) when it is plausible: not more than a day ahead
 *   of central's clock nor more than 30 days behind it. Otherwise central's receipt time stands in
 *   (counted as `timeReplaced`), so a box with a broken clock still shows up in the fleet rather
 *   than as silent. Fleet state reads `received_at` (central's clock) for "when did we last hear".
 * - A heartbeat does not move `devices.last_seen`: that stays "last data" (the devices page's "Last
 *   upload"), which fleet state needs apart from the last heartbeat.
 * - Database errors propagate: nothing was committed, the caller does not acknowledge.
 */
import { decodeHealthReport, type HealthReport } from '../../protocol/health.js';
import type { Database } from '../store/db.js';
import { type IncomingUplink, quarantine } from './store-batch.js';

export type StoreHealthResult =
  | { readonly status: 'stored'; readonly timeReplaced: boolean }
  | { readonly status: 'duplicate' }
  | { readonly status: 'quarantined'; readonly reason: string };

const DAY_MS = 86_400_000;
const MAX_AHEAD_MS = DAY_MS;
const MAX_BEHIND_MS = 30 * DAY_MS;

const pct = (part: number, whole: number): number | null =>
  whole > 0 ? Math.round((part / whole) * 1000) / 10 : null;

export async function storeHealth(db: Database, incoming: IncomingUplink): Promise<StoreHealthResult> {
  const decoded = decodeHealthReport(incoming.payload);
  if (!decoded.ok)
    return quarantine(db, incoming, `health: ${decoded.reason}`, { countAgainstDevice: false });
  const report = decoded.report;
  if (report.device !== incoming.deviceId)
    return quarantine(db, incoming, 'health: device mismatch', { countAgainstDevice: false });
  const receivedMs = incoming.receivedAt.getTime();
  const plausible = report.at <= receivedMs + MAX_AHEAD_MS && report.at >= receivedMs - MAX_BEHIND_MS;
  const reportedAt = plausible ? new Date(report.at) : incoming.receivedAt;
  const [row] = await db.query<{ stored: number }>(INSERT_HEALTH, healthParams(report, reportedAt, incoming));
  if (row === undefined) return { status: 'duplicate' };
  return { status: 'stored', timeReplaced: !plausible };
}

function healthParams(r: HealthReport, reportedAt: Date, incoming: IncomingUplink): unknown[] {
  return [
    r.device,
    reportedAt,
    incoming.receivedAt,
    r.version,
    r.uptimeS,
    r.cpuLoadPct,
    r.memory ? pct(r.memory.totalBytes - r.memory.availableBytes, r.memory.totalBytes) : null,
    r.disk ? pct(r.disk.totalBytes - r.disk.freeBytes, r.disk.totalBytes) : null,
    r.temperatureC,
    r.outbox.events,
    r.outbox.lostEvents,
    r.memory?.totalBytes ?? null,
    r.memory?.availableBytes ?? null,
    r.disk?.totalBytes ?? null,
    r.disk?.freeBytes ?? null,
    r.outbox.bytes,
    r.outbox.state,
    r.uplink.lastUploadAt === null ? null : new Date(r.uplink.lastUploadAt),
    r.uplink.restarts,
    r.uplink.connects,
    r.detection,
    r.sources.count,
    r.sources.active,
    JSON.stringify(r.sources.byFormat),
    r.parse.parsed,
    r.parse.unparsed,
  ];
}

const INSERT_HEALTH = `
INSERT INTO device_health (device_id, reported_at, received_at, version, uptime_s, cpu_load_pct,
  memory_used_pct, disk_used_pct, temperature_c, outbox_depth_events, lost_events, memory_total_bytes,
  memory_available_bytes, disk_total_bytes, disk_free_bytes, outbox_depth_bytes, outbox_state,
  last_upload_at, uplink_restarts, uplink_connects, detection_enabled, source_count, active_sources,
  source_formats, parsed_total, unparsed_total)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
  $22, $23, $24::jsonb, $25, $26)
ON CONFLICT (device_id, reported_at) DO NOTHING
RETURNING 1 AS stored`;
