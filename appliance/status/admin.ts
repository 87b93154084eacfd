/**
 * The member's admin password and sign-in sessions for the status page.
 *
 * The password is set on the first visit (there is no default to forget to change), stored as an
 * scrypt hash in `<dataDir>/admin.json` (mode 0600). Sessions are random tokens held in memory: a
 * restart signs everyone out, which on an appliance is a feature.
 *
 * Failed sign-ins are throttled per client address with a growing delay, never for the whole box: a
 * box-wide lock let any host on the LAN lock the member out with ten wrong passwords. A few failures
 * are free, then each further one doubles the wait before that address is heard again (at most 15
 * minutes). The box itself (loopback: its console, an SSH session on it) is never throttled: whoever
 * is there can read or replace admin.json anyway, so it is the path that always works. At most
 * `MAX_TRACKED_CLIENTS` addresses are remembered, the least recently failed forgotten first.
 */

import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-file.js';
import { doublingDelayMs } from '../../common/throttle.js';

export const ADMIN_FILE = 'admin.json';
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 256;
export const SESSION_TTL_MS = 12 * 3600_000;
const MAX_SESSIONS = 64;
/** scrypt N=2^15, r=8, p=1: 32 MiB and a few hundred ms on a Pi-class appliance. OWASP's first choice
 * is N=2^17 (128 MiB), too much memory to spend per sign-in on a 1 GiB box; the global throttle below
 * bounds online guessing, and admin.json is readable by root only. */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLength: 32, maxmem: 64 * 1024 * 1024 } as const;
/** Failures from one address that cost no wait; then the wait doubles from BASE_DELAY_MS… */
export const FREE_FAILURES = 3;
export const BASE_DELAY_MS = 2_000;
/** …up to this; an address that has not failed for FAILURE_MEMORY_MS starts afresh. */
export const MAX_DELAY_MS = 15 * 60_000;
const FAILURE_MEMORY_MS = 60 * 60_000;
const MAX_TRACKED_CLIENTS = 1024;

/** What sign-in decided, for the log (fields, no password). */
export interface SignInEvent {
  readonly event: 'signin.succeeded' | 'signin.failed' | 'signin.throttled';
  readonly client: string;
  readonly failures: number;
  readonly retryAfterMs?: number;
}

interface AdminFile {
  readonly v: 1;
  readonly algorithm: 'scrypt';
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: string;
  readonly hash: string;
  readonly setAt: string;
}

export type SignInResult =
  | { ok: true; token: string }
  | { ok: false; reason: 'wrong' | 'unset' }
  | { ok: false; reason: 'throttled'; retryAfterMs: number };

export function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

export class AdminAuth {
  private admin: AdminFile | undefined;
  private readonly sessions = new Map<string, number>();
  /** Per client address: failures so far and when the last one was. */
  private readonly failures = new Map<string, { count: number; lastMs: number }>();
  private readonly path: string;

  constructor(
    dataDir: string,
    private readonly now: () => number = Date.now,
    private readonly onEvent: (event: SignInEvent) => void = () => undefined,
  ) {
    this.path = join(dataDir, ADMIN_FILE);
    this.admin = readAdminFile(this.path);
  }

  isSet(): boolean {
    return this.admin !== undefined;
  }

  /** First visit only: refuses once a password exists. Returns a session, or why not. */
  async setInitialPassword(
    password: string,
  ): Promise<{ ok: true; token: string } | { ok: false; reason: string }> {
    if (this.admin) return { ok: false, reason: 'the admin password is already set' };
    const problem = passwordProblem(password);
    if (problem) return { ok: false, reason: problem };
    const salt = randomBytes(16);
    const hash = await scryptHash(password, salt, SCRYPT);
    if (this.admin) return { ok: false, reason: 'the admin password is already set' }; // raced
    const file: AdminFile = {
      v: 1,
      algorithm: 'scrypt',
      N: SCRYPT.N,
      r: SCRYPT.r,
      p: SCRYPT.p,
      salt: salt.toString('base64'),
      hash: hash.toString('base64'),
      setAt: new Date(this.now()).toISOString(),
    };
    writeFileAtomic(this.path, `${JSON.stringify(file)}\n`, 0o600);
    this.admin = file;
    return { ok: true, token: this.newSession() };
  }

