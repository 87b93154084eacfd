/**
 * Enrolment by police officers (issue 6): officer accounts and their sessions, the devices' pending
 * enrolment requests, every certificate issued (for revocation and the CRL), and the audit log.
 *
 * Choices:
 * - Sessions are server-side rows keyed by the SHA-256 of the random cookie value: revoking one is a
 *   DELETE, and a copy of the database does not hand out live cookies.
 * - `pairing_code_hash` is SHA-256 of the normalised code and becomes NULL when the code is consumed
 *   (approval or rejection), so a used code can never match again. It is unsalted because an officer
 *   may type the code alone and the row is found by it; the code is 40 bits, expires and proves only
 *   that someone stood in front of the appliance, which an attacker holding the database does not need.
 * - `audit_log.force_id` is the force the entry concerns (the acting officer's, or the device's once
 *   bound); `ip` is there because sign-in and pairing-code failures are counted per address from this
 *   table, so the limits hold across restarts and across several portal processes.
 * - members already carry sector and contact (002); nothing to add there.
 */
import type { Migration } from '../migrate.js';

export const migration: Migration = {
  version: 5,
  name: 'enrolment',
  sql: `
CREATE TABLE officers (
  id bigserial PRIMARY KEY,
  force_id text NOT NULL REFERENCES forces (force_id),
  username text NOT NULL UNIQUE,
  -- Self-describing: scrypt$<log2 N>$<r>$<p>$<salt b64url>$<hash b64url>
  password_hash text NOT NULL,
  -- Base32 TOTP secret (RFC 6238, SHA-1, 6 digits, 30 s).
  totp_secret text NOT NULL,
  -- The last TOTP time step accepted: a code seen over a shoulder cannot be replayed in its window.
  totp_last_step bigint,
  failed_attempts integer NOT NULL DEFAULT 0,
  locked_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX officers_force_id ON officers (force_id);

CREATE TABLE officer_sessions (
  id_hash text PRIMARY KEY,
  officer_id bigint NOT NULL REFERENCES officers (id) ON DELETE CASCADE,
  csrf_token text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX officer_sessions_expires_at ON officer_sessions (expires_at);

CREATE TABLE enrolment_requests (
  device_id text PRIMARY KEY,
  csr_pem text NOT NULL,
  public_key_fingerprint text NOT NULL,
  pairing_code_hash text,
  state text NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'expired', 'revoked')),
  agent_version text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  approved_by bigint REFERENCES officers (id),
  approved_at timestamptz,
  member_id text REFERENCES members (member_id)
);
CREATE INDEX enrolment_requests_pairing_code_hash ON enrolment_requests (pairing_code_hash)
  WHERE pairing_code_hash IS NOT NULL;
CREATE INDEX enrolment_requests_member_id ON enrolment_requests (member_id);

CREATE TABLE certificates (
  -- Hex serial number as issued (and as the CRL lists it).
  serial text PRIMARY KEY,
  device_id text NOT NULL,
  certificate_pem text NOT NULL,
  issued_at timestamptz NOT NULL,
  not_after timestamptz NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX certificates_device_id ON certificates (device_id);

CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  -- 'officer:<username>', 'device:<id>', 'cli', or 'anonymous' (e.g. a failed sign-in).
  actor text NOT NULL,
  action text NOT NULL,
  subject text,
  force_id text,
  ip text,
  detail jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_force_at ON audit_log (force_id, at);
CREATE INDEX audit_log_subject ON audit_log (subject);
CREATE INDEX audit_log_ip_action_at ON audit_log (ip, action, at);
CREATE INDEX audit_log_actor_action_at ON audit_log (actor, action, at);
`,
};
