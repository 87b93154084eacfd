import t from 'tap';
import { createLogger } from '../../../common/logger.js';
import { uplinkTopic } from '../../../protocol/topics.js';
import { freshDatabase } from '../../../test/support/test-databases.js';
import { BadBatchTracker } from '../flag-device.js';
import type { IngestContext } from '../ingest.js';
import { newIngestCounters, newIngestWindows } from '../ingest-counters.js';
import { INGESTED_KINDS } from './index.js';
import { notIngestedYet } from './not-ingested-yet.js';

const DEVICE = 'dev-junk';

// Every kind has a store today; the handler stays for the next kind the protocol names before central
// can store it. It is exercised here under 'health', the last kind that used it.
t.test('a kind without a store is quarantined whole with a reason, never dropped', async (t) => {
  const { db } = await freshDatabase(t, 'pglite');
  const ctx: IngestContext = {
    db,
    counters: newIngestCounters(),
    windows: newIngestWindows(),
    badBatches: new BadBatchTracker({ threshold: 2, windowMs: 60_000 }),
    logger: createLogger('test', 'silent'),
  };
  const junk = Buffer.from('junk that is no CBOR at all '.repeat(20)); // longer than a batch sample
  const handler = notIngestedYet('health');
  t.equal(handler.flagsDevice, false);
  for (let i = 0; i < 2; i++) {
    const outcome = await handler.handle(ctx, {
      deviceId: DEVICE,
      topic: uplinkTopic(DEVICE, 'health'),
      payload: junk,
      receivedAt: new Date(),
    });
    t.same(outcome, { status: 'quarantined', reason: 'kind not ingested yet: health' });
  }

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
  t.same(ctx.counters.ignoredByKind, { health: 2 }, 'still counted by kind');
  const [device] = await db.query<{ bad_batches: number; flagged: boolean }>(
    'SELECT bad_batches, flagged FROM devices WHERE device_id = $1',
    [DEVICE],
  );
  t.same(device, { bad_batches: 0, flagged: false }, 'not held against the device');
  t.ok(
    INGESTED_KINDS.includes('alerts') && INGESTED_KINDS.includes('health'),
    'the external-broker worker subscribes to every kind',
  );
});
