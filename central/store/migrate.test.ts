import t, { type Test } from 'tap';
import {
  type Engine,
  freshDatabase as freshDb,
  postgresReachable,
} from '../../test/support/test-databases.js';
import { type Database, openDatabase } from './db.js';
import { MIGRATION_LOCK_KEY, type Migration, migrate } from './migrate.js';
import { migrations } from './migrations/index.js';

const pgUp = await postgresReachable();
const freshDatabase = (t: Test, engine: Engine) => freshDb(t, engine, { migrated: false });

// Partitioned tables and their DEFAULT partitions are listed; a fresh install has no day partitions
// until maintenance creates them.
const TABLES = [
  'alert_batches',
  'alerts',
  'audit_log',
  'batches',
  'certificates',
  'device_health',
  'devices',
  'enrolment_requests',
  'events',
  'events_default',
  'findings',
  'flow_summaries',
  'flow_summaries_default',
  'forces',
  'loss_records',
  'members',
  'officer_sessions',
  'officers',
  'quarantine',
  'regions',
  'reports',
  'rollup_force_daily_actions',
  'rollup_force_daily_ports',
  'rollup_force_daily_remainder',
  'rollup_force_daily_sources',
  'rollup_force_daily_top_ports',
  'rollup_force_daily_top_sources',
  'rollup_force_days_pending',
  'rollup_member_hourly_actions',
  'rollup_member_hourly_ports',
  'rollup_member_hourly_sources',
  'schema_migrations',
];

for (const engine of ['pglite', 'postgres'] as const) {
  const skip = engine === 'postgres' && !pgUp ? 'PostgreSQL at 127.0.0.1:5432 is unreachable' : false;

  t.test(`${engine}: migrations apply once, are recorded, and re-running is a no-op`, { skip }, async (t) => {
    const { db } = await freshDatabase(t, engine);
    t.equal(db.kind, engine);
    const all = migrations.map((m) => m.version);
    t.same(await migrate(db), all, 'first run applies every migration');
    t.same(await migrate(db), [], 'second run applies nothing');
    const recorded = await db.query<{ version: number; name: string; applied_at: Date }>(
      'SELECT version, name, applied_at FROM schema_migrations ORDER BY version',
    );
    t.same(
      recorded.map((r) => [r.version, r.name]),
      migrations.map((m) => [m.version, m.name]),
    );
    for (const r of recorded) t.ok(r.applied_at instanceof Date, 'applied_at is a timestamp');
    const tables = await db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    t.same(
      tables.map((r) => r.table_name),
      TABLES,
    );
  });

  t.test(`${engine}: concurrent starters migrate exactly once`, { skip }, async (t) => {
    const { db, url } = await freshDatabase(t, engine);
    // PostgreSQL: two separate pools, as two workers would have. PGlite is one process's database.
    const other = url ? await openDatabase(url, t.testdir()) : db;
    if (other !== db) t.teardown(() => other.close());
    const results = await Promise.all([migrate(db), migrate(other), migrate(db)]);
    t.same(
      results.flat().sort(),
      migrations.map((m) => m.version).sort(),
      'each version applied by one starter',
    );
    const [row] = await db.query<{ n: number }>('SELECT count(*) AS n FROM schema_migrations');
    t.equal(row?.n, migrations.length);
  });

  t.test(`${engine}: the transaction-scoped advisory lock is available`, { skip }, async (t) => {
    const { db } = await freshDatabase(t, engine);
    const [held] = await db.transaction((tx) =>
      tx.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock($1::int8) AS got', [MIGRATION_LOCK_KEY]),
    );
    t.equal(held?.got, true, 'pg_advisory_xact_lock family works on this engine');
    const [again] = await db.transaction((tx) =>
      tx.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock($1::int8) AS got', [MIGRATION_LOCK_KEY]),
    );
    t.equal(again?.got, true, 'released when the transaction ended');
  });

  t.test(`${engine}: a failing migration rolls back and is not recorded`, { skip }, async (t) => {
    const { db } = await freshDatabase(t, engine);
    const broken: Migration = {
      version: 999,
      name: 'broken',
      sql: 'CREATE TABLE half_done (x int); SELECT 1 / 0;',
    };
    await t.rejects(migrate(db, [...migrations, broken]), /division by zero/);
    const versions = await db.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    t.same(
      versions.map((r) => r.version),
      migrations.map((m) => m.version),
      'the good migrations stay applied, the broken one is not recorded',
    );
    const [exists] = await db.query<{ t: string | null }>(`SELECT to_regclass('half_done')::text AS t`);
    t.equal(exists?.t, null, 'its partial DDL rolled back');
    t.same(await migrate(db), [], 'the shipped list is then complete');
  });

  t.test(`${engine}: result types are the same on both engines`, { skip }, async (t) => {
    const { db } = await freshDatabase(t, engine);
    const [row] = await db.query<Record<string, unknown>>(
      `SELECT count(*) AS n, 5::int8 AS big, sum(x)::int8 AS s, now() AS at, '\\x01ff'::bytea AS raw
       FROM (VALUES (1::int8), (2::int8)) AS v(x)`,
    );
    t.equal(row?.n, 2, 'count(*) is a number');
    t.equal(row?.big, 5, 'int8 is a number');
    t.equal(row?.s, 3, 'sum(int8)::int8 is a number');
    t.ok(row?.at instanceof Date, 'timestamptz is a Date');
    t.ok(row?.raw instanceof Uint8Array, 'bytea is a Uint8Array');
    t.same(Array.from((row?.raw as Uint8Array | undefined) ?? []), [1, 255]);
  });
}

t.test(
  'PostgreSQL: a second session waits for the migration lock',
  { skip: pgUp ? false : 'PostgreSQL at 127.0.0.1:5432 is unreachable' },
  async (t) => {
    const { db, url } = await freshDatabase(t, 'postgres');
    const other = await openDatabase(url, t.testdir());
    t.teardown(() => other.close());
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const holder = db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1::int8)', [MIGRATION_LOCK_KEY]);
      await released;
    });
    await new Promise((r) => setTimeout(r, 100));
    const [probe] = await other.transaction((tx) =>
      tx.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock($1::int8) AS got', [MIGRATION_LOCK_KEY]),
    );
    t.equal(probe?.got, false, 'held by the first session');
    release();
    await holder;
    const [after] = await other.transaction((tx) =>
      tx.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock($1::int8) AS got', [MIGRATION_LOCK_KEY]),
    );
    t.equal(after?.got, true, 'released at commit');
  },
);

t.test('openDatabase refuses other URLs, naming them without the password', async (t) => {
  const message = await openDatabase('mysql://user:s3cret@db.example/cyberalarm', t.testdir()).then(
    () => 'opened',
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );
  t.match(message, 'mysql://user:***@db.example/cyberalarm', 'names the URL');
  t.notMatch(message, 's3cret', 'but not its password');
  await t.rejects(openDatabase('', t.testdir()), /database URL ""/);
});

t.test('migration versions strictly increase', async (t) => {
  for (let i = 1; i < migrations.length; i++) {
    t.ok((migrations[i]?.version ?? 0) > (migrations[i - 1]?.version ?? 0));
  }
  const db = { transaction: () => Promise.reject(new Error('not reached')) } as unknown as Database;
  await t.rejects(
    migrate(db, [
      { version: 2, name: 'b', sql: '' },
      { version: 1, name: 'a', sql: '' },
    ]),
    /out of order/,
  );
});
