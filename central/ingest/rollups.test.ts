/**
 * Ingest stores, the rollup job rolls up (store/rollup-job.ts): after the job has run, every rollup
 * equals the aggregation of the raw events, whatever was delivered twice, arrived during a run or
 * was rolled up by two jobs at once.
 */
import pg from 'pg';
import t, { type Test } from 'tap';
import { encodeBatch } from '../../protocol/codec.js';
import type { ConnectionEvent } from '../../protocol/event.js';
import { uplinkTopic } from '../../protocol/topics.js';
import {
  type Engine,
  freshDatabase as freshDb,
  postgresReachable,
} from '../../test/support/test-databases.js';
import { type Database, openDatabase } from '../store/db.js';
import { ROLLUP_LOCK_KEY, runRollups } from '../store/rollup-job.js';
import { storeBatch } from './store-batch.js';

const pgUp = await postgresReachable();
const freshDatabase = async (t: Test, engine: Engine) => (await freshDb(t, engine)).db;

/** A small deterministic generator (mulberry32), so both engines get the same batches. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const ACTIONS = ['allow', 'deny', 'drop', 'reject'] as const;
const PROTOS = ['tcp', 'udp', 'icmp', undefined] as const;

function randomEvents(next: () => number, n: number): ConnectionEvent[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const events: ConnectionEvent[] = [];
  for (let i = 0; i < n; i++) {
    const e: ConnectionEvent = { vendor: 'netfilter', action: pick(ACTIONS) };
    const proto = pick(PROTOS);
    if (proto !== undefined) e.proto = proto;
    if (next() < 0.9) e.src_ip = `198.51.100.${Math.floor(next() * 12)}`;
    if (next() < 0.85) e.dst_port = pick([22, 23, 53, 443, 3389, 8080]);
    if (next() < 0.5) e.count = 1 + Math.floor(next() * 9);
    events.push(e);
  }
  return events;
}

async function seedOrganisations(db: Database): Promise<void> {
  await db.exec(`
    INSERT INTO regions (region_id, name) VALUES ('r1', 'Region one');
    INSERT INTO forces (force_id, name, region_id) VALUES ('f1', 'Force one', 'r1'), ('f2', 'Force two', 'r1');
    INSERT INTO members (member_id, name, force_id) VALUES ('m1', 'School', 'f1'), ('m2', 'Charity', 'f1'),
      ('m3', 'Shop', 'f2');
    INSERT INTO devices (device_id, member_id, first_seen, last_seen) VALUES
      ('dev-1a', 'm1', now(), now()), ('dev-1b', 'm1', now(), now()), ('dev-2', 'm2', now(), now()),
      ('dev-3', 'm3', now(), now());
  `);
}

/** The rollups recomputed from the raw events (the ground truth), in the rollups' own shape. */
const RAW_AGGREGATIONS: Record<string, { raw: string; rollup: string }> = {
  rollup_member_hourly_actions: {
    raw: `SELECT coalesce(d.member_id, '') AS k1, date_trunc('hour', e.received_at AT TIME ZONE 'UTC') AS k2,
            e.device_id AS k3, e.action AS k4, coalesce(e.proto, '') AS k5, sum(e.count)::int8 AS n
          FROM events e LEFT JOIN devices d USING (device_id) GROUP BY 1, 2, 3, 4, 5`,
    rollup: `SELECT member_id AS k1, hour AT TIME ZONE 'UTC' AS k2, device_id AS k3, action AS k4,
               proto AS k5, events AS n FROM rollup_member_hourly_actions`,
  },
  rollup_member_hourly_sources: {
    raw: `SELECT coalesce(d.member_id, '') AS k1, date_trunc('hour', e.received_at AT TIME ZONE 'UTC') AS k2,
            e.src_ip AS k3, sum(e.count)::int8 AS n
          FROM events e LEFT JOIN devices d USING (device_id) WHERE e.src_ip IS NOT NULL GROUP BY 1, 2, 3`,
    rollup: `SELECT member_id AS k1, hour AT TIME ZONE 'UTC' AS k2, src_ip AS k3, events AS n
             FROM rollup_member_hourly_sources`,
  },
  rollup_member_hourly_ports: {
    raw: `SELECT coalesce(d.member_id, '') AS k1, date_trunc('hour', e.received_at AT TIME ZONE 'UTC') AS k2,
            e.dst_port AS k3, coalesce(e.proto, '') AS k4, sum(e.count)::int8 AS n
          FROM events e LEFT JOIN devices d USING (device_id) WHERE e.dst_port IS NOT NULL GROUP BY 1, 2, 3, 4`,
    rollup: `SELECT member_id AS k1, hour AT TIME ZONE 'UTC' AS k2, dst_port AS k3, proto AS k4, events AS n
             FROM rollup_member_hourly_ports`,
  },
  rollup_force_daily_actions: {
    raw: `SELECT coalesce(m.force_id, '') AS k1, date_trunc('day', e.received_at AT TIME ZONE 'UTC') AS k2,
            coalesce(d.member_id, '') AS k3, e.action AS k4, coalesce(e.proto, '') AS k5, sum(e.count)::int8 AS n
          FROM events e LEFT JOIN devices d USING (device_id) LEFT JOIN members m ON m.member_id = d.member_id
          GROUP BY 1, 2, 3, 4, 5`,
    rollup: `SELECT force_id AS k1, day AT TIME ZONE 'UTC' AS k2, member_id AS k3, action AS k4, proto AS k5,
               events AS n FROM rollup_force_daily_actions`,
  },
  rollup_force_daily_sources: {
    raw: `SELECT coalesce(m.force_id, '') AS k1, date_trunc('day', e.received_at AT TIME ZONE 'UTC') AS k2,
            e.src_ip AS k3, sum(e.count)::int8 AS n
          FROM events e LEFT JOIN devices d USING (device_id) LEFT JOIN members m ON m.member_id = d.member_id
          WHERE e.src_ip IS NOT NULL GROUP BY 1, 2, 3`,
    rollup: `SELECT force_id AS k1, day AT TIME ZONE 'UTC' AS k2, src_ip AS k3, events AS n
             FROM rollup_force_daily_sources`,
  },
  rollup_force_daily_ports: {
    raw: `SELECT coalesce(m.force_id, '') AS k1, date_trunc('day', e.received_at AT TIME ZONE 'UTC') AS k2,
            e.dst_port AS k3, coalesce(e.proto, '') AS k4, sum(e.count)::int8 AS n
          FROM events e LEFT JOIN devices d USING (device_id) LEFT JOIN members m ON m.member_id = d.member_id
          WHERE e.dst_port IS NOT NULL GROUP BY 1, 2, 3, 4`,
    rollup: `SELECT force_id AS k1, day AT TIME ZONE 'UTC' AS k2, dst_port AS k3, proto AS k4, events AS n
             FROM rollup_force_daily_ports`,
  },
};

