import type { Migration } from '../migrate.js';

/**
 * The SHA-256 of each stored batch's payload, so a repeated (device, seq) can be told apart: the
 * same bytes again is a redelivery (the agent resends the bytes its outbox holds), other bytes are a
 * conflicting copy that is quarantined, never dropped silently (store-batch.ts). Rows stored before
 * this version have none, and any copy of them counts as a redelivery, as before.
 */
export const migration: Migration = {
  version: 9,
  name: 'batch-digest',
  sql: `ALTER TABLE batches ADD COLUMN payload_sha256 bytea;`,
};
