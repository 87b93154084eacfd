import t, { type Test } from 'tap';
import type { Logger } from '../../common/logger.js';
import { encodeBatch } from '../../protocol/codec.js';
import { uplinkTopic } from '../../protocol/topics.js';
import {
  type Engine,
  freshDatabase as freshDb,
  postgresReachable,
} from '../../test/support/test-databases.js';
import { storeBatch } from '../ingest/store-batch.js';
import type { Database } from './db.js';
import { startMaintenance } from './maintenance.js';
import {
  DAY_MS,
  dropExpiredPartitions,
  ensurePartitions,
  listPartitions,
  PARTITIONED_TABLES,
  partitionName,
} from './partitions.js';
import { runRollups } from './rollup-job.js';

const pgUp = await postgresReachable();
const freshDatabase = async (t: Test, engine: Engine) => (await freshDb(t, engine)).db;

const NOW = new Date('2025-03-10T15:00:00Z');
const TODAY = Date.UTC(2025, 2, 10);

let seq = 0;
async function deliver(db: Database, receivedAt: Date, device = 'dev-p'): Promise<void> {
  const payload = encodeBatch({
    v: 1,
    device,
    seq: seq++,
    created: 0,
    events: [{ vendor: 'x', action: 'deny', src_ip: '192.0.2.1', dst_port: 22, proto: 'tcp', count: 2 }],
  });
  const result = await storeBatch(db, {
    deviceId: device,
    topic: uplinkTopic(device, 'events'),
    payload,
    receivedAt,
  });
  if (result.status !== 'stored') throw new Error(`not stored: ${JSON.stringify(result)}`);
  await runRollups(db);
}

/** Which table each event row physically sits in, by received_at. */
async function placement(db: Database): Promise<Record<string, string>> {
  const rows = await db.query<{ at: Date; t: string }>(
    'SELECT received_at AS at, tableoid::regclass::text AS t FROM events ORDER BY received_at',
  );
  return Object.fromEntries(rows.map((r) => [r.at.toISOString(), r.t]));
}

const silent = { info() {}, error() {}, warn() {}, debug() {} } as unknown as Logger;

