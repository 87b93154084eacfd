/**
 * Upgrading a database that has only migration 001 (what installs in the field have), with data in
 * it: every event survives the move into day partitions, organisations carry over, and the rollups
 * are backfilled from the existing events.
 */
import t, { type Test } from 'tap';
import {
  type Engine,
  freshDatabase as freshDb,
  postgresReachable,
} from '../../test/support/test-databases.js';
import { migrate } from './migrate.js';
import { migrations } from './migrations/index.js';

const pgUp = await postgresReachable();
const freshDatabase = (t: Test, engine: Engine) => freshDb(t, engine, { migrated: false });

const EVENTS_001 = `
INSERT INTO events (device_id, seq, ts, received_at, vendor, src_ip, src_port, dst_ip, dst_port, proto, action,
  bytes, count, rule) VALUES
  ('dev-a', 1, '2025-02-27T23:59:58Z', '2025-02-28T23:59:59.999Z', 'netfilter', '198.51.100.1', 40000,
   '203.0.113.5', 22, 'tcp', 'deny', 60, 3, 'wan'),
  ('dev-a', 2, NULL, '2025-03-01T00:00:00Z', 'netfilter', '198.51.100.1', NULL, NULL, 22, 'tcp', 'deny', NULL, 1, NULL),
  ('dev-a', 2, NULL, '2025-03-01T00:00:00Z', 'netfilter', NULL, NULL, NULL, NULL, NULL, 'allow', NULL, 5, NULL),
  ('dev-b', 1, NULL, '2025-03-01T10:30:00Z', 'fortigate', '198.51.100.2', NULL, NULL, 3389, 'tcp', 'drop', NULL, 2, NULL),
  ('dev-x', 9, NULL, '2025-03-03T08:00:00Z', 'pfsense', '198.51.100.3', NULL, NULL, 53, 'udp', 'deny', NULL, 7, NULL);
`;

const ALL_EVENTS = `SELECT device_id, seq, ts, received_at, vendor, src_ip, src_port, dst_ip, dst_port, proto, action,
  bytes, count, rule FROM events ORDER BY received_at, device_id, count`;

