import type { Migration } from '../migrate.js';

/**
 * Analyst findings of the correlation job (central/correlate/): campaigns, emerging ports and new
 * scanners, each scoped to a force, a region or the nation. Findings are about attackers, not about
 * members: a row carries an address or a port and counts (members, forces, events), never a member
 * or device id, so a finding can be shown to any officer whose scope covers it and published as intel.
 * - `subject` is what a finding is about (the source address, or `tcp/23`); with `kind` it is the
 *   key the job merges a new observation into (an ongoing campaign is one row whose `last_seen` and
 *   counts move on), see central/correlate/findings.ts.
 * - `scope_id` is the force or region id; null for a nation-wide finding.
 * - `detail` holds kind-specific numbers (e.g. an emerging port's baseline and ratio).
 */
export const migration: Migration = {
  version: 10,
  name: 'findings',
  sql: `
CREATE TABLE findings (
  id bigserial PRIMARY KEY,
  kind text NOT NULL,
  subject text NOT NULL,
  scope text NOT NULL,
  scope_id text,
  src_ip text,
  dst_port integer,
  proto text,
  members integer NOT NULL,
  forces integer NOT NULL,
  events bigint NOT NULL,
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  range_from timestamptz NOT NULL,
  range_to timestamptz NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX findings_kind_subject ON findings (kind, subject, last_seen);
CREATE INDEX findings_scope ON findings (scope, scope_id, last_seen);
CREATE INDEX findings_last_seen ON findings (last_seen);
`,
};
