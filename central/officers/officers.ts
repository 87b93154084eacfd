/**
 * Officer accounts: creation (one-time initial password + TOTP enrolment URI), sign-in with password
 * and TOTP, per-account lock-out, a per-address limit on failures, and server-side sessions.
 */
import { createHash, randomBytes } from 'node:crypto';
import { audit, officerActor, recentCount } from '../store/audit.js';
import type { Database, Queryable } from '../store/db.js';
import { hashPassword, newInitialPassword, verifyPassword } from './passwords.js';
import { newTotpSecret, totpStep, totpUri } from './totp.js';

export interface Officer {
  readonly id: number;
  readonly username: string;
  readonly forceId: string;
}

export interface SignInPolicy {
  /** Consecutive failures that lock the account… */
  readonly maxFailures: number;
  /** …for this long. */
  readonly lockoutMs: number;
  /** Failed sign-ins from one address within `ipWindowMs` after which it is refused outright. */
  readonly ipMaxFailures: number;
  readonly ipWindowMs: number;
  readonly sessionTtlMs: number;
}

export const DEFAULT_SIGN_IN_POLICY: SignInPolicy = {
  maxFailures: 5,
  lockoutMs: 15 * 60_000,
  ipMaxFailures: 20,
  ipWindowMs: 15 * 60_000,
  sessionTtlMs: 12 * 3600_000,
};

export const USERNAME_PATTERN = /^[A-Za-z0-9._-]{2,64}$/;
export const FORCE_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export interface NewOfficer {
  readonly officer: Officer;
  readonly initialPassword: string;
  readonly totpSecret: string;
  readonly otpauthUri: string;
}

/** Creates the officer (and the force, and the region, when new). Throws on a bad or taken name. */
export async function addOfficer(
  db: Database,
  input: { username: string; forceId: string; region?: string | undefined; actor?: string },
): Promise<NewOfficer> {
  if (!USERNAME_PATTERN.test(input.username)) {
    throw new Error(`username ${JSON.stringify(input.username)}: use 2-64 letters, digits, . _ -`);
  }
  if (!FORCE_ID_PATTERN.test(input.forceId)) {
    throw new Error(`force ${JSON.stringify(input.forceId)}: use 1-64 letters, digits, . _ -`);
  }
  const initialPassword = newInitialPassword();
  const passwordHash = await hashPassword(initialPassword);
  const totpSecret = newTotpSecret();
  const officer = await db.transaction(async (tx) => {
    if (input.region) {
      await tx.query('INSERT INTO regions (region_id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING', [
        input.region,
      ]);
    }
    await tx.query(
      `INSERT INTO forces (force_id, name, region_id) VALUES ($1, $1, $2)
       ON CONFLICT (force_id) DO UPDATE SET region_id = COALESCE(forces.region_id, EXCLUDED.region_id)`,
      [input.forceId, input.region ?? null],
    );
    const taken = await tx.query('SELECT 1 FROM officers WHERE username = $1', [input.username]);
    if (taken.length > 0) throw new Error(`username ${JSON.stringify(input.username)} is taken`);
    const rows = await tx.query<{ id: number }>(
      `INSERT INTO officers (force_id, username, password_hash, totp_secret, created_at)
       VALUES ($1, $2, $3, $4, now()) RETURNING id`,
      [input.forceId, input.username, passwordHash, totpSecret],
    );
    const created: Officer = { id: Number(rows[0]?.id), username: input.username, forceId: input.forceId };
    await audit(tx, {
      actor: input.actor ?? 'cli',
      action: 'officer.created',
      subject: officerActor(input.username),
      forceId: input.forceId,
    });
    return created;
  });
  return { officer, initialPassword, totpSecret, otpauthUri: totpUri(totpSecret, input.username) };
}

export type SignInResult =
  | { readonly ok: true; readonly officer: Officer; readonly session: NewSession }
  | { readonly ok: false; readonly reason: 'invalid' | 'locked' | 'rate_limited' };

export interface NewSession {
  /** The cookie value; only its hash is stored. */
  readonly id: string;
  readonly csrfToken: string;
  readonly expiresAt: Date;
}

interface OfficerRow {
  id: number;
  username: string;
  force_id: string;
  password_hash: string;
  totp_secret: string;
  totp_last_step: number | null;
  failed_attempts: number;
  locked_until: Date | null;
}

// Verifying against this when the user does not exist keeps the answer time the same either way.
let dummyHash: Promise<string> | undefined;

