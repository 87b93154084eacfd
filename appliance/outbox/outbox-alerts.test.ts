import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { decodeAlertsBatch } from '../../protocol/alert.js';
import { decodeBatch } from '../../protocol/codec.js';
import type { ConnectionEvent } from '../../protocol/event.js';
import type { Alert } from '../detect/alert.js';
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

const alert = (i: number, over: Partial<Alert> = {}): Alert => ({
  id: `vertical-scan:203.0.113.${i}:2026-12-07T12:00:00.000Z`,
  detector: 'vertical-scan',
  kind: 'fast',
  status: 'new',
  severity: 'low',
  source: `203.0.113.${i}`,
  keyRole: 'source',
  targets: ['p:abcdefghijkl'],
  ports: [22, 23],
  protocols: ['tcp'],
  events: 20,
  distinctTargets: 1,
  distinctPorts: 20,
  distinctCapped: false,
  firstSeen: '2026-12-07T12:00:00.000Z',
  lastSeen: '2026-12-07T12:00:19.000Z',
  thresholds: { distinctPorts: 15, windowS: 60 },
  label: 'targeted',
  summary: `203.0.113.${i} probed 20 ports.`,
  advice: 'Check what is reachable.',
  ...over,
});

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ca-outbox-alerts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const waitUntil = async (check: () => boolean, ms: number): Promise<number> => {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - start;
};

t.test(
  'an alert is sealed at once though events wait a minute; own sub-database, shared seq space',
  async (t) => {
    const dir = tempDir(t);
    const outbox = new Outbox({
      dataDir: dir,
      deviceId: 'dev-1',
      batchMaxEvents: 1000,
      batchMaxDelayMs: 60_000,
    });
    t.teardown(() => outbox.close());
    let sealed = 0;
    outbox.onSealed(() => sealed++);
    outbox.append(event(1));
    outbox.appendAlert(alert(1));
    outbox.appendAlert(alert(2, { status: 'update' }));
    t.equal(outbox.stats().alertsQueued, 2);
    // Far below the events' 60 s, with room for a busy machine: what proves the alerts did not wait
    // for the event batch is that the event is still pending when they are committed (below).
    const tookMs = await waitUntil(() => outbox.stats().alertsPending === 2, 20_000);
    t.ok(tookMs < 20_000, `alerts committed after ${tookMs} ms, not after the events' 60 s`);
    t.equal(sealed, 1, 'one alerts batch, and the uplink was woken');
    t.equal(outbox.stats().pendingEvents, 1, 'the event still waits for its batch');
    t.equal(outbox.peek(-1, 10).length, 0, 'no event batch yet');

    const [batch, ...rest] = outbox.peekAlerts(-1, 10);
    t.same(rest, []);
    t.equal(batch?.alerts, 2);
    const decoded = decodeAlertsBatch(batch!.payload);
    t.ok(decoded.ok, 'the payload is a valid alerts batch');
    if (decoded.ok) {
      t.equal(decoded.batch.seq, batch!.seq);
      t.same(
        decoded.batch.alerts.map((a) => [a.id, a.status]),
        [
          [alert(1).id, 'new'],
          [alert(2).id, 'update'],
        ],
      );
    }
    await outbox.flush();
    const [events] = outbox.peek(-1, 10);
    t.equal(events?.seq, batch!.seq + 1, 'the event batch takes the next number of the same sequence');
    t.ok(decodeBatch(events!.payload).ok);
    t.same(outbox.peekAlerts(batch!.seq, 10), [], 'nothing after it');

    await outbox.ackAlerts(batch!.seq);
    const stats = outbox.stats();
    t.match(stats, {
      alertsAccepted: 2,
      alertsAcked: 2,
      alertsPending: 0,
      alertBatchesPending: 0,
      alertsLost: 0,
    });
    t.same(outbox.peekAlerts(-1, 10), []);
    t.equal(outbox.peek(-1, 10).length, 1, 'acking the alerts left the events alone');
  },
);

