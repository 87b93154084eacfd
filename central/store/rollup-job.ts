/**
 * The rollup job: adds stored batches to the report rollups (migrations 004 and 006), off the ingest
 * path. Ingest stores a batch and its events only; every `intervalMs` (config `rollupIntervalS`)
 * this job rolls up the batches not yet rolled up, so reports lag ingest by up to one interval and
 * say how far they are complete (`rolledUpTo`).
 *
 * One run:
 * 1. Chunks, each ONE transaction: take the job lock, pick the oldest ≤ `maxBatches` batches with
 *    `rolled_up_at IS NULL` (cut to ≤ `maxEvents` event records), and in one statement aggregate
 *    their events into each rollup table (one INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE per
 *    table), set their `rolled_up_at` and note the force-days whose top lists need recomputing.
 *    Rollups and mark commit together, so a batch is rolled up exactly once: a redelivered batch
 *    never had a second batches row (ingest's unique (device, seq)), and a batch committed during a
 *    chunk is not visible to it and waits for the next chunk.
 * 2. Force top lists: for each pending force-day, replace its top K sources and ports and its
 *    remainder rows from the day's full rows (see `refreshForceTopLists`), a few days a transaction.
 *
 * One job at a time across every central process: each transaction first takes
 * `pg_try_advisory_xact_lock(ROLLUP_LOCK_KEY)` and, if another process holds it, this run stops
 * (that process is rolling up). Transaction-scoped, so the lock can never outlive a crashed
 * transaction or be left held on a pooled connection; it works unchanged on PGlite. The rollup
 * tables are written only under this lock, so concurrent upserts cannot deadlock.
 *
 * A batch's member and force are those of its device when the job rolls it up (seconds after
 * ingest); '' while the device is bound to no member.
 */
import type { Database, Queryable } from './db.js';

/** Arbitrary but fixed key for pg_try_advisory_xact_lock ("CYBR"), distinct from the others. */
export const ROLLUP_LOCK_KEY = 0x43594252;

export const DEFAULT_TOP_K = 1000;
export const DEFAULT_MAX_BATCHES = 200;
/** Event records per chunk: 200 batches of 5,000 events would make one long transaction. */
export const DEFAULT_MAX_EVENTS = 100_000;
/** Force-days whose top lists are recomputed per transaction. */
const FORCE_DAYS_PER_TRANSACTION = 8;

export interface RollupOptions {
  /** Sources and ports kept per force-day for the force-wide top lists (default 1000). */
  readonly topK?: number;
  readonly maxBatches?: number;
  readonly maxEvents?: number;
}

export interface RollupRunResult {
  /** False when another process held the job lock (it is doing the work). */
  readonly ran: boolean;
  readonly batches: number;
  /** Event records added to the rollups. */
  readonly events: number;
  readonly chunks: number;
  /** Force-days whose top lists were recomputed. */
  readonly forceDays: number;
}

const INT8_MAX = '9223372036854775807';

/**
 * Adds to a rollup row, saturating at the int8 maximum: one device sending absurd counts must not
 * make a shared force row overflow, which would fail every later chunk touching it.
 */
const addTo = (table: string) =>
  `events = CASE WHEN ${table}.events > ${INT8_MAX} - excluded.events THEN ${INT8_MAX}
     ELSE ${table}.events + excluded.events END`;
/** sum(bigint) is numeric: clamp before it goes back into a bigint column. */
const SUM = `least(sum(count), ${INT8_MAX})::int8`;

/**
 * Rolls up one chunk of batches ($1 devices, $2 seqs, $3 received_at; $4/$5 the chunk's
 * received_at range, constants so the planner prunes events to the partitions of that range).
 * Each batch's events are found through events_device_received (device_id, received_at); all
 * events of a batch share its received_at. Time buckets are UTC whatever the session's TimeZone.
 * Inserts are sorted by key so row locks are taken in a fixed order.
 */
