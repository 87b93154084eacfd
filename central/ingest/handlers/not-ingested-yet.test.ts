import t from 'tap';
import { createLogger } from '../../../common/logger.js';
import { uplinkTopic } from '../../../protocol/topics.js';
import { freshDatabase } from '../../../test/support/test-databases.js';
import { BadBatchTracker } from '../flag-device.js';
import { type IngestContext, ingestMessage } from '../ingest.js';
import { newIngestCounters, newIngestWindows } from '../ingest-counters.js';
import { INGESTED_KINDS } from './index.js';

const DEVICE = 'dev-junk';

t.test('health (no store yet) is quarantined whole with a reason, never dropped', async (t) => {
  const { db } = await freshDatabase(t, 'pglite');
  const ctx: IngestContext = {
    db,
    counters: newIngestCounters(),
    windows: newIngestWindows(),
    badBatches: new BadBatchTracker({ threshold: 2, windowMs: 60_000 }),
    logger: createLogger('test', 'silent'),
  };
  const junk = Buffer.from('junk that is no CBOR at all '.repeat(20)); // longer than a batch sample
  for (const kind of ['health', 'health'] as const)
    await ingestMessage(ctx, { topic: uplinkTopic(DEVICE, kind), payload: junk });

  const rows = await db.query<{ topic: string; reason: string; size_bytes: number; sample: Uint8Array }>(
    'SELECT topic, reason, size_bytes, sample FROM quarantine WHERE device_id = $1 ORDER BY id',
    [DEVICE],
  );
  t.same(
    rows.map((r) => [r.topic, r.reason, r.size_bytes]),
    [
      [uplinkTopic(DEVICE, 'health'), 'kind not ingested yet: health', junk.length],
      [uplinkTopic(DEVICE, 'health'), 'kind not ingested yet: health', junk.length],
    ],
    'one quarantine row per message, with its topic, reason and size',
  );
  t.ok(
    rows.every((r) => Buffer.from(r.sample).equals(junk)),
    'the whole payload is kept, so a later handler can replay it',
  );
  t.equal(ctx.counters.quarantined, 2);
  t.same(ctx.counters.quarantinedByReason, {
    'kind not ingested yet: health': 2,
  });
  t.same(ctx.counters.ignoredByKind, { health: 2 }, 'still counted by kind');
  const [device] = await db.query<{ bad_batches: number; flagged: boolean }>(
    'SELECT bad_batches, flagged FROM devices WHERE device_id = $1',
    [DEVICE],
  );
  t.same(device, { bad_batches: 0, flagged: false }, 'not held against the device');
  t.equal(ctx.counters.devicesFlagged, 0);
  t.ok(
    INGESTED_KINDS.includes('alerts') && INGESTED_KINDS.includes('health'),
    'the external-broker worker subscribes to them too, so the Mosquitto path quarantines them alike',
  );
});
