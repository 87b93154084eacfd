/**
 * Power loss, not only kill -9: LMDB commits reach the disk only at its next sync, so a power cut
 * can take the outbox back to an older state than the batches it had already published. Simulated
 * by reopening from a copy of the data directory taken at the last point known to be on disk; the
 * next sequence number must be above every one published before the "cut", or central would drop
 * the new batch as a duplicate of the old one.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Outbox } from '../../appliance/outbox/outbox.js';
import type { ConnectionEvent } from '../../protocol/event.js';

const event = (i: number): ConnectionEvent => ({
  vendor: 'netfilter',
  action: 'deny',
  src_ip: '203.0.113.5',
  src_port: 1024 + i,
  dst_ip: '198.51.100.10',
  dst_port: 22,
  proto: 'tcp',
});

t.test('after a power cut the outbox never numbers a batch it may have published', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ca-powerloss-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const live = join(root, 'live');
  const options = (dataDir: string) => ({
    dataDir,
    deviceId: 'dev-pl',
    batchMaxEvents: 10,
    batchMaxDelayMs: 1000,
    now: () => 1_700_000_000_000, // a stopped clock: the sequence cannot hide behind the time
  });
  const outbox = new Outbox(options(live));
  for (let i = 0; i < 10; i++) outbox.append(event(i));
  await outbox.flush();
  // The last durable state: what an fsync'd disk holds (the batch above, and whatever the outbox
  // made durable itself when it opened).
  const synced = join(root, 'synced');
  cpSync(live, synced, { recursive: true });

  // Then, before LMDB's next sync: more batches, published and acknowledged by the broker.
  const published: number[] = [];
  for (let i = 10; i < 60; i++) outbox.append(event(i));
  await outbox.flush();
  for (const batch of outbox.peek(-1, 100)) {
    published.push(batch.seq);
    await outbox.ack(batch.seq);
  }
  t.equal(published.length, 6, 'six batches published before the cut');
  const highest = Math.max(...published);
  // The cut: the page cache is gone; the device restarts from what was on disk.
  await outbox.close();

  const restarted = new Outbox(options(synced));
  // The batch sealed before the copy is still there and is sent again: the same bytes, harmless.
  const survivors = new Set(restarted.peek(-1, 100).map((b) => b.seq));
  for (let i = 0; i < 10; i++) restarted.append(event(100 + i));
  await restarted.flush();
  const next = restarted
    .peek(-1, 100)
    .map((b) => b.seq)
    .filter((seq) => !survivors.has(seq));
  t.ok(next.length > 0, 'the new batch is publishable');
  for (const seq of next)
    t.ok(seq > highest, `new seq ${seq} is above every published seq (highest ${highest})`);
  await restarted.close();
});

t.test('a clean restart continues the sequence without a gap', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ca-powerloss-clean-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const options = { dataDir: dir, deviceId: 'dev-pl', batchMaxEvents: 10, batchMaxDelayMs: 1000 };
  const first = new Outbox(options);
  for (let i = 0; i < 30; i++) first.append(event(i));
  await first.flush();
  const last = first.peek(-1, 10).at(-1)!.seq;
  await first.close();
  const second = new Outbox(options);
  for (let i = 0; i < 10; i++) second.append(event(i));
  await second.flush();
  t.equal(second.peek(-1, 10).at(-1)?.seq, last + 1);
  await second.close();
});
