import type { Migration } from '../migrate.js';

/**
 * Member reports (central/report/): where a member's report is e-mailed, and the archive of every
 * scheduled report.
 *
 * - `members.email`: the address reports go to (set with `cyberalarm-central member set-email`).
 *   002's `contact` stays what it is, free text an officer typed (a name, a phone number); a report
 *   is mailed only to a column that holds nothing but an address.
 * - `reports`: one row per scheduled report, the HTML exactly as mailed (what the member was told
 *   stays provable after retention has dropped the raw rows behind it) and the PDF when one was
 *   made. UNIQUE (member_id, period_from, period_to): the schedule inserts before it mails, so of two
 *   central processes only the one whose insert won sends the e-mail. `emailed_at` is null until
 *   the SMTP server accepted the message; `email_attempts` bounds the retries.
 */
export const migration: Migration = {
  version: 12,
  name: 'member-reports',
  sql: `
ALTER TABLE members ADD COLUMN email text;

CREATE TABLE reports (
  id bigserial PRIMARY KEY,
  member_id text NOT NULL,
  period_from timestamptz NOT NULL,
  period_to timestamptz NOT NULL,
  html text NOT NULL,
  pdf bytea,
  created_at timestamptz NOT NULL,
  email_to text,
  emailed_at timestamptz,
  email_attempts integer NOT NULL DEFAULT 0,
  email_error text,
  UNIQUE (member_id, period_from, period_to)
);
CREATE INDEX reports_member_to ON reports (member_id, period_to);
`,
};
