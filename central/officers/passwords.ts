/**
 * Officer passwords: scrypt (RFC 7914) with a per-password random salt, stored as a self-describing
 * string so the cost can be raised later without invalidating old hashes:
 * `scrypt$<log2 N>$<r>$<p>$<salt base64url>$<hash base64url>`.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** N = 2^15, r = 8, p = 1: 32 MiB and tens of milliseconds per guess (OWASP's scrypt minimum is 2^17
 * with r = 8 at p = 1 for new systems; 2^15 keeps sign-in on a Pi-class box well under a second). */
export const DEFAULT_SCRYPT = { log2N: 15, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Refuse absurd costs in a stored string (a tampered row must not pin the CPU or the heap). */
const MAX_LOG2N = 20;

function scryptAsync(password: string, salt: Buffer, log2N: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** log2N;
  return new Promise((resolve, reject) =>
    scrypt(password, salt, HASH_BYTES, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

export async function hashPassword(
  password: string,
  cost: { log2N: number; r: number; p: number } = DEFAULT_SCRYPT,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await scryptAsync(password, salt, cost.log2N, cost.r, cost.p);
  return ['scrypt', cost.log2N, cost.r, cost.p, salt.toString('base64url'), hash.toString('base64url')].join(
    '$',
  );
}

/** False for a wrong password and for a stored string this module did not write. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [log2N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![log2N, r, p].every((n) => Number.isInteger(n) && n > 0) || log2N > MAX_LOG2N || r > 32 || p > 16)
    return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  if (salt.length === 0 || expected.length !== HASH_BYTES) return false;
  const actual = await scryptAsync(password, salt, log2N, r, p);
  return timingSafeEqual(actual, expected);
}

/** A one-time initial password: 20 base64url characters (120 bits). */
export function newInitialPassword(): string {
  return randomBytes(15).toString('base64url');
}
