import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { decodeBatch } from '../../protocol/codec.js';
import type { ConnectionEvent } from '../../protocol/event.js';
import { Outbox } from './outbox.js';

const event = (i: number): ConnectionEvent => ({
  vendor: 'netfilter',
  action: 'deny',
  src_ip: '203.0.113.5',
  src_port: 1024 + (i % 60000),
  dst_ip: '198.51.100.10',
  dst_port: 22,
  proto: 'tcp',
});

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ca-outbox-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test(
  'seals full batches at once and the rest after the delay; batches decode to what went in',
  async (t) => {
    const dir = tempDir(t);
    let clock = 1_000_000;
    const outbox = new Outbox({
      dataDir: dir,
      deviceId: 'dev-1',
      batchMaxEvents: 100,
      batchMaxDelayMs: 20,
      now: () => clock++,
    });
    for (let i = 0; i < 250; i++) outbox.append(event(i));
    await new Promise((r) => setTimeout(r, 60));
    await outbox.flush();
    const stats = outbox.stats();
    t.equal(stats.acceptedEvents, 250);
    t.equal(stats.acceptedBatches, 3);
    t.equal(stats.depthEvents, 250);
    const batches = outbox.peek(-1, 10);
    t.same(
      batches.map((b) => b.events),
      [100, 100, 50],
    );
    t.ok(batches[0]!.seq >= 1_000_000, 'a fresh outbox starts its sequence at the clock');
    t.same(
      batches.map((b) => b.seq - batches[0]!.seq),
      [0, 1, 2],
      'consecutive sequence numbers',
    );
    const decoded = decodeBatch(batches[2]!.payload);
    t.ok(decoded.ok);
    if (decoded.ok) {
      t.equal(decoded.batch.seq, batches[2]!.seq, 'the payload carries its own seq');
      t.equal(decoded.batch.device, 'dev-1');
      t.same(decoded.batch.events[0], event(200));
    }
    await outbox.close();
  },
);

t.test('a batch leaves only when acknowledged; state survives reopening', async (t) => {
  const dir = tempDir(t);
  const first = new Outbox({ dataDir: dir, deviceId: 'dev-1', batchMaxEvents: 10, batchMaxDelayMs: 1000 });
  for (let i = 0; i < 30; i++) first.append(event(i));
  await first.flush();
  const [a, b] = first.peek(-1, 2);
  await first.ack(a!.seq);
  t.same(
    first.peek(-1, 10).map((x) => x.seq),
    [b!.seq, b!.seq + 1],
    'acked batch gone, others stay',
  );
  await first.close();

  const second = new Outbox({ dataDir: dir, deviceId: 'dev-1', batchMaxEvents: 10, batchMaxDelayMs: 1000 });
  const stats = second.stats();
  t.equal(stats.acceptedEvents, 30, 'accepted count persisted');
  t.equal(stats.ackedEvents, 10, 'acked count persisted');
  t.equal(stats.depthEvents, 20, 'depth recomputed from LMDB');
  second.append(event(99));
  await second.flush();
  const seqs = second.peek(-1, 10).map((x) => x.seq);
  t.equal(seqs.at(-1), b!.seq + 2, 'sequence continues after the last sealed batch');
  await second.close();
});

t.test('batches over the payload limit are split, each under the limit', async (t) => {
  const dir = tempDir(t);
  const outbox = new Outbox({ dataDir: dir, deviceId: 'dev-1', batchMaxEvents: 5000, batchMaxDelayMs: 1000 });
  const long = 'r'.repeat(128);
  for (let i = 0; i < 5000; i++) {
    outbox.append({
      ...event(i),
      rule: long,
      interface: long.slice(0, 64),
      category: long.slice(0, 64),
      direction: long.slice(0, 64),
    });
  }
  await outbox.flush();
  const batches = outbox.peek(-1, 100);
  t.ok(batches.length > 1, 'split');
  t.equal(
    batches.reduce((n, b) => n + b.events, 0),
    5000,
    'no event lost in the split',
  );
  for (const b of batches) t.ok(b.payload.length <= 1024 * 1024);
  await outbox.close();
});

