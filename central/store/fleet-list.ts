/**
 * What fleet state (central/fleet/fleet-state.ts) needs per enrolled device: its member, enrolment
 * time, last data (`devices.last_seen`, only once later than the approval, as the devices page reads
 * it) and its latest three heartbeats. `fleetDevices(db, { forceId })` is scoped exactly as the
 * devices page (`devicesOfForce`): a device belongs to the force of the member its enrolment was
 * bound to; without `forceId` (the silent-appliance notices) it reads every force.
 * Only approved devices: a pending one is not in the fleet yet, a revoked one no longer.
 */
import type { HeartbeatView } from '../fleet/fleet-state.js';
import type { Database } from './db.js';

export interface FleetDeviceRow {
  readonly deviceId: string;
  readonly memberId: string;
  readonly memberName: string;
  readonly forceId: string;
  /** The member's report address (members.email), for the silent-appliance notice; not for the page. */
  readonly email: string | null;
  /** The member's contact as the officer typed it (an e-mail address or a phone number). */
  readonly contact: string | null;
  readonly approvedAt: Date | null;
  readonly lastData: Date | null;
  /** The last contact a silent notice was sent for (devices.silent_notice_for). */
  readonly silentNoticeFor: Date | null;
  /** Newest first, at most HEARTBEATS_READ. */
  readonly heartbeats: readonly HeartbeatView[];
}

export const HEARTBEATS_READ = 3;

const num = (v: string | number | null): number | null => (v === null ? null : Number(v));

export async function fleetDevices(
  db: Database,
  scope: { readonly forceId?: string } = {},
): Promise<FleetDeviceRow[]> {
  const devices = await db.query<{
    device_id: string;
    member_id: string;
    name: string;
    force_id: string;
    email: string | null;
    contact: string | null;
    approved_at: Date | null;
    last_seen: Date | null;
    silent_notice_for: Date | null;
  }>(
    `SELECT r.device_id, r.member_id, m.name, m.force_id, m.email, m.contact, r.approved_at, d.last_seen,
            d.silent_notice_for
       FROM enrolment_requests r JOIN members m USING (member_id)
       LEFT JOIN devices d ON d.device_id = r.device_id
      WHERE r.state = 'approved' AND ($1::text IS NULL OR m.force_id = $1)
      ORDER BY m.name, r.device_id`,
    [scope.forceId ?? null],
  );
  if (devices.length === 0) return [];
  const beats = await db.query<{
    device_id: string;
    received_at: Date;
    version: string | null;
    uptime_s: string | number | null;
    cpu_load_pct: number | null;
    memory_used_pct: number | null;
    disk_total_bytes: string | number | null;
    disk_free_bytes: string | number | null;
    temperature_c: number | null;
    outbox_depth_events: string | number | null;
    outbox_depth_bytes: string | number | null;
    outbox_state: string | null;
    lost_events: string | number | null;
    last_upload_at: Date | null;
    uplink_restarts: string | number | null;
    detection_enabled: boolean | null;
    source_count: number | null;
    active_sources: number | null;
    source_formats: Record<string, number> | null;
    parsed_total: string | number | null;
    unparsed_total: string | number | null;
  }>(
    `SELECT h.* FROM unnest($1::text[]) AS ids(device_id)
       CROSS JOIN LATERAL (
         SELECT device_id, reported_at, received_at, version, uptime_s, cpu_load_pct, memory_used_pct, disk_total_bytes,
                disk_free_bytes, temperature_c, outbox_depth_events, outbox_depth_bytes, outbox_state,
                lost_events, last_upload_at, uplink_restarts, detection_enabled, source_count,
                active_sources, source_formats, parsed_total, unparsed_total
           FROM device_health WHERE device_id = ids.device_id
          ORDER BY reported_at DESC LIMIT ${HEARTBEATS_READ}) h
      ORDER BY h.device_id, h.reported_at DESC`,
    [devices.map((d) => d.device_id)],
  );
  const byDevice = new Map<string, HeartbeatView[]>();
  for (const b of beats) {
    const list = byDevice.get(b.device_id) ?? [];
    list.push({
      receivedAt: b.received_at,
      version: b.version,
      uptimeS: num(b.uptime_s),
      cpuLoadPct: b.cpu_load_pct,
      memoryUsedPct: b.memory_used_pct,
      diskTotalBytes: num(b.disk_total_bytes),
      diskFreeBytes: num(b.disk_free_bytes),
      temperatureC: b.temperature_c,
      outboxEvents: num(b.outbox_depth_events),
      outboxBytes: num(b.outbox_depth_bytes),
      outboxState: b.outbox_state,
      lostEvents: num(b.lost_events),
      lastUploadAt: b.last_upload_at,
      uplinkRestarts: num(b.uplink_restarts),
      detection: b.detection_enabled,
      sourceCount: b.source_count,
      activeSources: b.active_sources,
      sourceFormats: b.source_formats,
      parsed: num(b.parsed_total),
      unparsed: num(b.unparsed_total),
    });
    byDevice.set(b.device_id, list);
  }
  return devices.map((d) => ({
    deviceId: d.device_id,
    memberId: d.member_id,
    memberName: d.name,
    forceId: d.force_id,
    email: d.email,
    contact: d.contact,
    approvedAt: d.approved_at,
    // Enrolment writes last_seen = approval time; only later values come from the device.
    lastData: d.last_seen && (!d.approved_at || d.last_seen > d.approved_at) ? d.last_seen : null,
    silentNoticeFor: d.silent_notice_for,
    heartbeats: byDevice.get(d.device_id) ?? [],
  }));
}
