import type { Migration } from '../migrate.js';

/**
 * Alerts (a detector's verdict with the individual events behind it) and device health (the
 * appliance's periodic systeminformation snapshot), the two uplink kinds besides events and loss.
 * Their writers arrive with the detectors and the health uplink; the tables are here so every
 * install has the same schema from this version on.
 * - alerts: indexed by (device_id, raised_at) for the member's alert list and by (raised_at) for the
 *   force-wide view; `detail` keeps the detector's evidence (bounded by the wire limits).
 * - device_health: one row per report, primary key (device_id, reported_at); the latest row per
 *   device is what the portal shows, so the key's order serves `ORDER BY reported_at DESC LIMIT 1`.
 */
export const migration: Migration = {
  version: 8,
  name: 'alerts-health',
  sql: `
CREATE TABLE alerts (
  id bigserial PRIMARY KEY,
  device_id text NOT NULL,
  seq bigint NOT NULL,
  raised_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  detector text NOT NULL,
  severity text NOT NULL,
  src_ip text,
  dst_ip text,
  dst_port integer,
  summary text NOT NULL,
  detail jsonb,
  UNIQUE (device_id, seq, detector, raised_at)
);
CREATE INDEX alerts_device_time ON alerts (device_id, raised_at);
CREATE INDEX alerts_time ON alerts (raised_at);

CREATE TABLE device_health (
  device_id text NOT NULL,
  reported_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  version text,
  uptime_s bigint,
  cpu_load_pct real,
  memory_used_pct real,
  disk_used_pct real,
  temperature_c real,
  outbox_depth_events bigint,
  lost_events bigint,
  PRIMARY KEY (device_id, reported_at)
);
`,
};