type Row = Record<string, unknown>;
const canonical = (rows: Row[]): string[] =>
  rows.map((r) => JSON.stringify([r.k1, String(r.k2), r.k3, r.k4 ?? null, r.k5 ?? null, r.n])).sort();

/** Every rollup table, canonicalised; asserts each equals the raw aggregation. */
async function checkRollupsMatchRaw(t: Test, db: Database): Promise<Record<string, string[]>> {
  const all: Record<string, string[]> = {};
  for (const [table, { raw, rollup }] of Object.entries(RAW_AGGREGATIONS)) {
    const expected = canonical(await db.query<Row>(raw));
    const actual = canonical(await db.query<Row>(rollup));
    t.ok(expected.length > 0, `${table}: the raw data has rows to compare`);
    t.same(actual, expected, `${table} equals the aggregation of the raw events`);
    all[table] = actual;
  }
  return all;
}

async function rollupRows(db: Database): Promise<number> {
  let n = 0;
  for (const table of Object.keys(RAW_AGGREGATIONS)) {
    const [row] = await db.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
    n += row?.n ?? 0;
  }
  return n;
}

/** Stores `perDevice` random batches per device (seqs from `firstSeq`), received at `at`. */
async function storeRandom(
  db: Database,
  next: () => number,
  o: { devices: readonly string[]; perDevice: number; firstSeq: number; at: Date },
): Promise<number> {
  let stored = 0;
  for (let i = 0; i < o.perDevice; i++) {
    for (const device of o.devices) {
      const payload = encodeBatch({
        v: 1,
        device,
        seq: o.firstSeq + i,
        created: 0,
        events: randomEvents(next, 1 + Math.floor(next() * 30)),
      });
      const r = await storeBatch(db, {
        deviceId: device,
        topic: uplinkTopic(device, 'events'),
        payload,
        receivedAt: new Date(o.at.getTime() + i * 60_000),
      });
      if (r.status !== 'stored') throw new Error(`not stored: ${JSON.stringify(r)}`);
      stored++;
    }
  }
  return stored;
}

const DEVICES = ['dev-1a', 'dev-1b', 'dev-2', 'dev-3', 'dev-unbound'] as const;

const answers: Partial<Record<Engine, unknown>> = {};

