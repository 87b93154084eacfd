/**
 * Versioned schema migrations, run at start-up by every central process on PGlite and PostgreSQL
 * alike. Each migration applies in its own transaction together with its schema_migrations row, so
 * a crash leaves the schema at a version boundary. A transaction-scoped advisory lock serialises
 * concurrent starters (several ingest workers starting together): the second waits, then sees the
 * version recorded and skips it.
 */
import type { Database, Queryable } from './db.js';
import { migrations as allMigrations } from './migrations/index.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Arbitrary but fixed key for pg_advisory_xact_lock ("CYBA" in ASCII). */
export const MIGRATION_LOCK_KEY = 0x43594241;

async function lock(tx: Queryable): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1::int8)', [MIGRATION_LOCK_KEY]);
}

/** Applies every migration not yet recorded; returns the versions applied, in order. */
export async function migrate(
  db: Database,
  migrations: readonly Migration[] = allMigrations,
): Promise<number[]> {
  for (let i = 1; i < migrations.length; i++) {
    const prev = migrations[i - 1];
    const cur = migrations[i];
    if (prev && cur && cur.version <= prev.version)
      throw new Error(`migrations out of order: ${cur.version} after ${prev.version}`);
  }
  // Under the lock too: two concurrent CREATE TABLE IF NOT EXISTS can both try to create the table.
  const applied = await db.transaction(async (tx) => {
    await lock(tx);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    return new Set(rows.map((r) => r.version));
  });
  const done: number[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    const ran = await db.transaction(async (tx) => {
      await lock(tx);
      // Another process may have applied it between our read and taking the lock.
      const again = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
      if (again.length > 0) return false;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      return true;
    });
    if (ran) done.push(migration.version);
  }
  return done;
}
