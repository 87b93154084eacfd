import t, { type Test } from 'tap';
import { loadRollupFixture, withoutClock } from '../../test/support/rollup-fixture.js';
import {
  type Engine,
  freshDatabase as freshDb,
  postgresReachable,
} from '../../test/support/test-databases.js';
import type { Database } from '../store/db.js';
import { type ForceReport, forceReport } from './force-report.js';
import { memberReport } from './member-report.js';

const pgUp = await postgresReachable();
const freshDatabase = async (t: Test, engine: Engine): Promise<Database> => (await freshDb(t, engine)).db;

const FROM = new Date('2025-03-01T00:00:00.000Z');
const TO = new Date('2025-03-02T00:00:00.000Z');

const EXPECTED_F1_TOP_4: Omit<ForceReport, 'rolledUpTo'> = {
  forceId: 'f1',
  from: '2025-03-01T00:00:00.000Z',
  to: '2025-03-02T00:00:00.000Z',
  totalEvents: 1019,
  byAction: [
    { action: 'deny', events: 1010 },
    { action: 'allow', events: 4 },
    { action: 'reject', events: 3 },
    { action: 'drop', events: 2 },
  ],
  byProtocol: [
    { proto: 'tcp', events: 1014 },
    { proto: 'icmp', events: 2 },
    { proto: 'udp', events: 2 },
    { proto: null, events: 1 },
  ],
  topMembers: [
    { memberId: 'm2', name: 'Charity', events: 1000 },
    { memberId: 'm1', name: 'School', events: 19 },
  ],
  topSources: [
    { ip: '10.0.0.10', events: 1005 },
    { ip: '100.0.0.1', events: 5 },
    { ip: '192.0.2.5', events: 3 },
    { ip: '9.9.9.9', events: 2 },
  ],
  topDestinationPorts: [
    { port: 22, proto: 'tcp', events: 1008 },
    { port: 53, proto: 'tcp', events: 3 },
    { port: 53, proto: 'udp', events: 2 },
    { port: 3389, proto: 'tcp', events: 2 },
  ],
  // Each day has far fewer than K = 1000 sources and ports: nothing left out, the lists are exact.
  topListAccuracy: { approximate: false, sourcesMaxUndercount: 0, portsMaxUndercount: 0 },
};

const answers: Partial<Record<Engine, unknown>> = {};

for (const engine of ['pglite', 'postgres'] as const) {
  const skip = engine === 'postgres' && !pgUp ? 'PostgreSQL at 127.0.0.1:5432 is unreachable' : false;
  t.test(`${engine}: the force report over known data`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    await loadRollupFixture(db);
    const full = await forceReport(db, { forceId: 'f1', from: FROM, to: TO, top: 4 });
    const report = withoutClock(full);
    t.same(report, EXPECTED_F1_TOP_4);
    t.ok(
      Date.parse(full.rolledUpTo) >= Date.parse('2025-03-02T00:00:00Z'),
      'every fixture batch is rolled up, and the report says so',
    );

    // The force's day equals its members' hours added up.
    const members = await Promise.all(
      ['m1', 'm2'].map((memberId) => memberReport(db, { memberId, from: FROM, to: TO, top: 4 })),
    );
    t.equal(
      members.reduce((sum, r) => sum + r.totalEvents, 0),
      report.totalEvents,
    );

    // Any period inside the day is widened to the whole day, and says so.
    const widened = await forceReport(db, {
      forceId: 'f1',
      from: new Date('2025-03-01T06:00:00Z'),
      to: new Date('2025-03-01T07:00:00Z'),
      top: 4,
    });
    t.same(withoutClock(widened), EXPECTED_F1_TOP_4);

    const two = await forceReport(db, { forceId: 'f1', from: FROM, to: TO, top: 1 });
    t.same(two.topMembers, [{ memberId: 'm2', name: 'Charity', events: 1000 }], 'top limits members too');

    const other = await forceReport(db, { forceId: 'f2', from: FROM, to: TO, top: 4 });
    t.same(other.topMembers, [{ memberId: 'm3', name: 'Shop', events: 7 }]);
    const unbound = await forceReport(db, { forceId: '', from: FROM, to: TO, top: 4 });
    t.same(unbound.topMembers, [{ memberId: '', name: null, events: 9 }]);

    const wider = await forceReport(db, {
      forceId: 'f1',
      from: new Date('2025-02-28T00:00:00Z'),
      to: new Date('2025-03-03T00:00:00Z'),
      top: 4,
    });
    t.equal(wider.totalEvents, 1019 + 150, 'the days either side add their batches');
    answers[engine] = { report, wider: withoutClock(wider) };
  });
}

for (const engine of ['pglite', 'postgres'] as const) {
  const skip = engine === 'postgres' && !pgUp ? 'PostgreSQL at 127.0.0.1:5432 is unreachable' : false;
  t.test(`${engine}: top lists from each day's top K, with their error bound`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    await loadRollupFixture(db, { topK: 1 });
    const report = await forceReport(db, { forceId: 'f1', from: FROM, to: TO, top: 4 });
    t.same(report.totalEvents, EXPECTED_F1_TOP_4.totalEvents, 'totals stay exact');
    t.same(report.byAction, EXPECTED_F1_TOP_4.byAction);
    t.same(report.topMembers, EXPECTED_F1_TOP_4.topMembers);
    // 1 March kept only its top source and port; the largest left out were 100.0.0.1 (5 events)
    // and 53/tcp (3).
    t.same(report.topSources, [{ ip: '10.0.0.10', events: 1005 }]);
    t.same(report.topDestinationPorts, [{ port: 22, proto: 'tcp', events: 1008 }]);
    t.same(report.topListAccuracy, { approximate: true, sourcesMaxUndercount: 5, portsMaxUndercount: 3 });

    // Over three days: the days either side have one source each (kept whole), the bound stays 5.
    const wider = await forceReport(db, {
      forceId: 'f1',
      from: new Date('2025-02-28T00:00:00Z'),
      to: new Date('2025-03-03T00:00:00Z'),
      top: 4,
    });
    t.same(wider.topSources, [
      { ip: '10.0.0.10', events: 1005 },
      { ip: '203.0.113.1', events: 100 },
      { ip: '203.0.113.2', events: 50 },
    ]);
    t.equal(wider.topListAccuracy.sourcesMaxUndercount, 5);

    // Top rows plus the remainder add up to the exact per-day totals.
    const [sums] = await db.query<{ top: number; rest: number; full: number }>(
      `SELECT (SELECT sum(events)::int8 FROM rollup_force_daily_top_sources WHERE force_id = 'f1') AS top,
         (SELECT sum(events)::int8 FROM rollup_force_daily_remainder WHERE force_id = 'f1' AND list = 'sources')
           AS rest,
         (SELECT sum(events)::int8 FROM rollup_force_daily_sources WHERE force_id = 'f1') AS full`,
    );
    t.equal((sums?.top ?? 0) + (sums?.rest ?? 0), sums?.full, 'top K + remainder = every source');
    t.equal(sums?.rest, 10, "1 March's other three sources");
  });
}

t.test(
  'both engines give the same force reports',
  { skip: pgUp ? false : 'PostgreSQL unreachable' },
  async (t) => {
    t.ok(answers.pglite);
    t.same(answers.postgres, answers.pglite);
  },
);
