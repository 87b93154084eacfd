/**
 * The archive of scheduled member reports (`reports`, migration 012) and members' report e-mail
 * addresses (`members.email`).
 */
import type { Database, Queryable } from '../store/db.js';

export interface ArchivedReport {
  readonly id: number;
  readonly memberId: string;
  readonly from: Date;
  readonly to: Date;
  readonly html: string;
  readonly pdf: Uint8Array | null;
  readonly createdAt: Date;
  readonly emailTo: string | null;
  readonly emailedAt: Date | null;
}

/** Stores a report; undefined when one for the same member and period is already there. */
export async function archiveReport(
  db: Queryable,
  report: {
    memberId: string;
    from: Date;
    to: Date;
    html: string;
    pdf?: Uint8Array | undefined;
    emailTo?: string | null | undefined;
    createdAt: Date;
  },
): Promise<number | undefined> {
  const rows = await db.query<{ id: number }>(
    `INSERT INTO reports (member_id, period_from, period_to, html, pdf, created_at, email_to)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (member_id, period_from, period_to) DO NOTHING RETURNING id`,
    [
      report.memberId,
      report.from,
      report.to,
      report.html,
      report.pdf ? Buffer.from(report.pdf) : null,
      report.createdAt,
      report.emailTo ?? null,
    ],
  );
  return rows[0]?.id;
}

export async function recordEmail(
  db: Database,
  id: number,
  outcome: { ok: true; at: Date } | { ok: false; error: string },
): Promise<void> {
  if (outcome.ok) {
    await db.query(
      'UPDATE reports SET emailed_at = $2, email_attempts = email_attempts + 1, email_error = NULL WHERE id = $1',
      [id, outcome.at],
    );
  } else {
    await db.query('UPDATE reports SET email_attempts = email_attempts + 1, email_error = $2 WHERE id = $1', [
      id,
      outcome.error.slice(0, 500),
    ]);
  }
}

const toReport = (r: {
  id: number;
  member_id: string;
  period_from: Date;
  period_to: Date;
  html: string;
  pdf: Uint8Array | null;
  created_at: Date;
  email_to: string | null;
  emailed_at: Date | null;
}): ArchivedReport => ({
  id: Number(r.id),
  memberId: r.member_id,
  from: r.period_from,
  to: r.period_to,
  html: r.html,
  pdf: r.pdf,
  createdAt: r.created_at,
  emailTo: r.email_to,
  emailedAt: r.emailed_at,
});

export async function archivedReports(db: Database, memberId: string): Promise<ArchivedReport[]> {
  const rows = await db.query<Parameters<typeof toReport>[0]>(
    'SELECT * FROM reports WHERE member_id = $1 ORDER BY period_to DESC, id DESC',
    [memberId],
  );
  return rows.map(toReport);
}

/** Reports whose e-mail has not gone yet and may be tried again. */
export async function unsentReports(db: Database, maxAttempts: number): Promise<ArchivedReport[]> {
  const rows = await db.query<Parameters<typeof toReport>[0]>(
    `SELECT * FROM reports WHERE email_to IS NOT NULL AND emailed_at IS NULL AND email_attempts < $1
      ORDER BY id LIMIT 100`,
    [maxAttempts],
  );
  return rows.map(toReport);
}

/** Deliberately loose (one @, no spaces or header characters): the SMTP server is the judge. */
export const EMAIL_PATTERN = /^[^\s@<>,;:"()[\]\\]+@[^\s@<>,;:"()[\]\\]+\.[^\s@<>,;:"()[\]\\]+$/;

export class InvalidEmailError extends Error {
  override readonly name = 'InvalidEmailError';
}

/** Sets (or with null clears) where a member's reports go; false when there is no such member. */
export async function setMemberEmail(db: Database, memberId: string, email: string | null): Promise<boolean> {
  if (email !== null && (email.length > 254 || !EMAIL_PATTERN.test(email)))
    throw new InvalidEmailError(`${JSON.stringify(email)} is not an e-mail address`);
  const rows = await db.query<{ member_id: string }>(
    'UPDATE members SET email = $2 WHERE member_id = $1 RETURNING member_id',
    [memberId, email],
  );
  return rows.length > 0;
}
