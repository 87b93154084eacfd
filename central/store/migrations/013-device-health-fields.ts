import type { Migration } from '../migrate.js';

/**
 * The health uplink's writer (protocol/health.ts, central/ingest/store-health.ts) and fleet state
 * (central/fleet/).
 *
 * - device_health (008) gets the heartbeat's remaining fields: memory and disk in bytes (the
 *   percentages 008 has are kept, filled from them), the outbox's bytes and state, the last
 *   successful upload, uplink restarts and connects, detection on/off, the log sources as counts
 *   (`source_formats`: sources per format name, never an address) and the parse totals.
 *   `received_at` gets an index: retention deletes by it.
 * - devices.silent_notice_for: the last contact (heartbeat or data) of the silence a member was
 *   told about, so each silence gives one notice, across restarts and central processes.
 */
export const migration: Migration = {
  version: 13,
  name: 'device-health-fields',
  sql: `
ALTER TABLE device_health
  ADD COLUMN memory_total_bytes bigint,
  ADD COLUMN memory_available_bytes bigint,
  ADD COLUMN disk_total_bytes bigint,
  ADD COLUMN disk_free_bytes bigint,
  ADD COLUMN outbox_depth_bytes bigint,
  ADD COLUMN outbox_state text,
  ADD COLUMN last_upload_at timestamptz,
  ADD COLUMN uplink_restarts bigint,
  ADD COLUMN uplink_connects bigint,
  ADD COLUMN detection_enabled boolean,
  ADD COLUMN source_count integer,
  ADD COLUMN active_sources integer,
  ADD COLUMN source_formats jsonb,
  ADD COLUMN parsed_total bigint,
  ADD COLUMN unparsed_total bigint;
CREATE INDEX device_health_received ON device_health (received_at);

ALTER TABLE devices ADD COLUMN silent_notice_for timestamptz;
`,
};
