/**
 * Known data for the member and force report tests: two forces, three members, a device of no
 * member, batches inside and just outside 1 March 2025 (UTC), and one batch delivered twice — stored
 * through ingest, then rolled up by the rollup job as central would.
 */

import { storeBatch } from '../../central/ingest/store-batch.js';
import type { Database } from '../../central/store/db.js';
import { type RollupOptions, runRollups } from '../../central/store/rollup-job.js';
import { encodeBatch } from '../../protocol/codec.js';
import type { ConnectionEvent } from '../../protocol/event.js';
import { uplinkTopic } from '../../protocol/topics.js';

type Ev = Partial<ConnectionEvent> & Pick<ConnectionEvent, 'action'>;

export const FIXTURE_BATCHES: readonly { device: string; seq: number; receivedAt: string; events: Ev[] }[] = [
  {
    device: 'dev-1a',
    seq: 1,
    receivedAt: '2025-03-01T00:00:00.000Z', // exactly `from`: inside
    events: [
      { action: 'deny', src_ip: '10.0.0.10', dst_port: 22, proto: 'tcp', count: 4 },
      { action: 'deny', src_ip: '100.0.0.1', dst_port: 22, proto: 'tcp', count: 4 },
      { action: 'allow', src_ip: '192.0.2.5', dst_port: 443, proto: 'tcp' },
    ],
  },
  {
    device: 'dev-1b',
    seq: 1,
    receivedAt: '2025-03-01T10:15:00.000Z',
    events: [
      { action: 'drop', src_ip: '9.9.9.9', dst_port: 53, proto: 'udp', count: 2 },
      { action: 'deny', src_ip: '10.0.0.10', dst_port: 3389, proto: 'tcp' },
      { action: 'reject', dst_port: 53, proto: 'tcp', count: 3 },
      { action: 'allow', src_ip: '192.0.2.5', proto: 'icmp', count: 2 },
      { action: 'allow', dst_port: 443 },
    ],
  },
  {
    device: 'dev-1a',
    seq: 2,
    receivedAt: '2025-03-01T23:59:59.000Z',
    events: [{ action: 'deny', src_ip: '100.0.0.1', dst_port: 3389, proto: 'tcp' }],
  },
  {
    device: 'dev-1a',
    seq: 3,
    receivedAt: '2025-03-02T00:00:00.000Z', // exactly `to`: outside
    events: [{ action: 'deny', src_ip: '203.0.113.1', dst_port: 23, proto: 'tcp', count: 100 }],
  },
  {
    device: 'dev-1a',
    seq: 4,
    receivedAt: '2025-02-28T23:59:59.999Z', // just before: outside
    events: [{ action: 'deny', src_ip: '203.0.113.2', dst_port: 23, proto: 'tcp', count: 50 }],
  },
  {
    device: 'dev-2', // another member of the same force
    seq: 1,
    receivedAt: '2025-03-01T10:00:00.000Z',
    events: [{ action: 'deny', src_ip: '10.0.0.10', dst_port: 22, proto: 'tcp', count: 1000 }],
  },
  {
    device: 'dev-3', // a member of another force
    seq: 1,
    receivedAt: '2025-03-01T12:00:00.000Z',
    events: [{ action: 'deny', src_ip: '10.0.0.10', dst_port: 22, proto: 'tcp', count: 7 }],
  },
  {
    device: 'dev-unbound', // no member yet
    seq: 1,
    receivedAt: '2025-03-01T12:00:00.000Z',
    events: [{ action: 'deny', src_ip: '8.8.8.8', dst_port: 22, proto: 'tcp', count: 9 }],
  },
];

export async function loadRollupFixture(db: Database, rollup: RollupOptions = {}): Promise<void> {
  await db.exec(`
    INSERT INTO regions (region_id, name) VALUES ('nw', 'North West');
    INSERT INTO forces (force_id, name, region_id) VALUES ('f1', 'Force one', 'nw'), ('f2', 'Force two', 'nw');
    INSERT INTO members (member_id, name, force_id, sector) VALUES ('m1', 'School', 'f1', 'education'),
      ('m2', 'Charity', 'f1', 'charity'), ('m3', 'Shop', 'f2', 'retail');
    INSERT INTO devices (device_id, member_id, first_seen, last_seen) VALUES
      ('dev-1a', 'm1', now(), now()), ('dev-1b', 'm1', now(), now()), ('dev-2', 'm2', now(), now()),
      ('dev-3', 'm3', now(), now());
  `);
  const deliveries = [...FIXTURE_BATCHES, FIXTURE_BATCHES[0]]; // the first one twice: a redelivery
  for (const [i, b] of deliveries.entries()) {
    if (b === undefined) continue;
    // The redelivery comes after its batch was rolled up: it must not count again.
    if (i === FIXTURE_BATCHES.length) await runRollups(db, rollup);
    const events = b.events.map((e) => ({ vendor: 'netfilter', ...e }));
    const result = await storeBatch(db, {
      deviceId: b.device,
      topic: uplinkTopic(b.device, 'events'),
      payload: encodeBatch({ v: 1, device: b.device, seq: b.seq, created: 0, events }),
      receivedAt: new Date(b.receivedAt),
    });
    const expected = i < FIXTURE_BATCHES.length ? 'stored' : 'duplicate';
    if (result.status !== expected) throw new Error(`fixture batch ${i}: ${JSON.stringify(result)}`);
  }
  await runRollups(db, rollup);
}

/** A report without `rolledUpTo` (the database clock once everything is rolled up), for comparing. */
export function withoutClock<T extends { readonly rolledUpTo: string }>(report: T): Omit<T, 'rolledUpTo'> {
  const { rolledUpTo: _, ...rest } = report;
  return rest;
}
