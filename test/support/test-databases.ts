/**
 * Test support shared by every suite that runs against both engines: a fresh PGlite directory or
 * a PostgreSQL database of its own on 127.0.0.1:5432 (created here, dropped in teardown).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Test } from 'tap';
import { type Database, openDatabase } from '../../central/store/db.js';
import { migrate } from '../../central/store/migrate.js';

export const POSTGRES_ADMIN_URL =
  process.env.CYBERALARM_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export type Engine = 'pglite' | 'postgres';

export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** A PostgreSQL database of the test's own; returns its URL. Dropped (forcibly) in teardown. */
export async function createPostgresDatabase(t: Test, prefix = 'cyberalarm_test'): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  t.teardown(() => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A fresh database of the given engine (migrated unless told otherwise), closed in teardown. */
export async function freshDatabase(
  t: Test,
  engine: Engine,
  options: { migrated?: boolean } = {},
): Promise<{ db: Database; url?: string }> {
  const url = engine === 'postgres' ? await createPostgresDatabase(t) : undefined;
  const db = await openDatabase(url, t.testdir());
  // Registered after the drop, so tap runs it first (teardowns run in reverse): close, then drop.
  t.teardown(() => db.close());
  if (options.migrated !== false) await migrate(db);
  return { db, ...(url ? { url } : {}) };
}
