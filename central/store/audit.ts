/**
 * The audit log: who did what to which device or account, when, from where. Every enrolment step,
 * sign-in outcome, lock-out, revocation and renewal lands here (actions below). Failures are also
 * what the rate limits count (`recentCount`), so the limits survive restarts and hold across several
 * portal processes without in-memory state.
 */
import type { Queryable } from './db.js';

export type AuditAction =
  | 'enrolment.requested'
  | 'enrolment.approved'
  | 'enrolment.rejected'
  | 'enrolment.refused'
  | 'enrolment.lookup'
  | 'enrolment.lookup_failed'
  | 'enrolment.rate_limited'
  | 'certificate.issued'
  | 'certificate.renewed'
  | 'certificate.renewal_refused'
  | 'device.revoked'
  | 'member.created'
  | 'officer.created'
  | 'signin.succeeded'
  | 'signin.failed'
  | 'signin.locked_out'
  | 'signin.rate_limited'
  | 'signout';

export interface AuditEntry {
  readonly actor: string;
  readonly action: AuditAction;
  readonly subject?: string | undefined;
  readonly forceId?: string | undefined;
  readonly ip?: string | undefined;
  readonly detail?: Readonly<Record<string, unknown>>;
  readonly at?: Date;
}

export interface AuditRow {
  readonly id: number;
  readonly at: Date;
  readonly actor: string;
  readonly action: string;
  readonly subject: string | null;
  readonly forceId: string | null;
  readonly ip: string | null;
  readonly detail: Record<string, unknown>;
}

export const officerActor = (username: string): string => `officer:${username}`;
export const deviceActor = (deviceId: string): string => `device:${deviceId}`;

export async function audit(db: Queryable, entry: AuditEntry): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (at, actor, action, subject, force_id, ip, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)`,
    [
      entry.at ?? new Date(),
      entry.actor,
      entry.action,
      entry.subject ?? null,
      entry.forceId ?? null,
      entry.ip ?? null,
      JSON.stringify(entry.detail ?? {}),
    ],
  );
}

/** How many entries with one of `actions` a key (actor or ip) has since `since`. */
export async function recentCount(
  db: Queryable,
  by: { readonly actor: string } | { readonly ip: string },
  actions: readonly AuditAction[],
  since: Date,
): Promise<number> {
  const [column, value] = 'actor' in by ? ['actor', by.actor] : ['ip', by.ip];
  const rows = await db.query<{ n: number }>(
    `SELECT count(*) AS n FROM audit_log WHERE ${column} = $1 AND action = ANY($2::text[]) AND at > $3`,
    [value, [...actions], since],
  );
  return rows[0]?.n ?? 0;
}

/** A force's audit trail, newest first: entries about the force, and entries about its devices. */
export async function forceAuditLog(db: Queryable, forceId: string, limit = 200): Promise<AuditRow[]> {
  const rows = await db.query<{
    id: number;
    at: Date;
    actor: string;
    action: string;
    subject: string | null;
    force_id: string | null;
    ip: string | null;
    detail: Record<string, unknown> | string;
  }>(
    `SELECT id, at, actor, action, subject, force_id, ip, detail FROM audit_log
      WHERE force_id = $1
         OR subject IN (SELECT r.device_id FROM enrolment_requests r JOIN members m USING (member_id)
                         WHERE m.force_id = $1)
      ORDER BY id DESC LIMIT $2`,
    [forceId, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    at: r.at,
    actor: r.actor,
    action: r.action,
    subject: r.subject,
    forceId: r.force_id,
    ip: r.ip,
    detail: typeof r.detail === 'string' ? (JSON.parse(r.detail) as Record<string, unknown>) : r.detail,
  }));
}
