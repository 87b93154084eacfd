/**
 * Officer accounts: creation (one-time initial password + TOTP enrolment URI), sign-in with password
 * and TOTP, throttling of failures, and server-side sessions.
 *
 * Throttling must not become a denial of service. A hard per-account lock lets anyone who knows a
 * username lock that officer out, and a per-address block locks out every officer behind a police
 * station's NAT. So failures are counted per (account, client address), from the audit log so the
 * count holds across restarts and portal processes: a few are free, then each further one doubles
 * the wait before that pair is heard again. The officer elsewhere, and other officers behind the same
 * address, are unaffected. Guessing one account from many addresses is met differently: after
 * `guardAfterFailures` consecutive failures the account checks the TOTP code first and the password
 * only with a valid code, so guesses without the second factor learn nothing and cost no scrypt,
 * while the officer with password + code always gets in — even from a throttled address.
 */

import { createHash, randomBytes } from 'node:crypto';
import { doublingDelayMs } from '../../common/throttle.js';
import { audit, officerActor } from '../store/audit.js';
import type { Database, Queryable } from '../store/db.js';
import { hashPassword, newInitialPassword, verifyPassword } from './passwords.js';
import { newTotpSecret, totpStep, totpUri } from './totp.js';

export interface Officer {
  readonly id: number;
  readonly username: string;
  readonly forceId: string;
}

export interface SignInPolicy {
  /** Failures of one (account, client address) within `failureWindowMs` that cost no wait… */
  readonly freeFailures: number;
  /** …then the pair waits this long after its last failure, doubling with each further one… */
  readonly baseDelayMs: number;
  /** …up to this. */
  readonly maxDelayMs: number;
  readonly failureWindowMs: number;
  /** Consecutive failures (from anywhere) after which the account checks the TOTP code first. */
  readonly guardAfterFailures: number;
  readonly sessionTtlMs: number;
}

export const DEFAULT_SIGN_IN_POLICY: SignInPolicy = {
  freeFailures: 3,
  baseDelayMs: 2_000,
  maxDelayMs: 15 * 60_000,
  failureWindowMs: 60 * 60_000,
  guardAfterFailures: 5,
  sessionTtlMs: 12 * 3600_000,
};

/** How long (account, client) must wait after its last failure, given its failures in the window. */
export function signInDelayMs(failures: number, policy: SignInPolicy): number {
  return doublingDelayMs(failures, {
    free: policy.freeFailures,
    baseMs: policy.baseDelayMs,
    maxMs: policy.maxDelayMs,
  });
}

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
  | { readonly ok: false; readonly reason: 'invalid' }
  /** This (account, address) failed too often: heard again after `retryAfterMs`, or with a valid code. */
  | { readonly ok: false; readonly reason: 'rate_limited'; readonly retryAfterMs: number };

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
  const subject = officerActor(input.username.slice(0, 64));
  const pair = await pairFailures(db, subject, input.ip, new Date(now.getTime() - policy.failureWindowMs));
  const delayMs = signInDelayMs(pair.failures, policy);
  const waitMs = pair.last === undefined || delayMs === 0 ? 0 : pair.last.getTime() + delayMs - now.getTime();
  const throttled = waitMs > 0;
  const rateLimited = async (): Promise<SignInResult> => {
    await audit(db, {
      actor: 'anonymous',
      action: 'signin.rate_limited',
      subject,
      ip: input.ip,
      detail: { failures: pair.failures, retryAfterMs: waitMs },
      at: now,
    });
    return { ok: false, reason: 'rate_limited', retryAfterMs: waitMs };
  };
  const rows = await db.query<OfficerRow>(
    `SELECT id, username, force_id, password_hash, totp_secret, totp_last_step, failed_attempts, locked_until
       FROM officers WHERE username = $1`,
    [input.username],
  );
  const row = rows[0];
  if (!row) {
    if (throttled) return rateLimited();
    dummyHash ??= hashPassword('not a password');
    await verifyPassword(input.password, await dummyHash);
    await audit(db, {
      actor: 'anonymous',
      action: 'signin.failed',
      subject,
      ip: input.ip,
      detail: { reason: 'unknown user' },
      at: now,
    });
    return { ok: false, reason: 'invalid' };
  }
  const actor = officerActor(row.username);
  const base = { actor, subject: actor, forceId: row.force_id, ip: input.ip, at: now };
  const codeStep = (): number | undefined => {
    const step = totpStep(row.totp_secret, input.totp, now.getTime());
    const replayed = step !== undefined && row.totp_last_step !== null && step <= Number(row.totp_last_step);
    return replayed ? undefined : step;
  };
  // The code first when this address is throttled or the account is under attack: a guess without
  // the second factor costs no scrypt and learns nothing; the officer with both gets in.
  const codeFirst = throttled || Number(row.failed_attempts) >= policy.guardAfterFailures;
  let step: number | undefined;
  let reason: string | undefined;
  if (codeFirst) {
    step = codeStep();
    if (step === undefined) reason = 'totp (code required first)';
    else if (!(await verifyPassword(input.password, row.password_hash))) reason = 'password';
    if (reason !== undefined && throttled) return rateLimited();
  } else if (!(await verifyPassword(input.password, row.password_hash))) {
    reason = 'password';
  } else {
    step = codeStep();
    if (step === undefined) reason = 'totp';
  }
  if (reason !== undefined) {
    await db.transaction(async (tx) => {
      const updated = await tx.query<{ failed_attempts: number }>(
        'UPDATE officers SET failed_attempts = failed_attempts + 1 WHERE id = $1 RETURNING failed_attempts',
        [row.id],
      );
      const attempts = Number(updated[0]?.failed_attempts ?? 0);
      await audit(tx, { ...base, action: 'signin.failed', detail: { reason, attempts } });
      if (attempts === policy.guardAfterFailures) {
        // Not a lock: from now on this account's password is checked only with a valid code.
        await audit(tx, { ...base, action: 'signin.locked_out', detail: { mode: 'code first', attempts } });
      }
    });
    return { ok: false, reason: 'invalid' };
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
    await audit(tx, {
      ...base,
      action: 'signin.succeeded',
      ...(codeFirst && { detail: { throttledAddress: throttled, codeFirst } }),
    });
  });
  return {
    ok: true,
    officer: { id: Number(row.id), username: row.username, forceId: row.force_id },
    session,
  };
}

/** Failed sign-ins of one account (audit subject) from one address since `since`, and the latest. */
async function pairFailures(
  db: Queryable,
  subject: string,
  ip: string,
  since: Date,
): Promise<{ failures: number; last: Date | undefined }> {
  const rows = await db.query<{ n: number | string; last: Date | string | null }>(
    // Counted since the pair's last success, if later: the officer who got in starts afresh.
    `SELECT count(*) AS n, max(at) AS last FROM audit_log
      WHERE subject = $1 AND ip = $2 AND action = 'signin.failed'
        AND at > GREATEST($3::timestamptz, COALESCE((SELECT max(at) FROM audit_log
              WHERE subject = $1 AND ip = $2 AND action = 'signin.succeeded'), $3::timestamptz))`,
    [subject, ip, since],
  );
  const row = rows[0];
  const last = row?.last == null ? undefined : new Date(row.last);
  return { failures: Number(row?.n ?? 0), last };
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
