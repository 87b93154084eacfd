import type { Migration } from '../migrate.js';

/**
 * Flow summaries carry their last-seen time and distinct source ports (protocol/event.ts). Added on
 * the partitioned parent, the columns reach every existing partition, and partitions created later
 * copy them (`CREATE TABLE … (LIKE events)`). Nullable: raw events and older devices have neither.
 */
export const migration: Migration = {
  version: 7,
  name: 'summary-fields',
  sql: `
ALTER TABLE events ADD COLUMN last_seen timestamptz, ADD COLUMN src_ports integer;
`,
};
