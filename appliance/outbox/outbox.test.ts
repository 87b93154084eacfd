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
