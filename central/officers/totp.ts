/**
 * The officers' second factor: RFC 6238 TOTP (SHA-1, 6 digits, 30 s — what every authenticator app
 * accepts), through the `otpauth` package. One step either side is accepted for clock drift.
 */
import { Secret, TOTP } from 'otpauth';

export const TOTP_ISSUER = 'CyberAlarm';
export const TOTP_PERIOD_S = 30;
/** Steps either side of now that still count (±30 s of drift). */
export const TOTP_WINDOW = 1;

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totp(secretBase32: string, label: string): TOTP {
  return new TOTP({
    issuer: TOTP_ISSUER,
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: TOTP_PERIOD_S,
    secret: Secret.fromBase32(secretBase32),
  });
}

/** The `otpauth://totp/...` URI an authenticator app scans. */
export function totpUri(secretBase32: string, username: string): string {
  return totp(secretBase32, username).toString();
}

/** The code for a moment (tests and the e2e test sign in with it). */
export function totpCode(secretBase32: string, nowMs: number = Date.now()): string {
  return totp(secretBase32, 'x').generate({ timestamp: nowMs });
}

/** The time step (Unix time / 30 s) a code matches within ±TOTP_WINDOW of now, or undefined. Callers
 * remember the last step accepted so one code cannot be used twice. */
export function totpStep(
  secretBase32: string,
  token: string,
  nowMs: number = Date.now(),
): number | undefined {
  if (!/^\d{6}$/.test(token)) return undefined;
  const delta = totp(secretBase32, 'x').validate({ token, timestamp: nowMs, window: TOTP_WINDOW });
  return delta === null ? undefined : Math.floor(nowMs / 1000 / TOTP_PERIOD_S) + delta;
}
