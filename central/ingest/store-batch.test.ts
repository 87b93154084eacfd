import t, { type Test } from 'tap';
import type { Batch } from '../../protocol/batch.js';
import { encodeBatch } from '../../protocol/codec.js';
import type { ConnectionEvent } from '../../protocol/event.js';
import { uplinkTopic } from '../../protocol/topics.js';
import {
  type Engine,
  freshDatabase as freshDb,
  postgresReachable,
} from '../../test/support/test-databases.js';
import type { Database } from '../store/db.js';
import { QUARANTINE_SAMPLE_BYTES, storeBatch } from './store-batch.js';
import { ingestTotals } from './totals.js';

const pgUp = await postgresReachable();
const freshDatabase = async (t: Test, engine: Engine) => (await freshDb(t, engine)).db;

const RECEIVED = new Date('2025-03-01T12:00:00.000Z');
const CREATED = RECEIVED.getTime() - 1000;
const NONE_CLEARED = { addresses: 0, times: 0 };

const event = (overrides: Partial<ConnectionEvent> = {}): ConnectionEvent => ({
  ts: '2025-03-01T11:59:58.000+00:00',
  vendor: 'netfilter',
  src_ip: '198.51.100.7',
  src_port: 51000,
  dst_ip: '203.0.113.10',
  dst_port: 22,
  proto: 'tcp',
  action: 'deny',
  ...overrides,
});

const batch = (device: string, seq: number, events: ConnectionEvent[]): Batch => ({
  v: 1,
  device,
  seq,
  created: CREATED,
  events,
});

const deliver = (db: Database, deviceId: string, payload: Uint8Array, receivedAt = RECEIVED) =>
  storeBatch(db, { deviceId, topic: uplinkTopic(deviceId, 'events'), payload, receivedAt });

async function count(db: Database, sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await db.query<{ n: number }>(sql, params);
  return row?.n ?? -1;
}