for (const engine of ['pglite', 'postgres'] as const) {
  const skip = engine === 'postgres' && !pgUp ? 'PostgreSQL at 127.0.0.1:5432 is unreachable' : false;

  t.test(`${engine}: upgrading from 001 keeps every row`, { skip }, async (t) => {
    const { db } = await freshDatabase(t, engine);
    t.same(await migrate(db, migrations.slice(0, 1)), [1]);
    await db.exec(`
      INSERT INTO forces (force_id, name, region) VALUES ('f1', 'Force one', 'North West'), ('f2', 'Force two', NULL);
      INSERT INTO members (member_id, org, force_id) VALUES ('m1', 'Village school', 'f1');
      INSERT INTO devices (device_id, member_id, first_seen, last_seen) VALUES
        ('dev-a', 'm1', '2025-02-01Z', '2025-03-01Z'), ('dev-b', NULL, '2025-02-01Z', '2025-03-01Z');
      INSERT INTO batches (device_id, seq, created, received_at, events, raw_events)
        VALUES ('dev-a', 1, '2025-02-28Z', '2025-02-28Z', 1, 3);
      ${EVENTS_001}
    `);
    const before = await db.query(ALL_EVENTS);
    t.equal(before.length, 5);

    t.same(
      await migrate(db),
      migrations.slice(1).map((m) => m.version),
      'the later migrations apply',
    );
    t.same(await db.query(ALL_EVENTS), before, 'every event, every column, unchanged');
    const [waiting] = await db.query<{ n: number }>(
      'SELECT count(*) AS n FROM batches WHERE rolled_up_at IS NULL',
    );
    t.equal(waiting?.n, 0, 'batches stored before 006 were already rolled up: the job skips them');

    const placement = await db.query<{ t: string; n: number }>(
      'SELECT tableoid::regclass::text AS t, count(*) AS n FROM events GROUP BY 1 ORDER BY 1',
    );
    t.same(
      placement,
      [
        { t: 'events_p20250228', n: 1 },
        { t: 'events_p20250301', n: 3 },
        { t: 'events_p20250303', n: 1 },
      ],
      'each old day has its own partition; nothing is left in DEFAULT',
    );
    const [old] = await db.query<{ t: string | null }>(
      `SELECT to_regclass('events_unpartitioned')::text AS t`,
    );
    t.equal(old?.t, null, 'the unpartitioned table is gone');

    t.same(await db.query('SELECT region_id, name FROM regions'), [
      { region_id: 'North West', name: 'North West' },
    ]);
    t.same(await db.query('SELECT force_id, name, region_id FROM forces ORDER BY force_id'), [
      { force_id: 'f1', name: 'Force one', region_id: 'North West' },
      { force_id: 'f2', name: 'Force two', region_id: null },
    ]);
    t.same(await db.query('SELECT member_id, name, force_id, sector, contact FROM members'), [
      { member_id: 'm1', name: 'Village school', force_id: 'f1', sector: null, contact: null },
    ]);

    // Backfilled rollups: dev-a belongs to m1 (force f1); dev-b is unbound and dev-x unknown ('').
    t.same(
      await db.query(
        `SELECT member_id, hour, device_id, action, proto, events FROM rollup_member_hourly_actions
         ORDER BY hour, device_id, action`,
      ),
      [
        {
          member_id: 'm1',
          hour: new Date('2025-02-28T23:00:00Z'),
          device_id: 'dev-a',
          action: 'deny',
          proto: 'tcp',
          events: 3,
        },
        {
          member_id: 'm1',
          hour: new Date('2025-03-01T00:00:00Z'),
          device_id: 'dev-a',
          action: 'allow',
          proto: '',
          events: 5,
        },
        {
          member_id: 'm1',
          hour: new Date('2025-03-01T00:00:00Z'),
          device_id: 'dev-a',
          action: 'deny',
          proto: 'tcp',
          events: 1,
        },
        {
          member_id: '',
          hour: new Date('2025-03-01T10:00:00Z'),
          device_id: 'dev-b',
          action: 'drop',
          proto: 'tcp',
          events: 2,
        },
        {
          member_id: '',
          hour: new Date('2025-03-03T08:00:00Z'),
          device_id: 'dev-x',
          action: 'deny',
          proto: 'udp',
          events: 7,
        },
      ],
    );
    t.same(
      await db.query(
        'SELECT force_id, day, dst_port, proto, events FROM rollup_force_daily_ports ORDER BY day, dst_port',
      ),
      [
        { force_id: 'f1', day: new Date('2025-02-28T00:00:00Z'), dst_port: 22, proto: 'tcp', events: 3 },
        { force_id: 'f1', day: new Date('2025-03-01T00:00:00Z'), dst_port: 22, proto: 'tcp', events: 1 },
        { force_id: '', day: new Date('2025-03-01T00:00:00Z'), dst_port: 3389, proto: 'tcp', events: 2 },
        { force_id: '', day: new Date('2025-03-03T00:00:00Z'), dst_port: 53, proto: 'udp', events: 7 },
      ],
    );
    const [sources] = await db.query<{ n: number }>(
      `SELECT sum(events)::int8 AS n FROM rollup_member_hourly_sources WHERE member_id = 'm1'`,
    );
    t.equal(sources?.n, 4, 'sources rollup skips events without a source');
  });

  t.test(`${engine}: upgrading an empty 001 database`, { skip }, async (t) => {
    const { db } = await freshDatabase(t, engine);
    await migrate(db, migrations.slice(0, 1));
    await migrate(db);
    const [n] = await db.query<{ n: number }>(
      `SELECT count(*) AS n FROM pg_inherits WHERE inhparent = 'events'::regclass`,
    );
    t.equal(n?.n, 1, 'only the DEFAULT partition');
  });
}