  /** `client`: the request's address; loopback is never throttled (see the file comment). */
  async signIn(password: string, client: string): Promise<SignInResult> {
    const admin = this.admin;
    if (!admin) return { ok: false, reason: 'unset' };
    const now = this.now();
    const local = isLoopback(client);
    let record = this.failures.get(client);
    if (record && now - record.lastMs >= FAILURE_MEMORY_MS) {
      this.failures.delete(client);
      record = undefined;
    }
    if (record && !local) {
      const retryAfterMs = record.lastMs + signInDelayMs(record.count) - now;
      if (retryAfterMs > 0) {
        this.onEvent({ event: 'signin.throttled', client, failures: record.count, retryAfterMs });
        return { ok: false, reason: 'throttled', retryAfterMs };
      }
    }
    const expected = Buffer.from(admin.hash, 'base64');
    const actual =
      password.length > MAX_PASSWORD_LENGTH
        ? Buffer.alloc(expected.length)
        : await scryptHash(password, Buffer.from(admin.salt, 'base64'), {
            N: admin.N,
            r: admin.r,
            p: admin.p,
            keyLength: expected.length,
            maxmem: SCRYPT.maxmem,
          });
    if (actual.length === expected.length && timingSafeEqual(actual, expected)) {
      this.failures.delete(client);
      this.onEvent({ event: 'signin.succeeded', client, failures: record?.count ?? 0 });
      return { ok: true, token: this.newSession() };
    }
    const count = (record?.count ?? 0) + 1;
    // Re-inserted so the Map's order is least recently failed first, which is what gets forgotten.
    this.failures.delete(client);
    while (this.failures.size >= MAX_TRACKED_CLIENTS) {
      const oldest = this.failures.keys().next().value;
      if (oldest === undefined) break;
      this.failures.delete(oldest);
    }
    this.failures.set(client, { count, lastMs: now });
    this.onEvent({
      event: 'signin.failed',
      client,
      failures: count,
      ...(!local && { retryAfterMs: signInDelayMs(count) }),
    });
    return { ok: false, reason: 'wrong' };
  }

  isValidSession(token: string | undefined): boolean {
    if (!token) return false;
    const expires = this.sessions.get(token);
    if (expires === undefined) return false;
    if (expires <= this.now()) {
      this.sessions.delete(token);
      return false;
    }
    return true;
  }

  signOut(token: string | undefined): void {
    if (token) this.sessions.delete(token);
  }

  private newSession(): string {
    const now = this.now();
    for (const [token, expires] of this.sessions) if (expires <= now) this.sessions.delete(token);
    // Bounded: the oldest session goes first (Map keeps insertion order).
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const token = randomBytes(32).toString('base64url');
    this.sessions.set(token, now + SESSION_TTL_MS);
    return token;
  }
}

/** The wait after an address's `failures`-th failure before it is heard again. */
export function signInDelayMs(failures: number): number {
  return doublingDelayMs(failures, { free: FREE_FAILURES, baseMs: BASE_DELAY_MS, maxMs: MAX_DELAY_MS });
}

export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `use at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `use at most ${MAX_PASSWORD_LENGTH} characters`;
  return undefined;
}

function scryptHash(
  password: string,
  salt: Buffer,
  params: { N: number; r: number; p: number; keyLength: number; maxmem: number },
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      password.normalize('NFKC'),
      salt,
      params.keyLength,
      { N: params.N, r: params.r, p: params.p, maxmem: params.maxmem },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

function readAdminFile(path: string): AdminFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  let v: Partial<AdminFile> = {};
  try {
    v = JSON.parse(text) as Partial<AdminFile>;
  } catch {
    /* reported below */
  }
  if (v.algorithm !== 'scrypt' || typeof v.salt !== 'string' || typeof v.hash !== 'string' || !v.N) {
    // A damaged file must not silently reopen "set the password on first visit" to the whole LAN.
    throw new Error(`${path} is not a valid admin password file; remove it to set a new password`);
  }
  return v as AdminFile;
}
