/**
 * Recent alerts for the officers' portal, scoped to one force exactly as the devices page is
 * (enrolment-service.ts `devicesOfForce`): a device belongs to the force of the member its
 * enrolment was bound to. An alert from a device no member of the force enrolled is never listed.
 */
import type { Database } from './db.js';

export interface AlertListRow {
  readonly alertId: string;
  readonly deviceId: string;
  readonly memberId: string;
  readonly memberName: string;
  readonly detector: string;
  readonly kind: string | null;
  readonly severity: string;
  readonly status: string | null;
  readonly label: string | null;
  /** The address the alert is about (the source, or for destination-keyed alerts the destination). */
  readonly subject: string | null;
  readonly keyRole: string | null;
  readonly events: number | null;
  readonly firstSeen: Date | null;
  readonly lastSeen: Date | null;
  readonly receivedAt: Date;
  readonly updatedAt: Date | null;
  readonly summary: string;
  readonly advice: string | null;
}

export const ALERT_LIST_MAX = 500;

export async function forceAlerts(
  db: Database,
  forceId: string,
  options: { readonly memberId?: string; readonly limit?: number } = {},
): Promise<AlertListRow[]> {
  const limit = Math.min(Math.max(1, options.limit ?? 100), ALERT_LIST_MAX);
  const rows = await db.query<{
    alert_id: string | null;
    id: number;
    device_id: string;
    member_id: string;
    name: string;
    detector: string;
    kind: string | null;
    severity: string;
    status: string | null;
    label: string | null;
    key_role: string | null;
    src_ip: string | null;
    dst_ip: string | null;
    events: string | number | null;
    first_seen: Date | null;
    last_seen: Date | null;
    received_at: Date;
    updated_at: Date | null;
    summary: string;
    advice: string | null;
  }>(
    `SELECT a.alert_id, a.id, a.device_id, r.member_id, m.name, a.detector, a.kind, a.severity, a.status,
            a.label, a.key_role, a.src_ip, a.dst_ip, a.events, a.first_seen, a.last_seen, a.received_at,
            a.updated_at, a.summary, a.detail ->> 'advice' AS advice
       FROM alerts a
       JOIN enrolment_requests r ON r.device_id = a.device_id
       JOIN members m ON m.member_id = r.member_id
      WHERE m.force_id = $1 AND ($2::text IS NULL OR r.member_id = $2)
      ORDER BY coalesce(a.updated_at, a.received_at) DESC, a.id DESC
      LIMIT $3`,
    [forceId, options.memberId ?? null, limit],
  );
  return rows.map((r) => ({
    alertId: r.alert_id ?? String(r.id),
    deviceId: r.device_id,
    memberId: r.member_id,
    memberName: r.name,
    detector: r.detector,
    kind: r.kind,
    severity: r.severity,
    status: r.status,
    label: r.label,
    subject: r.key_role === 'destination' ? r.dst_ip : r.src_ip,
    keyRole: r.key_role,
    events: r.events === null ? null : Number(r.events),
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    receivedAt: r.received_at,
    updatedAt: r.updated_at,
    summary: r.summary,
    advice: r.advice,
  }));
}