const ROLL_UP_CHUNK = `
WITH picked AS (
  SELECT b.device_id, b.seq, b.received_at,
    coalesce(d.member_id, '') AS member_id, coalesce(m.force_id, '') AS force_id,
    date_trunc('hour', b.received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
    date_trunc('day', b.received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day
  FROM unnest($1::text[], $2::int8[], $3::timestamptz[]) AS b (device_id, seq, received_at)
  LEFT JOIN devices d ON d.device_id = b.device_id
  LEFT JOIN members m ON m.member_id = d.member_id
),
ev AS MATERIALIZED (
  SELECT p.member_id, p.force_id, p.device_id, p.hour, p.day, e.action, coalesce(e.proto, '') AS proto,
    e.src_ip, e.dst_port, e.count
  FROM picked p
  JOIN events e ON e.device_id = p.device_id AND e.received_at = p.received_at AND e.seq = p.seq
  WHERE e.received_at >= $4::timestamptz AND e.received_at <= $5::timestamptz
),
member_actions AS (
  INSERT INTO rollup_member_hourly_actions (member_id, hour, device_id, action, proto, events)
  SELECT member_id, hour, device_id, action, proto, ${SUM} FROM ev
  GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT (member_id, hour, device_id, action, proto) DO UPDATE
  SET ${addTo('rollup_member_hourly_actions')}
),
member_sources AS (
  INSERT INTO rollup_member_hourly_sources (member_id, hour, src_ip, events)
  SELECT member_id, hour, src_ip, ${SUM} FROM ev WHERE src_ip IS NOT NULL
  GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (member_id, hour, src_ip) DO UPDATE SET ${addTo('rollup_member_hourly_sources')}
),
member_ports AS (
  INSERT INTO rollup_member_hourly_ports (member_id, hour, dst_port, proto, events)
  SELECT member_id, hour, dst_port, proto, ${SUM} FROM ev WHERE dst_port IS NOT NULL
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (member_id, hour, dst_port, proto) DO UPDATE SET ${addTo('rollup_member_hourly_ports')}
),
force_actions AS (
  INSERT INTO rollup_force_daily_actions (force_id, day, member_id, action, proto, events)
  SELECT force_id, day, member_id, action, proto, ${SUM} FROM ev
  GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT (force_id, day, member_id, action, proto) DO UPDATE SET ${addTo('rollup_force_daily_actions')}
),
force_sources AS (
  INSERT INTO rollup_force_daily_sources (force_id, day, src_ip, events)
  SELECT force_id, day, src_ip, ${SUM} FROM ev WHERE src_ip IS NOT NULL
  GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (force_id, day, src_ip) DO UPDATE SET ${addTo('rollup_force_daily_sources')}
),
force_ports AS (
  INSERT INTO rollup_force_daily_ports (force_id, day, dst_port, proto, events)
  SELECT force_id, day, dst_port, proto, ${SUM} FROM ev WHERE dst_port IS NOT NULL
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (force_id, day, dst_port, proto) DO UPDATE SET ${addTo('rollup_force_daily_ports')}
),
pending AS (
  INSERT INTO rollup_force_days_pending (force_id, day)
  SELECT DISTINCT force_id, day FROM ev ORDER BY 1, 2
  ON CONFLICT DO NOTHING
),
marked AS (
  UPDATE batches b SET rolled_up_at = now() FROM picked p WHERE b.device_id = p.device_id AND b.seq = p.seq
)
SELECT count(*)::int8 AS events FROM ev`;

async function tryLock(tx: Queryable): Promise<boolean> {
  const [row] = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1::int8) AS locked', [
    ROLLUP_LOCK_KEY,
  ]);
  return row?.locked === true;
}

interface Pending {
  readonly device_id: string;
  readonly seq: number;
  readonly received_at: Date;
  readonly events: number;
}

type ChunkResult = { locked: false } | { locked: true; batches: number; events: number };

