/**
 * Day partitions of the time-partitioned tables (migration 003) and retention.
 *
 * - `ensurePartitions` creates the partitions for yesterday through today + `aheadDays`, so inserts
 *   always find their day; it runs at start-up and hourly (`maintenance.ts`). Rows that landed in
 *   the DEFAULT partition because their day had none yet move into the day's partition when it is
 *   created: the new day is built as a plain table, filled from DEFAULT and then ATTACHed, which
 *   takes only SHARE UPDATE EXCLUSIVE on the parent — concurrent ingest keeps inserting. (CREATE
 *   TABLE … PARTITION OF would fail while DEFAULT holds rows of that day, and locks the parent
 *   exclusively.)
 * - `dropExpiredPartitions` drops each day partition lying entirely before now − retentionDays,
 *   deletes the expired rows that sit in DEFAULT, and deletes rollup buckets entirely before
 *   now − rollupRetentionDays (rollups are small and serve long trends, so they live longer).
 *
 * Partition bounds are UTC midnights written with an explicit +00 offset, so they do not depend on
 * the session's TimeZone. Every change runs in its own short transaction under an advisory lock
 * (several central processes may run maintenance at once) with a lock timeout, so a long report
 * query holding the parent delays maintenance until the next run rather than stalling ingest behind
 * a queued exclusive lock.
 */
import type { Database, Queryable } from './db.js';

/** Tables partitioned by day of received_at, each with a `<table>_default` partition. */
export const PARTITIONED_TABLES = ['events', 'flow_summaries'] as const;
export type PartitionedTable = (typeof PARTITIONED_TABLES)[number];

/** Rollup tables and their time bucket column and width. */
export const ROLLUP_TABLES = [
  { table: 'rollup_member_hourly_actions', column: 'hour', widthMs: 3_600_000 },
  { table: 'rollup_member_hourly_sources', column: 'hour', widthMs: 3_600_000 },
  { table: 'rollup_member_hourly_ports', column: 'hour', widthMs: 3_600_000 },
  { table: 'rollup_force_daily_actions', column: 'day', widthMs: 86_400_000 },
  { table: 'rollup_force_daily_sources', column: 'day', widthMs: 86_400_000 },
  { table: 'rollup_force_daily_ports', column: 'day', widthMs: 86_400_000 },
  { table: 'rollup_force_daily_top_sources', column: 'day', widthMs: 86_400_000 },
  { table: 'rollup_force_daily_top_ports', column: 'day', widthMs: 86_400_000 },
  { table: 'rollup_force_daily_remainder', column: 'day', widthMs: 86_400_000 },
  { table: 'rollup_force_days_pending', column: 'day', widthMs: 86_400_000 },
] as const;

export const DAY_MS = 86_400_000;
/** Days created ahead of today by default: a week of headroom if maintenance stops running. */
export const DEFAULT_AHEAD_DAYS = 7;
/** Arbitrary but fixed key for pg_advisory_xact_lock ("CYBP"), distinct from the migration lock. */
export const PARTITION_LOCK_KEY = 0x43594250;
const LOCK_TIMEOUT = '5s';

const PARTITION_NAME = /^(events|flow_summaries)_p(\d{4})(\d{2})(\d{2})$/;

/** Midnight UTC of the day containing `ms`. */
export const utcDay = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;

export function partitionName(table: PartitionedTable, dayMs: number): string {
  return `${table}_p${new Date(dayMs).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** `'2025-03-01 00:00:00+00'` — a literal for DDL, which takes no bind parameters. */
const boundLiteral = (ms: number): string => `'${new Date(ms).toISOString().slice(0, 10)} 00:00:00+00'`;

export interface DayPartition {
  readonly table: PartitionedTable;
  readonly name: string;
  /** Midnight UTC, epoch ms; the partition holds [dayMs, dayMs + 1 day). */
  readonly dayMs: number;
}

/** The day partitions of a table (not DEFAULT), oldest first. */
export async function listPartitions(db: Queryable, table: PartitionedTable): Promise<DayPartition[]> {
  const rows = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = to_regclass($1)`,
    [table],
  );
  const days: DayPartition[] = [];
  for (const { name } of rows) {
    const m = PARTITION_NAME.exec(name);
    if (m === null || m[1] !== table) continue;
    days.push({ table, name, dayMs: Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4])) });
  }
  return days.sort((a, b) => a.dayMs - b.dayMs);
}

