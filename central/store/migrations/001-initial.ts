/**
 * The first schema: organisations (forces → members → devices), what ingest stores (batches,
 * events), what it refuses (quarantine) and what the appliance reports it lost (loss_records).
 *
 * Choices:
 * - Addresses are `text`, not `inet`: the privacy boundary (issue 4) replaces addresses with
 *   pseudonyms that `inet` would reject.
 * - No foreign keys from the ingest tables (batches, events, quarantine, loss_records) to devices:
 *   ingest creates the device row itself in the same transaction, and a per-row FK check on the
 *   hottest table costs throughput for no extra safety.
 * - `count`, `bytes`, `packets` are bigint: the wire schema allows up to 2^53 - 1, and a value the
 *   column cannot hold would fail the insert on every redelivery.
 * - events has no primary key: rows are only ever appended and read by range; (device_id, seq)
 *   identifies the batch they came in.
 *
 * Partitioning `events` (and later summaries) by day of received_at, with retention dropping old
 * partitions, is issue 5's work and a later migration; the report already filters on received_at so
 * that partition pruning will apply without changing its queries.
 */
import type { Migration } from '../migrate.js';

export const migration: Migration = {
  version: 1,
  name: 'initial',
  sql: `
CREATE TABLE forces (
  force_id text PRIMARY KEY,
  name text NOT NULL,
  -- Regions are a label for now; a table when something hangs off them.
  region text
);

CREATE TABLE members (
  member_id text PRIMARY KEY,
  org text NOT NULL,
  force_id text NOT NULL REFERENCES forces (force_id)
);
CREATE INDEX members_force_id ON members (force_id);

CREATE TABLE devices (
  device_id text PRIMARY KEY,
  -- Null until the device is enrolled to a member.
  member_id text REFERENCES members (member_id) ON DELETE SET NULL,
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  bad_batches integer NOT NULL DEFAULT 0,
  flagged boolean NOT NULL DEFAULT false
);
CREATE INDEX devices_member_id ON devices (member_id);

CREATE TABLE batches (
  device_id text NOT NULL,
  seq bigint NOT NULL,
  created timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  -- Event records in the batch, and the raw events they stand for (sum of count).
  events integer NOT NULL,
  raw_events bigint NOT NULL,
  -- The unique (device, sequence) makes a redelivered batch a no-op.
  PRIMARY KEY (device_id, seq)
);

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
);
-- Every report query is "one device, one received_at range": this index turns each into a range
-- scan of that device's rows in the period instead of a scan of the whole table.
CREATE INDEX events_device_received ON events (device_id, received_at);

CREATE TABLE quarantine (
  id bigserial PRIMARY KEY,
  device_id text NOT NULL,
  topic text NOT NULL,
  received_at timestamptz NOT NULL,
  reason text NOT NULL,
  size_bytes integer NOT NULL,
  -- The first 256 bytes, enough to see what was sent without storing hostile payloads whole.
  sample bytea NOT NULL
);

-- What an appliance reports it could not deliver (issue 4 fills this).
CREATE TABLE loss_records (
  id bigserial PRIMARY KEY,
  device_id text NOT NULL,
  seq bigint,
  reason text NOT NULL,
  count bigint NOT NULL,
  first_ts timestamptz,
  last_ts timestamptz
);
CREATE INDEX loss_records_device_id ON loss_records (device_id);
`,
};
