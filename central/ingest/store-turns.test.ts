/**
 * A big drain into the embedded database must leave the event loop turning: before, thirty devices'
 * batches stored back to back on PGlite starved every timer and the portal's HTTP server until the
 * last one was in (an outside test saw /api/health unreachable for ~400 s).
 */
import t from 'tap';
import { createLogger } from '../../common/logger.js';
import { compressBatchPayload, encodeBatch } from '../../protocol/codec.js';
import { uplinkTopic } from '../../protocol/topics.js';
import { freshDatabase } from '../../test/support/test-databases.js';
import { BadBatchTracker } from './flag-device.js';
import { type IngestContext, ingestMessage } from './ingest.js';
import { newIngestCounters, newIngestWindows } from './ingest-counters.js';

const DEVICES = 30;

t.test('PGlite: timers (and so HTTP) get turns between the batches of a drain', async (t) => {
  const { db } = await freshDatabase(t, 'pglite');
  const ctx: IngestContext = {
    db,
    counters: newIngestCounters(),
    windows: newIngestWindows(),
    badBatches: new BadBatchTracker({ threshold: 3, windowMs: 60_000 }),
    logger: createLogger('test', 'silent'),
  };
  const messages = Array.from({ length: DEVICES }, (_, d) => ({
    topic: uplinkTopic(`drain-${d}`, 'events'),
    payload: compressBatchPayload(
      encodeBatch({
        v: 1,
        device: `drain-${d}`,
        seq: 1,
        created: Date.now(),
        events: Array.from({ length: 2000 }, (_, i) => ({
          vendor: 'netfilter',
          src_ip: '198.51.100.7',
          src_port: 1000 + i,
          dst_ip: '203.0.113.10',
          dst_port: 22,
          proto: 'tcp',
          action: 'deny' as const,
        })),
      }),
    ),
  }));
  const storedWhenTimersRan: number[] = [];
  const tick = (): void => {
    storedWhenTimersRan.push(ctx.counters.stored);
    if (ctx.counters.stored < DEVICES) setTimeout(tick, 0);
  };
  const drain = Promise.all(messages.map((m) => ingestMessage(ctx, m)));
  setTimeout(tick, 0);
  await drain;
  t.equal(ctx.counters.stored, DEVICES, 'every batch stored');
  t.ok(storedWhenTimersRan.length >= 2, `timers ran during the drain (${storedWhenTimersRan.length} times)`);
  t.ok(
    (storedWhenTimersRan[0] ?? DEVICES) < DEVICES,
    `the first timer ran before the drain ended (it saw ${storedWhenTimersRan[0]} of ${DEVICES} stored)`,
  );
});
