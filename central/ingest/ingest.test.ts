import t from 'tap';
import { createLogger } from '../../common/logger.js';
import type { Metric } from '../../common/metrics.js';
import type { Batch } from '../../protocol/batch.js';
import { COMPRESSED_MARKER, compressBatchPayload, encodeBatch } from '../../protocol/codec.js';
import { uplinkTopic } from '../../protocol/topics.js';
import { freshDatabase } from '../../test/support/test-databases.js';
import { workerMetrics } from '../portal/metrics.js';
import { BadBatchTracker } from './flag-device.js';
import { newIngestCounters, newIngestWindows } from './ingest-counters.js';
import { type IngestContext, ingestMessage } from './mqtt-worker.js';

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

t.test('the lag metric sees every stored batch, compressed (the uplink default) or plain', async (t) => {
  const { db } = await freshDatabase(t, 'pglite');
  let nowMs = CREATED + 2_500;
  const ctx: IngestContext = {
    db,
    counters: newIngestCounters(),
    windows: newIngestWindows(),
    badBatches: new BadBatchTracker({ threshold: 3, windowMs: 60_000 }),
    logger: createLogger('test', 'silent'),
    now: () => nowMs,
  };
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
