import t from 'tap';
import { createLogger } from '../../common/logger.js';
import type { Metric } from '../../common/metrics.js';
import type { Batch } from '../../protocol/batch.js';
import {
  COMPRESSED_MARKER,
  compressBatchPayload,
  encodeBatch,
  encodeLossRecord,
} from '../../protocol/codec.js';
import { uplinkTopic } from '../../protocol/topics.js';
import { freshDatabase } from '../../test/support/test-databases.js';
import { workerMetrics } from '../portal/metrics.js';
import { BadBatchTracker } from './flag-device.js';
import { INGESTED_KINDS } from './handlers/index.js';
import { type IngestContext, ingestMessage } from './ingest.js';
import { newIngestCounters, newIngestWindows } from './ingest-counters.js';

const DEVICE = 'dev-lag';
const CREATED = Date.UTC(2025, 2, 1, 12, 0, 0);

const batch = (seq: number, events: number): Batch => ({
  v: 1,
  device: DEVICE,
  seq,
  created: CREATED,
  events: Array.from({ length: events }, (_, i) => ({
    ts: '2025-03-01T11:59:58.000+00:00',
    vendor: 'netfilter',
    src_ip: '198.51.100.7',
    src_port: 40_000 + i,
    dst_ip: '203.0.113.10',
    dst_port: 22,
    proto: 'tcp',
    action: 'deny',
  })),
});

const lagSeconds = (ctx: IngestContext, nowMs: number): Metric['samples'] => {
  const metric = workerMetrics(
    { worker: 'test', windows: ctx.windows, badBatches: ctx.badBatches },
    nowMs,
  ).find((m) => m.name === 'cyberalarm_central_ingest_lag_seconds');
  if (metric === undefined) throw new Error('no lag metric');
  return metric.samples;
};

const context = (db: IngestContext['db'], now: () => number = Date.now): IngestContext => ({
  db,
  counters: newIngestCounters(),
  windows: newIngestWindows(),
  badBatches: new BadBatchTracker({ threshold: 3, windowMs: 60_000 }),
  logger: createLogger('test', 'silent'),
  now,
});

t.test('the lag metric sees every stored batch, compressed (the uplink default) or plain', async (t) => {
  const { db } = await freshDatabase(t, 'pglite');
  let nowMs = CREATED + 2_500;
  const ctx = context(db, () => nowMs);
  t.same(lagSeconds(ctx, nowMs), [], 'no samples before any batch');

  // What the appliance's outbox sends by default: CBOR, then brotli when that pays.
  const compressed = compressBatchPayload(encodeBatch(batch(1, 50)));
  t.equal(compressed[0], COMPRESSED_MARKER, 'the payload really is compressed');
  await ingestMessage(ctx, { topic: uplinkTopic(DEVICE, 'events'), payload: compressed });
  t.equal(ctx.counters.stored, 1, 'stored');
  t.same(
    lagSeconds(ctx, nowMs).map((s) => [s.labels?.quantile, s.value]),
    [
      ['0.5', 2.5],
      ['0.99', 2.5],
      ['1', 2.5],
    ],
    'the compressed batch is one lag sample of commit time - created',
  );

  nowMs = CREATED + 4_000;
  const plain = encodeBatch(batch(2, 1));
  t.not(plain[0], COMPRESSED_MARKER, 'a small batch goes plain');
  await ingestMessage(ctx, { topic: uplinkTopic(DEVICE, 'events'), payload: plain });
  t.same(
    lagSeconds(ctx, nowMs).map((s) => s.value),
    [2.5, 4, 4],
    'the plain batch is the second sample',
  );

  await ingestMessage(ctx, { topic: uplinkTopic(DEVICE, 'events'), payload: compressed });
  t.equal(ctx.counters.duplicates, 1, 'a redelivery is a duplicate');
  t.same(
    lagSeconds(ctx, nowMs).map((s) => s.value),
    [2.5, 4, 4],
    'and no lag sample',
  );
});

t.test('one entry dispatches by the topic kind; quarantines are counted for every kind', async (t) => {
  const { db } = await freshDatabase(t, 'pglite');
  const ctx = context(db);
  const lossRecord = (device: string) =>
    encodeLossRecord({
      v: 1,
      device,
      reason: 'evicted: outbox full',
      events: 10,
      batches: 1,
      first_seq: 1,
      last_seq: 1,
      first_ts: CREATED,
      last_ts: CREATED,
    });
  await ingestMessage(ctx, { topic: uplinkTopic(DEVICE, 'loss'), payload: lossRecord(DEVICE) });
  const [row] = await db.query<{ count: number }>('SELECT count FROM loss_records WHERE device_id = $1', [
    DEVICE,
  ]);
  t.equal(row?.count, 10, 'a loss record is stored');
  t.equal(ctx.counters.batches, 0, 'and is not counted as an events batch');

  await ingestMessage(ctx, { topic: uplinkTopic(DEVICE, 'health'), payload: new Uint8Array([1]) });
  await ingestMessage(ctx, { topic: 'not/an/uplink', payload: new Uint8Array([1]) });
  t.same(
    ctx.counters,
    {
      ...newIngestCounters(),
      quarantined: 1,
      quarantinedByReason: { 'health: schema: /': 1 },
      healthReports: 1,
      bytes: 1,
      ignoredForeign: 1,
    },
    'a bad heartbeat is quarantined and counted by reason; a foreign topic is counted',
  );
  t.same(
    INGESTED_KINDS,
    ['events', 'loss', 'alerts', 'health'],
    'the external-broker worker subscribes to every uplink kind',
  );
  ctx.counters.quarantined = 0;
  ctx.counters.quarantinedByReason = {};

  // The embedded broker passes the authenticated identity; a payload naming another device is refused.
  const other = encodeBatch({ ...batch(1, 1), device: 'dev-other' });
  for (let i = 0; i < 3; i++)
    await ingestMessage(ctx, { topic: uplinkTopic(DEVICE, 'events'), payload: other, deviceId: DEVICE });
  await ingestMessage(ctx, { topic: uplinkTopic(DEVICE, 'loss'), payload: lossRecord('dev-other') });
  t.equal(ctx.counters.quarantined, 4, 'bad batches and bad loss records are quarantined');
  t.same(ctx.counters.quarantinedByReason, { 'device mismatch': 3, 'loss: device mismatch': 1 });
  t.equal(ctx.counters.devicesFlagged, 1, 'three bad batches flag the device');
  const [device] = await db.query<{ flagged: boolean }>('SELECT flagged FROM devices WHERE device_id = $1', [
    DEVICE,
  ]);
  t.equal(device?.flagged, true);

  const down = Object.assign(Object.create(db) as IngestContext['db'], {
    query: async () => {
      throw new Error('database down');
    },
  });
  await t.rejects(
    ingestMessage(
      { ...ctx, db: down },
      { topic: uplinkTopic(DEVICE, 'events'), payload: encodeBatch(batch(9, 1)) },
    ),
    'a database error rejects, so the message is not acknowledged',
  );
  t.equal(ctx.counters.storeErrors, 1, 'and is counted');
});