export async function signIn(
  db: Database,
  input: { username: string; password: string; totp: string; ip: string; now?: Date },
  policy: SignInPolicy = DEFAULT_SIGN_IN_POLICY,
): Promise<SignInResult> {
  const now = input.now ?? new Date();
  const ipFailures = await recentCount(
    db,
    { ip: input.ip },
    ['signin.failed'],
    new Date(now.getTime() - policy.ipWindowMs),
  );
  if (ipFailures >= policy.ipMaxFailures) {
    await audit(db, {
      actor: 'anonymous',
      action: 'signin.rate_limited',
      subject: officerActor(input.username.slice(0, 64)),
      ip: input.ip,
      at: now,
    });
    return { ok: false, reason: 'rate_limited' };
  }
  const rows = await db.query<OfficerRow>(
    `SELECT id, username, force_id, password_hash, totp_secret, totp_last_step, failed_attempts, locked_until
       FROM officers WHERE username = $1`,
    [input.username],
  );
  const row = rows[0];
  if (!row) {
    dummyHash ??= hashPassword('not a password');
    await verifyPassword(input.password, await dummyHash);
    await audit(db, {
      actor: 'anonymous',
      action: 'signin.failed',
      subject: officerActor(input.username.slice(0, 64)),
      ip: input.ip,
      detail: { reason: 'unknown user' },
      at: now,
    });
    return { ok: false, reason: 'invalid' };
  }
  const actor = officerActor(row.username);
  const base = { actor, subject: actor, forceId: row.force_id, ip: input.ip, at: now };
  if (row.locked_until && row.locked_until > now) {
    await audit(db, { ...base, action: 'signin.failed', detail: { reason: 'locked' } });
    return { ok: false, reason: 'locked' };
  }
  const passwordOk = await verifyPassword(input.password, row.password_hash);
  const step = passwordOk ? totpStep(row.totp_secret, input.totp, now.getTime()) : undefined;
  const replayed = step !== undefined && row.totp_last_step !== null && step <= Number(row.totp_last_step);
  if (!passwordOk || step === undefined || replayed) {
    const reason = !passwordOk ? 'password' : replayed ? 'totp replayed' : 'totp';
    const failed = await db.transaction(async (tx) => {
      const updated = await tx.query<{ failed_attempts: number }>(
        'UPDATE officers SET failed_attempts = failed_attempts + 1 WHERE id = $1 RETURNING failed_attempts',
        [row.id],
      );
      const attempts = updated[0]?.failed_attempts ?? 0;
      await audit(tx, { ...base, action: 'signin.failed', detail: { reason, attempts } });
      if (attempts < policy.maxFailures) return false;
      const until = new Date(now.getTime() + policy.lockoutMs);
      await tx.query('UPDATE officers SET failed_attempts = 0, locked_until = $2 WHERE id = $1', [
        row.id,
        until,
      ]);
      await audit(tx, {
        ...base,
        action: 'signin.locked_out',
        detail: { until: until.toISOString(), attempts },
      });
      return true;
    });
    return { ok: false, reason: failed ? 'locked' : 'invalid' };
  }
  const session = newSession(now, policy.sessionTtlMs);
  await db.transaction(async (tx) => {
    await tx.query(
      'UPDATE officers SET failed_attempts = 0, locked_until = NULL, totp_last_step = $2 WHERE id = $1',
      [row.id, step],
    );
    await tx.query(
      `INSERT INTO officer_sessions (id_hash, officer_id, csrf_token, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5)`,
      [sessionHash(session.id), row.id, session.csrfToken, now, session.expiresAt],
    );
    // Expired sessions go when someone signs in: no timer, and the table stays small.
    await tx.query('DELETE FROM officer_sessions WHERE expires_at < $1', [now]);
    await audit(tx, { ...base, action: 'signin.succeeded' });
  });
  return {
    ok: true,
    officer: { id: Number(row.id), username: row.username, forceId: row.force_id },
    session,
  };
}

function newSession(now: Date, ttlMs: number): NewSession {
  return {
    id: randomBytes(32).toString('base64url'),
    csrfToken: randomBytes(24).toString('base64url'),
    expiresAt: new Date(now.getTime() + ttlMs),
  };
}

function sessionHash(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

/** The officer behind a session cookie, if the session exists and has not expired. */
export async function sessionOfficer(
  db: Queryable,
  sessionId: string | undefined,
  now: Date = new Date(),
): Promise<{ officer: Officer; csrfToken: string } | undefined> {
  if (!sessionId || sessionId.length > 128) return undefined;
  const rows = await db.query<{ id: number; username: string; force_id: string; csrf_token: string }>(
    `SELECT o.id, o.username, o.force_id, s.csrf_token
       FROM officer_sessions s JOIN officers o ON o.id = s.officer_id
      WHERE s.id_hash = $1 AND s.expires_at > $2`,
    [sessionHash(sessionId), now],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    officer: { id: Number(row.id), username: row.username, forceId: row.force_id },
    csrfToken: row.csrf_token,
  };
}

export async function endSession(db: Queryable, sessionId: string): Promise<void> {
  await db.query('DELETE FROM officer_sessions WHERE id_hash = $1', [sessionHash(sessionId)]);
}
