import t, { type Test } from 'tap';
import { loadRollupFixture, withoutClock } from '../../test/support/rollup-fixture.js';
import {
  type Engine,
  freshDatabase as freshDb,
  postgresReachable,
} from '../../test/support/test-databases.js';
import type { Database } from '../store/db.js';
import { deviceReport } from './device-report.js';
import { type MemberReport, memberReport } from './member-report.js';

const pgUp = await postgresReachable();
const freshDatabase = async (t: Test, engine: Engine): Promise<Database> => (await freshDb(t, engine)).db;

const FROM = new Date('2025-03-01T00:00:00.000Z');
const TO = new Date('2025-03-02T00:00:00.000Z');

const EXPECTED_M1_TOP_4: Omit<MemberReport, 'rolledUpTo'> = {
  memberId: 'm1',
  from: '2025-03-01T00:00:00.000Z',
  to: '2025-03-02T00:00:00.000Z',
  totalEvents: 19,
  byAction: [
    { action: 'deny', events: 10 },
    { action: 'allow', events: 4 },
    { action: 'reject', events: 3 },
    { action: 'drop', events: 2 },
  ],
  byProtocol: [
    { proto: 'tcp', events: 14 },
    { proto: 'icmp', events: 2 },
    { proto: 'udp', events: 2 },
    { proto: null, events: 1 },
  ],
  byDevice: [
    { deviceId: 'dev-1a', events: 10 },
    { deviceId: 'dev-1b', events: 9 },
  ],
  topSources: [
    { ip: '10.0.0.10', events: 5 },
    { ip: '100.0.0.1', events: 5 },
    { ip: '192.0.2.5', events: 3 },
    { ip: '9.9.9.9', events: 2 },
  ],
  topDestinationPorts: [
    { port: 22, proto: 'tcp', events: 8 },
    { port: 53, proto: 'tcp', events: 3 },
    { port: 53, proto: 'udp', events: 2 },
    { port: 3389, proto: 'tcp', events: 2 },
  ],
};

const answers: Partial<Record<Engine, unknown>> = {};

for (const engine of ['pglite', 'postgres'] as const) {
  const skip = engine === 'postgres' && !pgUp ? 'PostgreSQL at 127.0.0.1:5432 is unreachable' : false;
  t.test(`${engine}: the member report over known data`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    await loadRollupFixture(db);
    const top4 = withoutClock(await memberReport(db, { memberId: 'm1', from: FROM, to: TO, top: 4 }));
    t.same(top4, EXPECTED_M1_TOP_4);

    const top10 = withoutClock(await memberReport(db, { memberId: 'm1', from: FROM, to: TO, top: 10 }));
    t.same(top10.topDestinationPorts, [
      ...EXPECTED_M1_TOP_4.topDestinationPorts,
      { port: 443, proto: null, events: 1 },
      { port: 443, proto: 'tcp', events: 1 },
    ]);

    // The same numbers as the raw device reports added up.
    const devices = await Promise.all(
      ['dev-1a', 'dev-1b'].map((deviceId) => deviceReport(db, { deviceId, from: FROM, to: TO, top: 100 })),
    );
    t.equal(
      devices.reduce((sum, r) => sum + r.totalEvents, 0),
      top4.totalEvents,
      'rollup total equals the raw device reports',
    );

    // A period inside hours is widened to whole hours, and says so.
    const partial = withoutClock(
      await memberReport(db, {
        memberId: 'm1',
        from: new Date('2025-03-01T10:20:00Z'),
        to: new Date('2025-03-01T23:59:59.500Z'),
        top: 4,
      }),
    );
    t.equal(partial.from, '2025-03-01T10:00:00.000Z');
    t.equal(partial.to, '2025-03-02T00:00:00.000Z');
    t.equal(partial.totalEvents, 10, 'the 10:00 and 23:00 hours, not midnight');
    t.same(partial.byDevice, [
      { deviceId: 'dev-1b', events: 9 },
      { deviceId: 'dev-1a', events: 1 },
    ]);

    const other = await memberReport(db, { memberId: 'm2', from: FROM, to: TO, top: 4 });
    t.equal(other.totalEvents, 1000);
    const unbound = await memberReport(db, { memberId: '', from: FROM, to: TO, top: 4 });
    t.same(unbound.byDevice, [{ deviceId: 'dev-unbound', events: 9 }], 'unbound devices under member ""');

    const empty = await memberReport(db, { memberId: 'nobody', from: FROM, to: TO, top: 4 });
    t.ok(Number.isFinite(Date.parse(empty.rolledUpTo)), 'an empty report still says how far it is complete');
    t.same(withoutClock(empty), {
      memberId: 'nobody',
      from: EXPECTED_M1_TOP_4.from,
      to: EXPECTED_M1_TOP_4.to,
      totalEvents: 0,
      byAction: [],
      byProtocol: [],
      byDevice: [],
      topSources: [],
      topDestinationPorts: [],
    });
    answers[engine] = { top4, top10, partial };
  });
}

t.test(
  'both engines give the same member reports',
  { skip: pgUp ? false : 'PostgreSQL unreachable' },
  async (t) => {
    t.ok(answers.pglite);
    t.same(answers.postgres, answers.pglite);
  },
);
