/**
 * `events` partitioned by day of `received_at`, and `flow_summaries` (filled by issue 4) likewise.
 *
 * - Declarative `PARTITION BY RANGE (received_at)`, one partition per UTC day named
 *   `<table>_pYYYYMMDD`, so retention drops a whole day with DROP TABLE instead of a DELETE that
 *   bloats the table and the WAL. `store/partitions.ts` creates days ahead at start-up and hourly.
 * - A DEFAULT partition per table: an insert for a day with no partition yet (central's clock
 *   jumped, maintenance fell behind) lands there instead of failing the batch, which the broker
 *   would redeliver for ever. Maintenance moves such rows into their day when it creates it.
 * - received_at, not the firewall's `ts`: always present and from central's clock (see the device
 *   report), so a device with a wrong clock cannot scatter rows over years of partitions.
 * - The unpartitioned 001 table is renamed, its rows copied into the new table (into one partition
 *   per day they span, created here so none of them sit in DEFAULT), then dropped — one transaction,
 *   so an interrupted upgrade leaves the 001 table as it was.
 * - Indexes are declared on the parent and so exist on every partition, present and future.
 */
import type { Migration } from '../migrate.js';

export const migration: Migration = {
  version: 3,
  name: 'daily-partitions',
  sql: `
ALTER TABLE events RENAME TO events_unpartitioned;
ALTER INDEX events_device_received RENAME TO events_unpartitioned_device_received;

CREATE TABLE events (
  device_id text NOT NULL,
  seq bigint NOT NULL,
  ts timestamptz,
  received_at timestamptz NOT NULL,
  vendor text NOT NULL,
  src_ip text,
  src_port integer,
  dst_ip text,
  dst_port integer,
  proto text,
  action text NOT NULL,
  src_nat_ip text,
  src_nat_port integer,
  dst_nat_ip text,
  dst_nat_port integer,
  bytes bigint,
  packets bigint,
  rule text,
  interface text,
  direction text,
  category text,
  severity text,
  count bigint NOT NULL DEFAULT 1
) PARTITION BY RANGE (received_at);
-- The device report ("one device, one received_at range"): partition pruning picks the days, this
-- index the device's rows within each.
CREATE INDEX events_device_received ON events (device_id, received_at);
CREATE TABLE events_default PARTITION OF events DEFAULT;

DO $$
DECLARE
  day date;
BEGIN
  FOR day IN SELECT DISTINCT (received_at AT TIME ZONE 'UTC')::date FROM events_unpartitioned ORDER BY 1 LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
      'events_p' || to_char(day, 'YYYYMMDD'), day::text || ' 00:00:00+00', (day + 1)::text || ' 00:00:00+00');
  END LOOP;
END
$$;

INSERT INTO events (device_id, seq, ts, received_at, vendor, src_ip, src_port, dst_ip, dst_port, proto,
  action, src_nat_ip, src_nat_port, dst_nat_ip, dst_nat_port, bytes, packets, rule, interface, direction,
  category, severity, count)
SELECT device_id, seq, ts, received_at, vendor, src_ip, src_port, dst_ip, dst_port, proto,
  action, src_nat_ip, src_nat_port, dst_nat_ip, dst_nat_port, bytes, packets, rule, interface, direction,
  category, severity, count
FROM events_unpartitioned;
DROP TABLE events_unpartitioned;

-- Flow summaries (issue 4): one row per (window, flow key) with the counts of the events it stands
-- for. Addresses are text for the same reason as in events (pseudonyms).
CREATE TABLE flow_summaries (
  device_id text NOT NULL,
  seq bigint NOT NULL,
  received_at timestamptz NOT NULL,
  window_start timestamptz NOT NULL,
  src_ip text,
  dst_ip text,
  dst_port integer,
  proto text,
  action text NOT NULL,
  direction text,
  count bigint NOT NULL,
  bytes bigint,
  packets bigint,
  first_seen timestamptz,
  last_seen timestamptz,
  distinct_src_ports integer
) PARTITION BY RANGE (received_at);
-- Same access path as events: one device over a received_at range.
CREATE INDEX flow_summaries_device_received ON flow_summaries (device_id, received_at);
CREATE TABLE flow_summaries_default PARTITION OF flow_summaries DEFAULT;
`,
};