function suite(engine: 'pglite' | 'postgres') {
  const skip = engine === 'postgres' && !pgUp ? 'PostgreSQL at 127.0.0.1:5432 is unreachable' : false;

  t.test(`${engine}: a flow summary keeps its count, last seen and source ports`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    const summary = event({ count: 40, last_seen: '2025-03-01T11:59:59.000+00:00', src_ports: 37 });
    t.same(await deliver(db, 'dev-a', encodeBatch(batch('dev-a', 1, [summary]))), {
      status: 'stored',
      events: 40,
      created: CREATED,
      cleared: NONE_CLEARED,
    });
    const rows = await db.query<{ count: number; last_seen: Date; src_ports: number }>(
      'SELECT count, last_seen, src_ports FROM events',
    );
    t.equal(rows.length, 1);
    t.equal(rows[0]?.count, 40);
    t.equal(rows[0]?.last_seen.toISOString(), '2025-03-01T11:59:59.000Z');
    t.equal(rows[0]?.src_ports, 37);
  });

  t.test(`${engine}: impossible addresses and times are stored empty and counted`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    const junk = event({
      ts: '3000-01-01T00:00:00.000Z',
      src_ip: "'; DROP TABLE events; --",
      dst_ip: 'p:abcdefghijkl',
      src_nat_ip: 'not-an-address',
      dst_nat_ip: '2001:db8::7',
    });
    t.same(await deliver(db, 'dev-a', encodeBatch(batch('dev-a', 1, [junk, event()]))), {
      status: 'stored',
      events: 2,
      created: CREATED,
      cleared: { addresses: 2, times: 1 },
    });
    const rows = await db.query<{
      ts: Date | null;
      src_ip: string | null;
      dst_ip: string;
      src_nat_ip: string | null;
      dst_nat_ip: string;
    }>(
      'SELECT ts, src_ip, dst_ip, src_nat_ip, dst_nat_ip FROM events ORDER BY src_port, ts NULLS FIRST LIMIT 1',
    );
    t.same(
      rows[0],
      {
        ts: null,
        src_ip: null,
        dst_ip: 'p:abcdefghijkl',
        src_nat_ip: null,
        dst_nat_ip: '2001:db8::7',
      },
      'the event is kept, the impossible fields are empty, the rest as sent',
    );
    t.equal(
      await count(db, 'SELECT count(*)::int AS n FROM events WHERE src_ip IS NOT NULL AND ts IS NOT NULL'),
      1,
      'the good event untouched',
    );
  });

  t.test(`${engine}: a good batch is stored with every field, once`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    const full = event({
      src_nat_ip: '192.0.2.1',
      src_nat_port: 40000,
      dst_nat_ip: '10.0.0.5',
      dst_nat_port: 2222,
      bytes: 2 ** 40,
      packets: 3,
      rule: 'wan-in',
      interface: 'eth0',
      direction: 'in',
      category: 'scan',
      severity: 'high',
    });
    const payload = encodeBatch(
      batch('dev-a', 7, [
        full,
        event({ count: 5, ts: undefined, src_ip: undefined }),
        event({ action: 'allow', ts: 'not a time' }),
      ]),
    );
    t.same(
      await deliver(db, 'dev-a', payload),
      { status: 'stored', events: 7, created: CREATED, cleared: NONE_CLEARED },
      'events weighted by count',
    );

    const rows = await db.query<Record<string, unknown>>(
      `SELECT * FROM events WHERE device_id = 'dev-a' ORDER BY count, action COLLATE "C"`,
    );
    t.equal(rows.length, 3);
    t.match(rows[1], {
      device_id: 'dev-a',
      seq: 7,
      received_at: RECEIVED,
      ts: new Date('2025-03-01T11:59:58.000Z'),
      vendor: 'netfilter',
      src_ip: '198.51.100.7',
      src_port: 51000,
      dst_ip: '203.0.113.10',
      dst_port: 22,
      proto: 'tcp',
      action: 'deny',
      src_nat_ip: '192.0.2.1',
      src_nat_port: 40000,
      dst_nat_ip: '10.0.0.5',
      dst_nat_port: 2222,
      bytes: 2 ** 40,
      packets: 3,
      rule: 'wan-in',
      interface: 'eth0',
      direction: 'in',
      category: 'scan',
      severity: 'high',
      count: 1,
    });
    t.equal(rows[0]?.ts, null, 'an unparseable event time is stored as no time');
    t.equal(rows[0]?.action, 'allow');
    t.match(rows[2], { count: 5, ts: null, src_ip: null, rule: null });

    t.same(await db.query('SELECT device_id, seq, created, received_at, events, raw_events FROM batches'), [
      {
        device_id: 'dev-a',
        seq: 7,
        created: new Date(RECEIVED.getTime() - 1000),
        received_at: RECEIVED,
        events: 3,
        raw_events: 7,
      },
    ]);
    t.same(await db.query('SELECT device_id, first_seen, last_seen, bad_batches, flagged FROM devices'), [
      { device_id: 'dev-a', first_seen: RECEIVED, last_seen: RECEIVED, bad_batches: 0, flagged: false },
    ]);
  });

  t.test(
    `${engine}: a redelivered sequence number is a duplicate and writes nothing`,
    { skip },
    async (t) => {
      const db = await freshDatabase(t, engine);
      const first = encodeBatch(batch('dev-a', 1, [event(), event()]));
      t.same(await deliver(db, 'dev-a', first), {
        status: 'stored',
        events: 2,
        created: CREATED,
        cleared: NONE_CLEARED,
      });
      const later = new Date(RECEIVED.getTime() + 60_000);
      t.same(await deliver(db, 'dev-a', first, later), { status: 'duplicate' }, 'same bytes again');
      const [device] = await db.query<{ last_seen: Date }>('SELECT last_seen FROM devices');
      t.same(device?.last_seen, RECEIVED, 'a duplicate does not touch the device either');
      const changed = encodeBatch(batch('dev-a', 1, [event({ action: 'allow' })]));
      t.same(
        await deliver(db, 'dev-a', changed, later),
        { status: 'quarantined', reason: 'conflicting copy of sequence 1: stored first with other content' },
        'same sequence, other content: the first stays, this one is quarantined, not dropped',
      );
      t.equal(await count(db, 'SELECT count(*) AS n FROM events'), 2, 'no events added');
      t.equal(await count(db, `SELECT count(*) AS n FROM events WHERE action = 'allow'`), 0);
      t.equal(await count(db, 'SELECT bad_batches AS n FROM devices'), 1, 'counted against the device');
      t.same(
        await deliver(db, 'dev-b', encodeBatch(batch('dev-b', 1, [event()]))),
        { status: 'stored', events: 1, created: CREATED, cleared: NONE_CLEARED },
        'the same sequence number from another device is its own batch',
      );
      t.same(await ingestTotals(db), { batches: 2, stored: 3, quarantined: 1, devices: 2 });
    },
  );

  t.test(`${engine}: an empty batch is stored (it advances the sequence)`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    t.same(await deliver(db, 'dev-a', encodeBatch(batch('dev-a', 3, []))), {
      status: 'stored',
      events: 0,
      created: CREATED,
      cleared: NONE_CLEARED,
    });
    t.equal(await count(db, 'SELECT count(*) AS n FROM batches'), 1);
  });

  t.test(`${engine}: hostile bytes are quarantined with reason, size and sample`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    const garbage = new Uint8Array(1000).map((_, i) => (i * 131 + 7) & 0xff);
    garbage[0] = 0xff; // a CBOR "break" with nothing open: never a valid start
    const truncated = encodeBatch(batch('dev-a', 1, [event()])).subarray(0, 20);
    const results = [await deliver(db, 'dev-a', garbage), await deliver(db, 'dev-a', truncated)];
    for (const r of results) {
      t.equal(r.status, 'quarantined');
      t.ok(r.status === 'quarantined' && r.reason.length > 0, 'with a reason');
    }
    const rows = await db.query<{
      device_id: string;
      topic: string;
      reason: string;
      size_bytes: number;
      sample: Uint8Array;
    }>('SELECT device_id, topic, reason, size_bytes, sample FROM quarantine ORDER BY id');
    t.equal(rows.length, 2);
    t.match(rows[0], { device_id: 'dev-a', topic: 'ca/v1/dev/dev-a/up/events', size_bytes: 1000 });
    t.equal(rows[0]?.reason, results[0]?.status === 'quarantined' ? results[0].reason : '');
    t.same(
      Array.from(rows[0]?.sample ?? []),
      Array.from(garbage.subarray(0, QUARANTINE_SAMPLE_BYTES)),
      'first 256 bytes',
    );
    t.equal(rows[1]?.size_bytes, 20);
    t.equal(rows[1]?.sample.length, 20, 'short payloads are kept whole');
    t.same(await db.query('SELECT device_id, bad_batches FROM devices'), [
      { device_id: 'dev-a', bad_batches: 2 },
    ]);
    t.equal(await count(db, 'SELECT count(*) AS n FROM batches'), 0, 'nothing stored');
    t.same(await ingestTotals(db), { batches: 0, stored: 0, quarantined: 2, devices: 1 });
  });

  t.test(
    `${engine}: a batch naming another device is quarantined against the sender`,
    { skip },
    async (t) => {
      const db = await freshDatabase(t, engine);
      const forged = encodeBatch(batch('dev-victim', 1, [event()]));
      t.same(await deliver(db, 'dev-a', forged), { status: 'quarantined', reason: 'device mismatch' });
      t.same(await db.query('SELECT device_id, bad_batches FROM devices'), [
        { device_id: 'dev-a', bad_batches: 1 },
      ]);
      t.same(await db.query('SELECT device_id, reason FROM quarantine'), [
        { device_id: 'dev-a', reason: 'device mismatch' },
      ]);
      t.equal(await count(db, 'SELECT count(*) AS n FROM events'), 0);
    },
  );

  t.test(
    `${engine}: values PostgreSQL would refuse forever are quarantined, not retried`,
    { skip },
    async (t) => {
      const db = await freshDatabase(t, engine);
      const nul = encodeBatch(batch('dev-a', 1, [event({ rule: 'a\u0000b' })]));
      t.same(await deliver(db, 'dev-a', nul), { status: 'quarantined', reason: 'cbor: NUL in text' });
      const huge = encodeBatch(
        batch('dev-a', 2, [
          event({ count: Number.MAX_SAFE_INTEGER }),
          event({ count: Number.MAX_SAFE_INTEGER }),
        ]),
      );
      t.same(await deliver(db, 'dev-a', huge), { status: 'quarantined', reason: 'event count overflow' });
      const farFuture = encodeBatch({ ...batch('dev-a', 3, [event()]), created: 9e15 });
      t.same(await deliver(db, 'dev-a', farFuture), {
        status: 'quarantined',
        reason: 'created out of range',
      });
      t.equal(await count(db, 'SELECT count(*) AS n FROM batches'), 0);
    },
  );

  t.test(
    `${engine}: a failure mid-transaction leaves no partial batch, and redelivery stores it`,
    { skip },
    async (t) => {
      const db = await freshDatabase(t, engine);
      // A real database error after the batch row and its events are written: the device upsert fails.
      await db.exec(`ALTER TABLE devices ADD CONSTRAINT test_refuse CHECK (device_id <> 'dev-a')`);
      const payload = encodeBatch(batch('dev-a', 1, [event(), event(), event()]));
      await t.rejects(deliver(db, 'dev-a', payload), /test_refuse/, 'the database error propagates');
      t.equal(await count(db, 'SELECT count(*) AS n FROM batches'), 0, 'no batch row');
      t.equal(await count(db, 'SELECT count(*) AS n FROM events'), 0, 'no partial events');
      await db.exec('ALTER TABLE devices DROP CONSTRAINT test_refuse');
      t.same(
        await deliver(db, 'dev-a', payload),
        { status: 'stored', events: 3, created: CREATED, cleared: NONE_CLEARED },
        'redelivery is not a duplicate',
      );
      t.equal(await count(db, 'SELECT count(*) AS n FROM events'), 3);
    },
  );

  t.test(`${engine}: a full 5,000-event batch goes in whole`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    const events = Array.from({ length: 5000 }, (_, i) =>
      event({ src_port: 1024 + (i % 60000), count: 1 + (i % 3) }),
    );
    const result = await deliver(db, 'dev-a', encodeBatch(batch('dev-a', 1, events)));
    t.same(result, {
      status: 'stored',
      events: events.reduce((s, e) => s + (e.count ?? 1), 0),
      created: CREATED,
      cleared: NONE_CLEARED,
    });
    t.equal(await count(db, 'SELECT count(*) AS n FROM events'), 5000);
    t.equal(
      await count(db, 'SELECT sum(count)::int8 AS n FROM events'),
      result.status === 'stored' ? result.events : -1,
    );
  });

  t.test(`${engine}: concurrent deliveries of one batch store it once`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    const payload = encodeBatch(batch('dev-a', 9, [event(), event()]));
    const results = await Promise.all(Array.from({ length: 4 }, () => deliver(db, 'dev-a', payload)));
    t.equal(results.filter((r) => r.status === 'stored').length, 1, 'one stored');
    t.equal(results.filter((r) => r.status === 'duplicate').length, 3, 'the rest duplicates');
    t.equal(await count(db, 'SELECT count(*) AS n FROM events'), 2);
  });
}

suite('pglite');
suite('postgres');