t.test('a tiny maxOutboxBytes evicts the oldest batches and records the loss durably', async (t) => {
  const dir = tempDir(t);
  let clock = 5_000_000;
  const options = {
    dataDir: dir,
    deviceId: 'dev-1',
    batchMaxEvents: 50,
    batchMaxDelayMs: 1000,
    maxOutboxBytes: 6000,
    now: () => clock++,
  };
  const outbox = new Outbox(options);
  let lossSignals = 0;
  outbox.onLoss(() => lossSignals++);
  for (let i = 0; i < 2000; i++) outbox.append(event(i));
  await outbox.flush();
  const stats = outbox.stats();
  t.equal(stats.acceptedEvents, 2000, 'every event accepted');
  t.ok(stats.depthBytes <= 6000, `stays under the bound (${stats.depthBytes} B)`);
  t.ok(stats.evictedBatches > 0, `evicted ${stats.evictedBatches} batches`);
  t.equal(stats.depthEvents + stats.evictedEvents, 2000, 'stored + evicted = accepted');
  t.equal(stats.lostEvents, stats.evictedEvents);
  t.equal(stats.state, 'full');
  t.ok(lossSignals > 0, 'the uplink is woken for the loss record');
  const [loss] = outbox.pendingLosses();
  t.ok(loss);
  t.match(loss!.record, {
    reason: 'evicted: outbox full',
    events: stats.evictedEvents,
    batches: stats.evictedBatches,
    device: 'dev-1',
  });
  const remaining = outbox.peek(-1, 100);
  t.equal(loss!.record.last_seq + 1, remaining[0]!.seq, 'the oldest were evicted; the newest remain');
  t.ok(loss!.record.first_ts <= loss!.record.last_ts);
  await outbox.close();

  const reopened = new Outbox(options);
  t.same(reopened.pendingLosses()[0]?.record, loss!.record, 'the loss record survived reopening');
  t.equal(reopened.stats().lostEvents, stats.evictedEvents, 'loss counters persisted');
  await reopened.ackLoss('evicted: outbox full', reopened.pendingLosses()[0]!.version);
  t.same(reopened.pendingLosses(), [], 'acknowledged loss record forgotten');
  await reopened.close();
  const third = new Outbox(options);
  t.same(third.pendingLosses(), [], '… for good');
  await third.close();
});

t.test('a loss record that grew after it was sent is not forgotten by the older ack', async (t) => {
  const dir = tempDir(t);
  const outbox = new Outbox({
    dataDir: dir,
    deviceId: 'dev-1',
    batchMaxEvents: 50,
    batchMaxDelayMs: 1000,
    maxOutboxBytes: 3000,
  });
  for (let i = 0; i < 500; i++) outbox.append(event(i));
  await outbox.flush();
  const sent = outbox.pendingLosses()[0]!;
  for (let i = 0; i < 500; i++) outbox.append(event(i));
  await outbox.flush();
  await outbox.ackLoss(sent.record.reason, sent.version);
  const now = outbox.pendingLosses()[0];
  t.ok(now && now.record.events > sent.record.events, 'the grown record is still pending');
  t.equal(now?.record.first_seq, sent.record.first_seq, 'same identity (first_seq) for central');
  await outbox.close();
});

t.test('in-flight batches are not evicted', async (t) => {
  const dir = tempDir(t);
  const outbox = new Outbox({
    dataDir: dir,
    deviceId: 'dev-1',
    batchMaxEvents: 50,
    batchMaxDelayMs: 1000,
    maxOutboxBytes: 3000,
  });
  for (let i = 0; i < 100; i++) outbox.append(event(i));
  await outbox.flush();
  const first = outbox.peek(-1, 1)[0]!.seq;
  outbox.setInFlightCheck((seq) => seq === first);
  for (let i = 0; i < 500; i++) outbox.append(event(i));
  await outbox.flush();
  t.equal(outbox.peek(-1, 1)[0]?.seq, first, 'the in-flight batch is still there');
  t.ok(outbox.stats().evictedBatches > 0);
  await outbox.close();
});

t.test(
  'a read-only data directory: no crash, clear state, events counted lost and reported',
  { skip: process.getuid?.() === 0 ? 'root ignores directory permissions' : false },
  async (t) => {
    const { chmodSync } = await import('node:fs');
    const dir = tempDir(t);
    chmodSync(dir, 0o500);
    t.teardown(() => chmodSync(dir, 0o700));
    const outbox = new Outbox({ dataDir: dir, deviceId: 'dev-1', batchMaxEvents: 10, batchMaxDelayMs: 1000 });
    t.equal(outbox.stats().state, 'read-only');
    t.match(outbox.stats().stateMessage, /EACCES|permission/i);
    for (let i = 0; i < 25; i++) outbox.append(event(i));
    await outbox.flush();
    const stats = outbox.stats();
    t.equal(stats.acceptedEvents, 0, 'nothing counted as accepted');
    t.equal(stats.lostEvents, 25, 'every event counted as lost');
    t.match(outbox.pendingLosses()[0]?.record, { reason: 'write failed: read-only', events: 25, batches: 3 });
    t.same(outbox.peek(-1, 10), []);
    await outbox.close();
  },
);

t.test('an unusable data directory (a file where the outbox should be): state error, no throw', async (t) => {
  const { writeFileSync } = await import('node:fs');
  const dir = tempDir(t);
  writeFileSync(join(dir, 'outbox'), 'not a directory');
  const outbox = new Outbox({ dataDir: dir, deviceId: 'dev-1', batchMaxEvents: 10, batchMaxDelayMs: 1000 });
  t.equal(outbox.stats().state, 'error');
  for (let i = 0; i < 15; i++) outbox.append(event(i));
  await outbox.flush();
  t.equal(outbox.stats().lostEvents, 15);
  t.match(outbox.pendingLosses()[0]?.record, { reason: 'write failed: error', events: 15, batches: 2 });
  await outbox.close();
});