for (const engine of ['pglite', 'postgres'] as const) {
  const skip = engine === 'postgres' && !pgUp ? 'PostgreSQL at 127.0.0.1:5432 is unreachable' : false;

  t.test(`${engine}: partitions are created ahead, once`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    const created = await ensurePartitions(db, { now: NOW, aheadDays: 3 });
    const days = [-1, 0, 1, 2, 3].map((d) => TODAY + d * DAY_MS);
    t.same(
      created,
      PARTITIONED_TABLES.flatMap((table) => days.map((d) => partitionName(table, d))),
      'yesterday to today + 3, for every partitioned table',
    );
    t.equal(partitionName('events', TODAY), 'events_p20250310');
    t.same(await ensurePartitions(db, { now: NOW, aheadDays: 3 }), [], 'a second run creates nothing');
    const listed = await listPartitions(db, 'events');
    t.same(
      listed.map((p) => p.dayMs),
      days,
    );
    // Bounds are UTC midnights whatever the session's time zone.
    const [bound] = await db.query<{ b: string }>(
      `SELECT pg_get_expr(c.relpartbound, c.oid) AS b FROM pg_class c WHERE c.relname = 'events_p20250310'`,
    );
    t.match(bound?.b, /FROM \('2025-03-10 00:00:00\+00'\) TO \('2025-03-11 00:00:00\+00'\)/);

    await deliver(db, new Date('2025-03-10T23:59:59.999Z'));
    await deliver(db, new Date('2025-03-11T00:00:00Z'));
    t.same(await placement(db), {
      '2025-03-10T23:59:59.999Z': 'events_p20250310',
      '2025-03-11T00:00:00.000Z': 'events_p20250311',
    });
  });

  t.test(
    `${engine}: a day with no partition lands in DEFAULT, then moves into its own`,
    { skip },
    async (t) => {
      const db = await freshDatabase(t, engine);
      await ensurePartitions(db, { now: NOW, aheadDays: 3 });
      const farFuture = new Date('2090-06-01T12:00:00Z');
      const farPast = new Date('1999-12-31T23:00:00Z');
      const soon = new Date('2025-03-20T08:00:00Z'); // beyond today + 3
      for (const at of [farFuture, farPast, soon]) await deliver(db, at);
      t.same(
        await placement(db),
        {
          '1999-12-31T23:00:00.000Z': 'events_default',
          '2025-03-20T08:00:00.000Z': 'events_default',
          '2090-06-01T12:00:00.000Z': 'events_default',
        },
        'every insert succeeded, into DEFAULT',
      );
      // Ten days later the 20th is within the horizon: its partition takes the row from DEFAULT.
      const created = await ensurePartitions(db, { now: new Date('2025-03-18T00:00:00Z'), aheadDays: 3 });
      t.ok(created.includes('events_p20250320'));
      t.ok(created.includes('events_p19991231'), 'a stray past day gets its partition too');
      t.notOk(
        created.some((name) => name.startsWith('events_p2090')),
        'nothing created beyond the horizon',
      );
      t.same(await placement(db), {
        '1999-12-31T23:00:00.000Z': 'events_p19991231',
        '2025-03-20T08:00:00.000Z': 'events_p20250320',
        '2090-06-01T12:00:00.000Z': 'events_default',
      });
      const [n] = await db.query<{ n: number }>('SELECT count(*) AS n FROM events');
      t.equal(n?.n, 3, 'no row lost or duplicated by the move');
    },
  );

  t.test(`${engine}: retention drops only partitions entirely out of the window`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    // Partitions from 2025-03-01 (NOW − 9 days) onwards, with a row in each of three days.
    await ensurePartitions(db, { now: new Date('2025-03-02T00:00:00Z'), aheadDays: 9 });
    for (const at of ['2025-03-01T12:00:00Z', '2025-03-06T12:00:00Z', '2025-03-10T12:00:00Z'])
      await deliver(db, new Date(at));
    await db.exec(`ALTER TABLE events DETACH PARTITION events_p20250302`);
    await db.exec(`DROP TABLE events_p20250302`);
    await deliver(db, new Date('2025-03-02T06:00:00Z')); // expired, in DEFAULT
    await deliver(db, new Date('2025-03-07T06:00:00Z')); // kept (partition exists)

    // retention 5 days at 2025-03-10T15:00: the window starts 2025-03-05T15:00; the 5th is partly
    // inside, so only days up to the 4th are dropped.
    const result = await dropExpiredPartitions(db, { retentionDays: 5, rollupRetentionDays: 8, now: NOW });
    t.same(result.droppedPartitions, [
      'events_p20250301',
      'events_p20250303',
      'events_p20250304',
      'flow_summaries_p20250301',
      'flow_summaries_p20250302',
      'flow_summaries_p20250303',
      'flow_summaries_p20250304',
    ]);
    t.equal(result.defaultRowsDeleted, 1, 'the expired row in DEFAULT is deleted');
    t.same((await listPartitions(db, 'events')).map((p) => p.name)[0], 'events_p20250305');
    t.same(Object.keys(await placement(db)), [
      '2025-03-06T12:00:00.000Z',
      '2025-03-07T06:00:00.000Z',
      '2025-03-10T12:00:00.000Z',
    ]);

    // Rollups: 8 days → cutoff 2025-03-02T15:00. Hour buckets ending by then go, days ending by then go.
    const hours = await db.query<{ hour: Date }>(
      'SELECT DISTINCT hour FROM rollup_member_hourly_actions ORDER BY hour',
    );
    t.same(
      hours.map((r) => r.hour.toISOString()),
      ['2025-03-06T12:00:00.000Z', '2025-03-07T06:00:00.000Z', '2025-03-10T12:00:00.000Z'],
      'the hours of 1 and 2 March are gone',
    );
    const days = await db.query<{ day: Date }>(
      'SELECT DISTINCT day FROM rollup_force_daily_sources ORDER BY day',
    );
    t.same(
      days.map((r) => r.day.toISOString()),
      [
        '2025-03-02T00:00:00.000Z', // ends at 3 March 00:00, after the cutoff: kept
        '2025-03-06T00:00:00.000Z',
        '2025-03-07T00:00:00.000Z',
        '2025-03-10T00:00:00.000Z',
      ],
      'the day of 1 March is gone',
    );
    t.ok(result.rollupRowsDeleted > 0);
    const again = await dropExpiredPartitions(db, { retentionDays: 5, rollupRetentionDays: 8, now: NOW });
    t.same(
      again,
      { droppedPartitions: [], defaultRowsDeleted: 0, rollupRowsDeleted: 0, healthRowsDeleted: 0 },
      'idempotent',
    );
  });

  t.test(`${engine}: heartbeats are kept as long as raw events`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    for (const at of ['2025-03-01T12:00:00Z', '2025-03-09T12:00:00Z'])
      await db.query('INSERT INTO device_health (device_id, reported_at, received_at) VALUES ($1, $2, $2)', [
        'dev-h',
        new Date(at),
      ]);
    const result = await dropExpiredPartitions(db, { retentionDays: 5, rollupRetentionDays: 730, now: NOW });
    t.equal(result.healthRowsDeleted, 1);
    const left = await db.query<{ received_at: Date }>('SELECT received_at FROM device_health');
    t.same(
      left.map((r) => r.received_at.toISOString()),
      ['2025-03-09T12:00:00.000Z'],
    );
  });

  t.test(`${engine}: rollups outlive raw partitions`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    await ensurePartitions(db, { now: new Date('2025-03-01T00:00:00Z'), aheadDays: 1 });
    await deliver(db, new Date('2025-03-01T12:00:00Z'));
    const result = await dropExpiredPartitions(db, { retentionDays: 5, rollupRetentionDays: 730, now: NOW });
    t.ok(result.droppedPartitions.includes('events_p20250301'));
    t.equal(result.rollupRowsDeleted, 0);
    const [n] = await db.query<{ n: number }>('SELECT count(*) AS n FROM rollup_member_hourly_sources');
    t.equal(n?.n, 1, 'the hour is still in the rollups');
  });

  t.test(`${engine}: startMaintenance runs at start-up and stops`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    await deliver(db, new Date('2025-01-01T00:00:00Z')); // far older than 30 days: in DEFAULT, expired
    const maintenance = startMaintenance(db, { retentionDays: 30, rollupRetentionDays: 60 }, silent, {
      now: () => NOW,
      aheadDays: 2,
    });
    await maintenance.ready;
    await maintenance.stop();
    t.same(
      (await listPartitions(db, 'events')).map((p) => p.name),
      ['events_p20250309', 'events_p20250310', 'events_p20250311', 'events_p20250312'],
    );
    const [n] = await db.query<{ n: number }>('SELECT count(*) AS n FROM events');
    t.equal(n?.n, 0, 'the expired row was deleted, not given a partition');
  });
}

t.test('startMaintenance logs a failed run instead of throwing', async (t) => {
  const errors: unknown[] = [];
  const logger = { info() {}, error: (o: unknown) => errors.push(o) } as unknown as Logger;
  const broken = {
    query: () => Promise.reject(new Error('connection lost')),
    transaction: () => Promise.reject(new Error('connection lost')),
  } as unknown as Database;
  const maintenance = startMaintenance(broken, { retentionDays: 1, rollupRetentionDays: 1 }, logger);
  await maintenance.ready;
  await maintenance.stop();
  t.equal(errors.length, 1);
});