t.test('alert counters and unacknowledged alerts survive reopening', async (t) => {
  const dir = tempDir(t);
  const options = { dataDir: dir, deviceId: 'dev-1', batchMaxEvents: 10, batchMaxDelayMs: 1000 };
  const first = new Outbox(options);
  first.appendAlert(alert(1));
  await first.flush();
  first.appendAlert(alert(2));
  await first.flush();
  const [a] = first.peekAlerts(-1, 10);
  await first.ackAlerts(a!.seq);
  await first.close();

  const second = new Outbox(options);
  t.teardown(() => second.close());
  t.match(second.stats(), { alertsAccepted: 2, alertsAcked: 1, alertsPending: 1, alertBatchesPending: 1 });
  const left = second.peekAlerts(-1, 10);
  t.equal(left.length, 1);
  t.ok(left[0]!.seq > a!.seq);
  second.append(event(1));
  await second.flush();
  t.ok(second.peek(-1, 10)[0]!.seq > left[0]!.seq, 'numbering continues above both kinds');
});

t.test(
  'a full outbox evicts every event batch before any alert; alerts lost get their own loss record',
  async (t) => {
    const dir = tempDir(t);
    const outbox = new Outbox({
      dataDir: dir,
      deviceId: 'dev-1',
      batchMaxEvents: 50,
      batchMaxDelayMs: 60_000,
      compress: false,
      maxOutboxBytes: 12_000,
    });
    t.teardown(() => outbox.close());
    for (let i = 0; i < 3; i++) outbox.appendAlert(alert(i));
    await outbox.flush();
    for (let i = 0; i < 400; i++) outbox.append(event(i));
    await outbox.flush();
    let stats = outbox.stats();
    t.ok(stats.evictedBatches > 0, 'event batches were evicted');
    t.equal(stats.alertsPending, 3, 'while event batches remain, no alert is evicted');
    t.equal(stats.alertsLost, 0);
    t.ok(stats.depthBytes <= 12_000, 'the bound holds');
    t.ok(
      stats.lossRecordsPending.some((r) => r.reason === 'evicted: outbox full'),
      'the events loss record',
    );

    // Now only alerts and a new, large burst of them: when no event batch is left, alerts go too.
    for (const b of outbox.peek(-1, 100)) await outbox.ack(b.seq);
    const summary = 'x'.repeat(500);
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 10; i++) outbox.appendAlert(alert(i, { summary, id: `r${round}-${i}` }));
      await outbox.flush();
    }
    stats = outbox.stats();
    t.ok(stats.alertsEvicted > 0, 'alerts were evicted once no event batch was left');
    t.equal(stats.alertsLost, stats.alertsEvicted);
    t.equal(stats.alertsAccepted, 63);
    t.equal(stats.alertsPending + stats.alertsLost, 63, 'every accepted alert is pending or counted lost');
    t.ok(stats.depthBytes <= 12_000, 'the bound holds');
    const record = stats.lossRecordsPending.find((r) => r.reason === 'alerts evicted: outbox full');
    t.equal(record?.events, stats.alertsLost, 'their loss record counts the alerts');
    t.equal(stats.lostEvents, stats.evictedEvents, 'alerts are not counted as lost events');
  },
);

t.test('an alert the schema would refuse is counted, not sealed', async (t) => {
  const dir = tempDir(t);
  const outbox = new Outbox({ dataDir: dir, deviceId: 'dev-1', batchMaxEvents: 10, batchMaxDelayMs: 1000 });
  t.teardown(() => outbox.close());
  outbox.appendAlert(alert(1, { source: 'not an address' }));
  outbox.appendAlert(alert(2, { summary: 's'.repeat(5000) })); // cut to the wire bound, still sent
  await outbox.flush();
  const stats = outbox.stats();
  t.equal(stats.alertsInvalid, 1);
  t.equal(stats.alertsAccepted, 1);
  const [batch] = outbox.peekAlerts(-1, 10);
  const decoded = decodeAlertsBatch(batch!.payload);
  t.ok(decoded.ok && decoded.batch.alerts[0]!.summary.endsWith('…'));
});

t.test('an unopenable data directory counts alerts as lost, with their loss record', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'not-a-dir');
  rmSync(file, { force: true });
  (await import('node:fs')).writeFileSync(file, 'x');
  const outbox = new Outbox({ dataDir: file, deviceId: 'dev-1', batchMaxEvents: 10, batchMaxDelayMs: 1000 });
  outbox.appendAlert(alert(1));
  await outbox.flush();
  const stats = outbox.stats();
  t.equal(stats.alertsLost, 1);
  t.match(stats.lossRecordsPending, [{ reason: 'alerts write failed', events: 1 }]);
  t.equal(stats.lostEvents, 0);
  await outbox.close();
});