for (const engine of ['pglite', 'postgres'] as const) {
  const skip = engine === 'postgres' && !pgUp ? 'PostgreSQL at 127.0.0.1:5432 is unreachable' : false;

  t.test(`${engine}: rollups equal the raw aggregation, duplicates counted once`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    await seedOrganisations(db);
    const next = rng(42);
    const devices = ['dev-1a', 'dev-1b', 'dev-2', 'dev-3', 'dev-unbound'];
    // Three days, several hours a day, each device several batches; a batch in the same hour as an
    // earlier one adds to the same rollup rows (the ON CONFLICT path).
    const received = [
      '2025-03-01T09:10:00Z',
      '2025-03-01T09:50:00Z',
      '2025-03-01T23:59:59.999Z',
      '2025-03-02T00:00:00Z',
      '2025-03-03T14:30:00Z',
    ];
    const payloads: { device: string; payload: Uint8Array; at: Date }[] = [];
    let stored = 0;
    for (const device of devices) {
      for (const [seq, at] of received.entries()) {
        const payload = encodeBatch({
          v: 1,
          device,
          seq,
          created: 0,
          events: randomEvents(next, 1 + Math.floor(next() * 40)),
        });
        payloads.push({ device, payload, at: new Date(at) });
        const result = await storeBatch(db, {
          deviceId: device,
          topic: uplinkTopic(device, 'events'),
          payload,
          receivedAt: new Date(at),
        });
        t.equal(result.status, 'stored');
        if (result.status === 'stored') stored += result.events;
      }
    }
    t.equal(await rollupRows(db), 0, 'storeBatch leaves the rollups to the job');
    const run = await runRollups(db);
    t.equal(run.batches, payloads.length, 'the job rolls up every stored batch');
    const before = await checkRollupsMatchRaw(t, db);
    t.same(await runRollups(db), { ran: true, batches: 0, events: 0, chunks: 0, forceDays: 0 }, 'idle run');

    // Redeliver every batch (later, as a broker would): nothing may change.
    for (const { device, payload, at } of payloads) {
      const result = await storeBatch(db, {
        deviceId: device,
        topic: uplinkTopic(device, 'events'),
        payload,
        receivedAt: new Date(at.getTime() + 3_600_000),
      });
      t.equal(result.status, 'duplicate');
    }
    t.equal((await runRollups(db)).batches, 0, 'a duplicate gives the job nothing to do');
    const after = await checkRollupsMatchRaw(t, db);
    t.same(after, before, 'duplicates left every rollup unchanged');

    const [total] = await db.query<{ n: number }>(
      'SELECT sum(events)::int8 AS n FROM rollup_member_hourly_actions',
    );
    t.equal(total?.n, stored, 'the actions rollup sums to every stored event');
    const [unbound] = await db.query<{ n: number }>(
      `SELECT count(*) AS n FROM rollup_force_daily_actions WHERE force_id = '' AND member_id = ''`,
    );
    t.ok((unbound?.n ?? 0) > 0, 'an unbound device rolls up under the empty member and force');
    answers[engine] = after;
  });

  t.test(`${engine}: batches stored while the job runs are rolled up once, later`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    await seedOrganisations(db);
    const next = rng(7);
    const at = new Date('2025-03-01T22:00:00Z');
    const first = await storeRandom(db, next, { devices: DEVICES, perDevice: 6, firstSeq: 0, at });
    // Small chunks, so the run is many transactions with ingest interleaved between them.
    const [run, during] = await Promise.all([
      runRollups(db, { maxBatches: 3 }),
      storeRandom(db, next, { devices: DEVICES, perDevice: 6, firstSeq: 100, at }),
    ]);
    t.ok(run.chunks >= 10, `the run took ${run.chunks} chunks`);
    t.ok(run.batches >= first && run.batches <= first + during, 'it rolled up what it could see');
    await runRollups(db);
    await checkRollupsMatchRaw(t, db);
    const [left] = await db.query<{ n: number }>(
      'SELECT count(*) AS n FROM batches WHERE rolled_up_at IS NULL',
    );
    t.equal(left?.n, 0, 'every batch is marked rolled up');
  });

  t.test(`${engine}: two jobs at once do not double-count`, { skip }, async (t) => {
    const { db, url } = await freshDb(t, engine);
    await seedOrganisations(db);
    // On PostgreSQL a second process's pool (its own connections); PGlite has one connection.
    const other = url === undefined ? db : await openDatabase(url, t.testdir());
    if (other !== db) t.teardown(() => other.close());
    const next = rng(99);
    let seq = 0;
    for (let round = 0; round < 4; round++) {
      const at = new Date(Date.UTC(2025, 2, 1, 20 + round));
      await storeRandom(db, next, { devices: DEVICES, perDevice: 4, firstSeq: seq, at });
      seq += 4;
      const runs = await Promise.all([
        runRollups(db, { maxBatches: 2, topK: 3 }),
        runRollups(other, { maxBatches: 2, topK: 3 }),
        storeRandom(other, next, { devices: DEVICES, perDevice: 2, firstSeq: seq, at }),
      ]);
      seq += 2;
      t.ok(runs[0].ran || runs[1].ran, 'at least one of them ran');
    }
    await runRollups(db, { topK: 3 });
    await checkRollupsMatchRaw(t, db);
    // The force top lists too: top K + remainder per day equal the full force-day rows.
    const [sums] = await db.query<{ top: number; rest: number; full: number }>(
      `SELECT (SELECT sum(events)::int8 FROM rollup_force_daily_top_sources) AS top,
         (SELECT sum(events)::int8 FROM rollup_force_daily_remainder WHERE list = 'sources') AS rest,
         (SELECT sum(events)::int8 FROM rollup_force_daily_sources) AS full`,
    );
    t.equal((sums?.top ?? 0) + (sums?.rest ?? 0), sums?.full, 'top K + remainder = every source');
    const [topRows] = await db.query<{ n: number }>(
      'SELECT max(n)::int8 AS n FROM (SELECT count(*) AS n FROM rollup_force_daily_top_sources GROUP BY force_id, day) x',
    );
    t.equal(topRows?.n, 3, 'at most K sources kept per force-day');
  });

  t.test(`${engine}: a job finding the lock held leaves the work to its holder`, { skip }, async (t) => {
    const { db, url } = await freshDb(t, engine);
    await seedOrganisations(db);
    await storeRandom(db, rng(3), { devices: DEVICES, perDevice: 1, firstSeq: 0, at: new Date() });
    if (url === undefined) {
      // PGlite is one connection: the lock is held inside a transaction that runs the job itself.
      await db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1::int8)', [ROLLUP_LOCK_KEY]);
      });
      t.equal((await runRollups(db)).batches, DEVICES.length, 'released at commit');
      return;
    }
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    t.teardown(() => holder.end());
    await holder.query('BEGIN');
    await holder.query('SELECT pg_advisory_xact_lock($1::int8)', [ROLLUP_LOCK_KEY]);
    t.same(await runRollups(db), { ran: false, batches: 0, events: 0, chunks: 0, forceDays: 0 });
    t.equal(await rollupRows(db), 0, 'nothing rolled up while another process holds the lock');
    await holder.query('COMMIT');
    t.equal((await runRollups(db)).batches, DEVICES.length, 'the next run does it');
  });

  t.test(`${engine}: a rollup row saturates instead of overflowing`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    await seedOrganisations(db);
    const at = new Date('2025-03-01T10:00:00Z');
    const max = Number.MAX_SAFE_INTEGER;
    for (let seq = 0; seq < 3; seq++) {
      const payload = encodeBatch({
        v: 1,
        device: 'dev-2',
        seq,
        created: 0,
        events: [{ vendor: 'x', action: 'deny', dst_port: 22, proto: 'tcp', count: max }],
      });
      await storeBatch(db, {
        deviceId: 'dev-2',
        topic: uplinkTopic('dev-2', 'events'),
        payload,
        receivedAt: at,
      });
    }
    await runRollups(db);
    // Push the shared force row to the brink, as a hostile device could over many batches.
    await db.exec(`UPDATE rollup_force_daily_ports SET events = 9223372036854775000`);
    const payload = encodeBatch({
      v: 1,
      device: 'dev-1a',
      seq: 0,
      created: 0,
      events: [{ vendor: 'x', action: 'deny', dst_port: 22, proto: 'tcp', count: max }],
    });
    const result = await storeBatch(db, {
      deviceId: 'dev-1a',
      topic: uplinkTopic('dev-1a', 'events'),
      payload,
      receivedAt: at,
    });
    t.equal(result.status, 'stored', "another member's batch still stores");
    t.equal((await runRollups(db)).batches, 1, 'and the job still rolls it up');
    const [row] = await db.query<{ n: string }>('SELECT events::text AS n FROM rollup_force_daily_ports');
    t.equal(row?.n, '9223372036854775807', 'held at the int8 maximum');
  });
}

t.test(
  'both engines hold the same rollups',
  { skip: !pgUp ? 'PostgreSQL unreachable' : false },
  async (t) => {
    t.ok(answers.pglite, 'pglite answered');
    t.same(answers.postgres, answers.pglite);
  },
);