async function lockForPartitioning(tx: Queryable): Promise<void> {
  await tx.exec(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
  await tx.query('SELECT pg_advisory_xact_lock($1::int8)', [PARTITION_LOCK_KEY]);
}

/** Creates one day's partition (moving its rows out of DEFAULT); false if it already exists. */
async function createDayPartition(db: Database, table: PartitionedTable, dayMs: number): Promise<boolean> {
  const name = partitionName(table, dayMs);
  return db.transaction(async (tx) => {
    await lockForPartitioning(tx);
    const [exists] = await tx.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [name]);
    if (exists?.t != null) return false;
    const from = boundLiteral(dayMs);
    const to = boundLiteral(dayMs + DAY_MS);
    // LIKE copies the columns in the parent's order, so DEFAULT's rows go in with SELECT *; ATTACH
    // then creates the parent's indexes on it.
    await tx.exec(`CREATE TABLE ${name} (LIKE ${table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
    await tx.exec(
      `WITH moved AS (DELETE FROM ${table}_default WHERE received_at >= ${from} AND received_at < ${to} RETURNING *)
       INSERT INTO ${name} SELECT * FROM moved`,
    );
    await tx.exec(`ALTER TABLE ${table} ATTACH PARTITION ${name} FOR VALUES FROM (${from}) TO (${to})`);
    return true;
  });
}

export interface EnsurePartitionsOptions {
  readonly now?: Date;
  /** Days after today to create (default 7). */
  readonly aheadDays?: number;
}

/**
 * Creates the missing day partitions from yesterday to today + aheadDays, and for any day up to
 * that horizon that has rows waiting in DEFAULT. Returns the names of the partitions created.
 */
export async function ensurePartitions(
  db: Database,
  options: EnsurePartitionsOptions = {},
): Promise<string[]> {
  const today = utcDay((options.now ?? new Date()).getTime());
  const horizon = today + (options.aheadDays ?? DEFAULT_AHEAD_DAYS) * DAY_MS;
  const created: string[] = [];
  for (const table of PARTITIONED_TABLES) {
    const existing = new Set((await listPartitions(db, table)).map((p) => p.dayMs));
    const wanted = new Set<number>();
    for (let day = today - DAY_MS; day <= horizon; day += DAY_MS) wanted.add(day);
    // DEFAULT is normally empty, so this is a scan of nothing.
    const stray = await db.query<{ day: Date }>(
      `SELECT DISTINCT date_trunc('day', received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day
       FROM ${table}_default WHERE received_at < $1`,
      [new Date(horizon + DAY_MS)],
    );
    for (const { day } of stray) wanted.add(day.getTime());
    for (const day of [...wanted].sort((a, b) => a - b)) {
      if (existing.has(day)) continue;
      if (await createDayPartition(db, table, day)) created.push(partitionName(table, day));
    }
  }
  return created;
}

export interface RetentionOptions {
  /** Raw rows (events, flow summaries) are kept this many days. */
  readonly retentionDays: number;
  /** Rollup buckets are kept this many days. */
  readonly rollupRetentionDays: number;
  readonly now?: Date;
}

export interface RetentionResult {
  readonly droppedPartitions: readonly string[];
  /** Expired rows deleted from the DEFAULT partitions. */
  readonly defaultRowsDeleted: number;
  readonly rollupRowsDeleted: number;
  /** Heartbeats (device_health) received before the raw-data cutoff: kept as long as raw events. */
  readonly healthRowsDeleted: number;
}

/** Drops day partitions entirely older than the retention window; prunes DEFAULT, rollups and heartbeats. */
export async function dropExpiredPartitions(
  db: Database,
  options: RetentionOptions,
): Promise<RetentionResult> {
  const nowMs = (options.now ?? new Date()).getTime();
  const cutoff = nowMs - options.retentionDays * DAY_MS;
  const droppedPartitions: string[] = [];
  let defaultRowsDeleted = 0;
  for (const table of PARTITIONED_TABLES) {
    for (const p of await listPartitions(db, table)) {
      if (p.dayMs + DAY_MS > cutoff) break; // oldest first: the rest are younger
      await db.transaction(async (tx) => {
        await lockForPartitioning(tx);
        await tx.exec(`DROP TABLE IF EXISTS ${p.name}`);
      });
      droppedPartitions.push(p.name);
    }
    const deleted = await db.query<{ n: number }>(
      `WITH d AS (DELETE FROM ${table}_default WHERE received_at < $1 RETURNING 1) SELECT count(*) AS n FROM d`,
      [new Date(cutoff)],
    );
    defaultRowsDeleted += deleted[0]?.n ?? 0;
  }
  const rollupCutoff = nowMs - options.rollupRetentionDays * DAY_MS;
  let rollupRowsDeleted = 0;
  for (const { table, column, widthMs } of ROLLUP_TABLES) {
    // A bucket [start, start + width) is entirely expired when start + width <= cutoff.
    const deleted = await db.query<{ n: number }>(
      `WITH d AS (DELETE FROM ${table} WHERE ${column} <= $1 RETURNING 1) SELECT count(*) AS n FROM d`,
      [new Date(rollupCutoff - widthMs)],
    );
    rollupRowsDeleted += deleted[0]?.n ?? 0;
  }
  const health = await db.query<{ n: number }>(
    'WITH d AS (DELETE FROM device_health WHERE received_at < $1 RETURNING 1) SELECT count(*)::int AS n FROM d',
    [new Date(cutoff)],
  );
  return { droppedPartitions, defaultRowsDeleted, rollupRowsDeleted, healthRowsDeleted: health[0]?.n ?? 0 };
}
