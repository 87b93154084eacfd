import t from 'tap';
import { encodeLossRecord } from '../../protocol/codec.js';
import type { LossRecord } from '../../protocol/loss.js';
import { uplinkTopic } from '../../protocol/topics.js';
import { type Engine, freshDatabase, postgresReachable } from '../../test/support/test-databases.js';
import { lossTotals, storeLossRecord } from './store-loss.js';

const pgUp = await postgresReachable();
const engines: Engine[] = pgUp ? ['pglite', 'postgres'] : ['pglite'];

const record: LossRecord = {
  v: 1,
  device: 'dev-1',
  reason: 'evicted: outbox full',
  events: 100,
  batches: 2,
  first_seq: 10,
  last_seq: 11,
  first_ts: 1_760_000_000_000,
  last_ts: 1_760_000_001_000,
};
const incoming = (r: LossRecord | Uint8Array, deviceId = 'dev-1') => ({
  deviceId,
  topic: uplinkTopic(deviceId, 'loss'),
  payload: r instanceof Uint8Array ? r : encodeLossRecord(r),
  receivedAt: new Date(),
});

for (const engine of engines) {
  t.test(`${engine}: stored once, a redelivery is a duplicate, a grown record updates the row`, async (t) => {
    const { db } = await freshDatabase(t, engine);
    t.same(await storeLossRecord(db, incoming(record)), { status: 'stored', events: 100 });
    t.same(await storeLossRecord(db, incoming(record)), { status: 'duplicate' });
    const grown = { ...record, events: 150, batches: 3, last_seq: 14, last_ts: 1_760_000_009_000 };
    t.same(await storeLossRecord(db, incoming(grown)), { status: 'updated', events: 50 });
    t.same(await storeLossRecord(db, incoming(record)), { status: 'duplicate' }, 'an older version late');
    t.same(await lossTotals(db), [{ reason: 'evicted: outbox full', records: 1, events: 150 }]);
    const [row] = await db.query<{ last_ts: Date }>('SELECT last_ts FROM loss_records');
    t.equal(row?.last_ts.getTime(), 1_760_000_009_000, 'window widened');
    await storeLossRecord(db, incoming({ ...record, first_seq: 20, last_seq: 20 }));
    await storeLossRecord(db, incoming({ ...record, reason: 'write failed: disk full' }));
    t.same(await lossTotals(db, 'dev-1'), [
      { reason: 'evicted: outbox full', records: 2, events: 250 },
      { reason: 'write failed: disk full', records: 1, events: 100 },
    ]);
  });

  t.test(`${engine}: bad loss records are quarantined`, async (t) => {
    const { db } = await freshDatabase(t, engine);
    t.match(await storeLossRecord(db, incoming(record, 'dev-2')), {
      status: 'quarantined',
      reason: 'loss: device mismatch',
    });
    t.match(await storeLossRecord(db, incoming(Uint8Array.from([0xff, 0x00]))), { status: 'quarantined' });
    const [q] = await db.query<{ n: number }>('SELECT count(*) AS n FROM quarantine');
    t.equal(q?.n, 2);
    t.same(await lossTotals(db), []);
  });
}
