/**
 * Rollups for the questions reports ask — counts by action and protocol, top sources, top
 * destination ports — so a 30-day report reads thousands of pre-summed rows, not millions of events.
 *
 * Two grains, each in three narrow tables (one per question, so each report query reads only what
 * it needs and each upsert touches few rows):
 * - per member per hour (`rollup_member_hourly_*`): member reports, exact for any hour-aligned
 *   period. The actions table also keeps device_id (a handful of rows per device-hour) for the
 *   per-device breakdown.
 * - per force per day (`rollup_force_daily_*`): force reports. Summing the member-hourly rows of a
 *   whole force over 30 days would read ~50 members × 720 hours × ~100 sources = millions of rows,
 *   far over the 200 ms target; per force-day the same question reads ~30 × (distinct sources).
 *
 * Ingest upserts every table in the transaction that stores the batch, only when the batch is new,
 * so a redelivered batch never counts twice. member_id and force_id are those of the device at
 * ingest time ('' while it is not bound to a member): history stays with the member whose network
 * it came from if a device is later moved. proto is '' when the event had none (a primary key
 * column cannot be null); reports turn it back into null.
 *
 * Indexes: each primary key leads with the report's filter (member_id or force_id, then the time
 * bucket), so a report is one index range scan per table; no other B-tree, as every extra index
 * costs each batch's upserts. BRIN on the time bucket serves only retention's
 * `DELETE … WHERE hour <= cutoff` (rows arrive in time order, so a few hundred bytes of BRIN do what
 * a B-tree would at a fraction of the upsert cost).
 *
 * Events stored before this migration are rolled up here, so reports over older periods stay whole.
 */
import type { Migration } from '../migrate.js';

export const migration: Migration = {
  version: 4,
  name: 'rollups',
  sql: `
CREATE TABLE rollup_member_hourly_actions (
  member_id text NOT NULL,
  hour timestamptz NOT NULL,
  device_id text NOT NULL,
  action text NOT NULL,
  proto text NOT NULL,
  events bigint NOT NULL,
  PRIMARY KEY (member_id, hour, device_id, action, proto)
);
CREATE INDEX rollup_member_hourly_actions_hour ON rollup_member_hourly_actions USING brin (hour);

CREATE TABLE rollup_member_hourly_sources (
  member_id text NOT NULL,
  hour timestamptz NOT NULL,
  src_ip text NOT NULL,
  events bigint NOT NULL,
  PRIMARY KEY (member_id, hour, src_ip)
);
CREATE INDEX rollup_member_hourly_sources_hour ON rollup_member_hourly_sources USING brin (hour);

CREATE TABLE rollup_member_hourly_ports (
  member_id text NOT NULL,
  hour timestamptz NOT NULL,
  dst_port integer NOT NULL,
  proto text NOT NULL,
  events bigint NOT NULL,
  PRIMARY KEY (member_id, hour, dst_port, proto)
);
CREATE INDEX rollup_member_hourly_ports_hour ON rollup_member_hourly_ports USING brin (hour);

CREATE TABLE rollup_force_daily_actions (
  force_id text NOT NULL,
  day timestamptz NOT NULL,
  member_id text NOT NULL,
  action text NOT NULL,
  proto text NOT NULL,
  events bigint NOT NULL,
  PRIMARY KEY (force_id, day, member_id, action, proto)
);
CREATE INDEX rollup_force_daily_actions_day ON rollup_force_daily_actions USING brin (day);

CREATE TABLE rollup_force_daily_sources (
  force_id text NOT NULL,
  day timestamptz NOT NULL,
  src_ip text NOT NULL,
  events bigint NOT NULL,
  PRIMARY KEY (force_id, day, src_ip)
);
CREATE INDEX rollup_force_daily_sources_day ON rollup_force_daily_sources USING brin (day);

CREATE TABLE rollup_force_daily_ports (
  force_id text NOT NULL,
  day timestamptz NOT NULL,
  dst_port integer NOT NULL,
  proto text NOT NULL,
  events bigint NOT NULL,
  PRIMARY KEY (force_id, day, dst_port, proto)
);
CREATE INDEX rollup_force_daily_ports_day ON rollup_force_daily_ports USING brin (day);

-- Backfill from the events already stored. Buckets are UTC whatever the session's TimeZone.
CREATE TEMP TABLE rollup_backfill ON COMMIT DROP AS
SELECT coalesce(d.member_id, '') AS member_id, coalesce(m.force_id, '') AS force_id, e.device_id,
  date_trunc('hour', e.received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
  date_trunc('day', e.received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day,
  e.action, coalesce(e.proto, '') AS proto, e.src_ip, e.dst_port, e.count
FROM events e
LEFT JOIN devices d ON d.device_id = e.device_id
LEFT JOIN members m ON m.member_id = d.member_id;

INSERT INTO rollup_member_hourly_actions (member_id, hour, device_id, action, proto, events)
SELECT member_id, hour, device_id, action, proto, sum(count) FROM rollup_backfill GROUP BY 1, 2, 3, 4, 5;
INSERT INTO rollup_member_hourly_sources (member_id, hour, src_ip, events)
SELECT member_id, hour, src_ip, sum(count) FROM rollup_backfill WHERE src_ip IS NOT NULL GROUP BY 1, 2, 3;
INSERT INTO rollup_member_hourly_ports (member_id, hour, dst_port, proto, events)
SELECT member_id, hour, dst_port, proto, sum(count) FROM rollup_backfill WHERE dst_port IS NOT NULL
GROUP BY 1, 2, 3, 4;
INSERT INTO rollup_force_daily_actions (force_id, day, member_id, action, proto, events)
SELECT force_id, day, member_id, action, proto, sum(count) FROM rollup_backfill GROUP BY 1, 2, 3, 4, 5;
INSERT INTO rollup_force_daily_sources (force_id, day, src_ip, events)
SELECT force_id, day, src_ip, sum(count) FROM rollup_backfill WHERE src_ip IS NOT NULL GROUP BY 1, 2, 3;
INSERT INTO rollup_force_daily_ports (force_id, day, dst_port, proto, events)
SELECT force_id, day, dst_port, proto, sum(count) FROM rollup_backfill WHERE dst_port IS NOT NULL
GROUP BY 1, 2, 3, 4;
`,
};
