import type { Migration } from '../migrate.js';

/**
 * Alerts as the appliance reports them (protocol/alert.ts, central/ingest/store-alerts.ts).
 *
 * - One row per alert per device: an alert is raised, updated and closed under one id, and each
 *   report replaces the row's values (the latest report wins, by the sequence number of the batch
 *   that carried it). So the key is (device_id, alert_id), and 008's UNIQUE (device_id, seq,
 *   detector, raised_at) goes: two alerts of one detector can share a batch and a first-seen time,
 *   and an updated row takes the later batch's seq. `alert_id` is NULL only in rows written before
 *   this version (there were none: alerts were quarantined until now).
 * - `alert_batches`: one row per alerts batch received, (device_id, seq) with the payload's SHA-256,
 *   so a redelivered batch is a duplicate and a different payload under a stored seq is a
 *   conflicting copy (quarantined), exactly as for event batches (009).
 */
export const migration: Migration = {
  version: 11,
  name: 'alert-reports',
  sql: `
ALTER TABLE alerts DROP CONSTRAINT IF EXISTS alerts_device_id_seq_detector_raised_at_key;
ALTER TABLE alerts
  ADD COLUMN alert_id text,
  ADD COLUMN kind text,
  ADD COLUMN status text,
  ADD COLUMN label text,
  ADD COLUMN key_role text,
  ADD COLUMN first_seen timestamptz,
  ADD COLUMN last_seen timestamptz,
  ADD COLUMN events bigint,
  ADD COLUMN reports integer NOT NULL DEFAULT 1,
  ADD COLUMN updated_at timestamptz;
CREATE UNIQUE INDEX alerts_device_alert_id ON alerts (device_id, alert_id);

CREATE TABLE alert_batches (
  device_id text NOT NULL,
  seq bigint NOT NULL,
  created timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  alerts integer NOT NULL,
  payload_sha256 bytea NOT NULL,
  PRIMARY KEY (device_id, seq)
);
`,
};