/** Rolls up the oldest batches not yet rolled up, in one transaction. */
export async function rollUpChunk(db: Database, options: RollupOptions = {}): Promise<ChunkResult> {
  const maxBatches = options.maxBatches ?? DEFAULT_MAX_BATCHES;
  const maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  return db.transaction(async (tx): Promise<ChunkResult> => {
    if (!(await tryLock(tx))) return { locked: false };
    // SKIP LOCKED is belt and braces: under the job lock nothing else locks these rows.
    const rows = await tx.query<Pending>(
      `SELECT device_id, seq, received_at, events FROM batches WHERE rolled_up_at IS NULL
       ORDER BY received_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [maxBatches],
    );
    let take = 0;
    let events = 0;
    for (const row of rows) {
      if (take > 0 && events + row.events > maxEvents) break;
      events += row.events;
      take++;
    }
    const chunk = rows.slice(0, take);
    if (chunk.length === 0) return { locked: true, batches: 0, events: 0 };
    let minMs = Number.POSITIVE_INFINITY;
    let maxMs = Number.NEGATIVE_INFINITY;
    for (const b of chunk) {
      const ms = b.received_at.getTime();
      if (ms < minMs) minMs = ms;
      if (ms > maxMs) maxMs = ms;
    }
    const [result] = await tx.query<{ events: number }>(ROLL_UP_CHUNK, [
      chunk.map((b) => b.device_id),
      chunk.map((b) => b.seq),
      chunk.map((b) => b.received_at),
      new Date(minMs),
      new Date(maxMs),
    ]);
    return { locked: true, batches: chunk.length, events: result?.events ?? 0 };
  });
}

/**
 * Replace the top K sources and ports, and the remainder rows, of the given pending force-days
 * ($1 forces, $2 days, $3 K) from their full rows. Ties at the K boundary go by key (COLLATE "C"),
 * so both engines keep the same rows.
 */
const CLEAR_TOP_LISTS = `
WITH days AS (SELECT * FROM unnest($1::text[], $2::timestamptz[]) AS d (force_id, day)),
sources AS (
  DELETE FROM rollup_force_daily_top_sources t USING days d WHERE t.force_id = d.force_id AND t.day = d.day
),
ports AS (
  DELETE FROM rollup_force_daily_top_ports t USING days d WHERE t.force_id = d.force_id AND t.day = d.day
)
DELETE FROM rollup_force_daily_remainder t USING days d WHERE t.force_id = d.force_id AND t.day = d.day`;

/** Run after CLEAR_TOP_LISTS: a statement cannot delete and re-insert the same key. */
const REFRESH_TOP_LISTS = `
WITH days AS (SELECT * FROM unnest($1::text[], $2::timestamptz[]) AS d (force_id, day)),
sources AS MATERIALIZED (
  SELECT s.force_id, s.day, s.src_ip, s.events,
    row_number() OVER (PARTITION BY s.force_id, s.day ORDER BY s.events DESC, s.src_ip COLLATE "C") AS rank
  FROM rollup_force_daily_sources s JOIN days d ON s.force_id = d.force_id AND s.day = d.day
),
ports AS MATERIALIZED (
  SELECT p.force_id, p.day, p.dst_port, p.proto, p.events,
    row_number() OVER (PARTITION BY p.force_id, p.day ORDER BY p.events DESC, p.dst_port, p.proto COLLATE "C")
      AS rank
  FROM rollup_force_daily_ports p JOIN days d ON p.force_id = d.force_id AND p.day = d.day
),
top_sources AS (
  INSERT INTO rollup_force_daily_top_sources (force_id, day, src_ip, events)
  SELECT force_id, day, src_ip, events FROM sources WHERE rank <= $3
),
top_ports AS (
  INSERT INTO rollup_force_daily_top_ports (force_id, day, dst_port, proto, events)
  SELECT force_id, day, dst_port, proto, events FROM ports WHERE rank <= $3
),
remainder AS (
  SELECT force_id, day, 'sources' AS list, events FROM sources WHERE rank > $3
  UNION ALL
  SELECT force_id, day, 'ports', events FROM ports WHERE rank > $3
)
INSERT INTO rollup_force_daily_remainder (force_id, day, list, events, max_events, keys)
SELECT force_id, day, list, least(sum(events), ${INT8_MAX})::int8, max(events), count(*)
FROM remainder GROUP BY 1, 2, 3`;

/**
 * Recomputes the top lists of pending force-days, a few per transaction, until none is pending or
 * another process holds the job lock. Returns the force-days done, or undefined if locked out.
 */
export async function refreshForceTopLists(db: Database, topK: number): Promise<number | undefined> {
  let done = 0;
  for (;;) {
    const n = await db.transaction(async (tx): Promise<number | undefined> => {
      if (!(await tryLock(tx))) return undefined;
      const days = await tx.query<{ force_id: string; day: Date }>(
        `DELETE FROM rollup_force_days_pending WHERE (force_id, day) IN (
           SELECT force_id, day FROM rollup_force_days_pending ORDER BY day, force_id LIMIT $1)
         RETURNING force_id, day`,
        [FORCE_DAYS_PER_TRANSACTION],
      );
      if (days.length === 0) return 0;
      const forces = days.map((d) => d.force_id);
      const dayStarts = days.map((d) => d.day);
      await tx.query(CLEAR_TOP_LISTS, [forces, dayStarts]);
      await tx.query(REFRESH_TOP_LISTS, [forces, dayStarts, topK]);
      return days.length;
    });
    if (n === undefined) return done > 0 ? done : undefined;
    if (n === 0) return done;
    done += n;
  }
}

/** One run: every batch waiting, chunk by chunk, then the top lists of the force-days touched. */
export async function runRollups(db: Database, options: RollupOptions = {}): Promise<RollupRunResult> {
  let batches = 0;
  let events = 0;
  let chunks = 0;
  for (;;) {
    const chunk = await rollUpChunk(db, options);
    if (!chunk.locked) return { ran: chunks > 0, batches, events, chunks, forceDays: 0 };
    if (chunk.batches === 0) break;
    batches += chunk.batches;
    events += chunk.events;
    chunks++;
  }
  const forceDays = await refreshForceTopLists(db, options.topK ?? DEFAULT_TOP_K);
  return { ran: forceDays !== undefined || chunks > 0, batches, events, chunks, forceDays: forceDays ?? 0 };
}

/**
 * How far the rollups are complete: every batch received before this instant is in them. The
 * oldest batch still waiting for the job, or the database's clock when none is (a partial-index
 * lookup). A batch being stored at that moment is not visible yet; its received_at is at most the
 * few milliseconds of its own transaction old.
 */
export async function rolledUpTo(db: Queryable): Promise<Date> {
  const [row] = await db.query<{ at: Date }>(
    'SELECT coalesce(min(received_at), now()) AS at FROM batches WHERE rolled_up_at IS NULL',
  );
  return row?.at ?? new Date();
}

export interface RollupJobConfig extends RollupOptions {
  /** Between runs (config `rollupIntervalS`, default 10 s). */
  readonly intervalMs: number;
}

export interface RollupJob {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

/** Log-shaped sink the job reports to (pino's Logger fits). */
interface JobLogger {
  debug(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Runs the job every `intervalMs` (first run at once). A failed run is logged and retried at the
 * next tick, never thrown into the caller: batches wait with `rolled_up_at IS NULL` meanwhile.
 * Runs never overlap within a process; across processes the job lock serialises them.
 */
export function startRollupJob(db: Database, config: RollupJobConfig, logger: JobLogger): RollupJob {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const runOnce = async (): Promise<void> => {
    if (stopped) return;
    const started = performance.now();
    try {
      const result = await runRollups(db, config);
      if (result.batches > 0 || result.forceDays > 0)
        logger.debug({ ...result, ms: Math.round(performance.now() - started) }, 'rolled up');
    } catch (err) {
      logger.error({ err }, 'rollup job failed; retrying at the next interval');
    }
  };
  let busy = false;
  const tick = () => {
    if (stopped || busy) return; // a run longer than the interval: skip, do not queue up
    busy = true;
    running = runOnce().finally(() => {
      busy = false;
    });
  };
  tick();
  const timer = setInterval(tick, config.intervalMs);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
