import t, { type Test } from 'tap';
import { createLogger } from '../../common/logger.js';
import { renderPrometheus } from '../../common/metrics.js';
import { type AlertRecord, encodeAlertsBatch } from '../../protocol/alert.js';
import { uplinkTopic } from '../../protocol/topics.js';
import { type Engine, freshDatabase, postgresReachable } from '../../test/support/test-databases.js';
import { ingestMetrics } from '../portal/metrics.js';
import { BadBatchTracker } from './flag-device.js';
import { type IngestContext, ingestMessage } from './ingest.js';
import { newIngestCounters, newIngestWindows } from './ingest-counters.js';

const DEVICE = 'dev-alerts';

const alert = (over: Partial<AlertRecord> = {}): AlertRecord => ({
  id: 'vertical-scan:203.0.113.10:2026-12-07T12:00:00.000Z',
  detector: 'vertical-scan',
  kind: 'fast',
  status: 'new',
  severity: 'low',
  source: '203.0.113.10',
  keyRole: 'source',
  targets: ['p:abcdefghijkl', '2001:db8::1'],
  ports: [22, 23],
  protocols: ['tcp'],
  events: 20,
  distinctTargets: 2,
  distinctPorts: 20,
  distinctCapped: false,
  firstSeen: '2026-12-07T12:00:00.000Z',
  lastSeen: '2026-12-07T12:00:19.000Z',
  thresholds: { distinctPorts: 15, windowS: 60 },
  label: 'targeted',
  summary: '203.0.113.10 probed 20 ports.',
  advice: 'Check what is reachable.',
  ...over,
});

const payload = (seq: number, alerts: AlertRecord[], device = DEVICE) =>
  encodeAlertsBatch({ v: 1, device, seq, created: 1_765_108_800_000 + seq, alerts });

async function setup(t: Test, engine: Engine) {
  const { db } = await freshDatabase(t, engine);
  const ctx: IngestContext = {
    db,
    counters: newIngestCounters(),
    windows: newIngestWindows(),
    badBatches: new BadBatchTracker({ threshold: 100, windowMs: 60_000 }),
    logger: createLogger('test', 'silent'),
  };
  const send = (bytes: Uint8Array, deviceId = DEVICE) =>
    ingestMessage(ctx, { topic: uplinkTopic(deviceId, 'alerts'), payload: bytes, deviceId });
  const rows = () =>
    db.query<{
      alert_id: string;
      seq: number;
      status: string;
      severity: string;
      events: number;
      reports: number;
      src_ip: string | null;
      dst_ip: string | null;
      dst_port: number | null;
      raised_at: Date;
      detail: { targets: string[]; advice: string };
    }>(
      `SELECT alert_id, seq::int8 AS seq, status, severity, events::int8 AS events, reports, src_ip, dst_ip,
              dst_port, raised_at, detail FROM alerts WHERE device_id = $1 ORDER BY alert_id`,
      [DEVICE],
    );
  return { db, ctx, send, rows };
}

const pgUp = await postgresReachable();

for (const engine of ['pglite', 'postgres'] as const) {
  const skip = engine === 'postgres' && !pgUp ? 'PostgreSQL at 127.0.0.1:5432 is unreachable' : false;

  t.test(
    `${engine}: an alert is stored once; later reports update its row; a redelivery is a duplicate`,
    { skip },
    async (t) => {
      const { ctx, send, rows } = await setup(t, engine);
      const b = alert({
        id: 'flood:p:qqqqqqqqqqqq:x',
        detector: 'flood',
        keyRole: 'destination',
        source: 'p:qqqqqqqqqqqq',
        targets: ['198.51.100.7'],
      });
      await send(payload(100, [alert(), b]));
      let stored = await rows();
      t.equal(stored.length, 2);
      t.match(stored[1], {
        alert_id: alert().id,
        seq: 100,
        status: 'new',
        events: 20,
        reports: 1,
        src_ip: '203.0.113.10',
        dst_ip: 'p:abcdefghijkl',
        dst_port: 22,
        detail: { targets: ['p:abcdefghijkl', '2001:db8::1'], advice: 'Check what is reachable.' },
      });
      t.same(stored[1]?.raised_at, new Date('2026-12-07T12:00:00.000Z'));
      t.match(
        stored[0],
        { src_ip: '198.51.100.7', dst_ip: 'p:qqqqqqqqqqqq' },
        'destination-keyed: the key on its side',
      );

      await send(payload(100, [alert(), b]));
      t.equal(ctx.counters.alertDuplicates, 1, 'the same batch again is a duplicate');

      await send(payload(105, [alert({ status: 'update', events: 40, severity: 'medium' })]));
      await send(payload(110, [alert({ status: 'final', events: 55, severity: 'medium' })]));
      // A late copy of an earlier report (another seq, e.g. an old batch re-sent): never rolls back.
      await send(payload(103, [alert({ status: 'update', events: 30 })]));
      stored = await rows();
      t.equal(stored.length, 2, 'still one row per alert');
      t.match(stored[1], { seq: 110, status: 'final', events: 55, severity: 'medium', reports: 3 });
      t.match(ctx.counters, {
        alertBatches: 5,
        alertBatchesStored: 4,
        alertDuplicates: 1,
        alertsUpdated: 2,
        alertsStale: 1,
        alertsStoredBy: { 'vertical-scan|low': 1, 'flood|low': 1 },
        quarantined: 0,
      });
      const metrics = renderPrometheus(ingestMetrics(ctx.counters));
      t.match(metrics, /cyberalarm_central_alerts_stored_total\{detector="vertical-scan",severity="low"\} 1/);
      t.match(metrics, /cyberalarm_central_alert_batches_duplicate_total 1/);
      t.match(metrics, /cyberalarm_central_alert_reports_total\{outcome="stale"\} 1/);
    },
  );

  t.test(`${engine}: within one batch the last report of an alert wins`, { skip }, async (t) => {
    const { send, rows } = await setup(t, engine);
    await send(payload(7, [alert(), alert({ status: 'update', events: 99 })]));
    t.match(await rows(), [{ status: 'update', events: 99, reports: 1 }]);
  });

  t.test(
    `${engine}: bad payloads, device mismatch, conflicting copies and junk addresses are quarantined with a reason`,
    async (t) => {
      const { db, ctx, send, rows } = await setup(t, engine);
      await send(Buffer.from('not cbor at all'));
      await send(payload(1, [alert()], 'someone-else'));
      await send(payload(2, [alert({ source: '999.1.1.1' })]));
      await send(payload(3, [alert()]));
      await send(payload(3, [alert({ events: 21 })])); // same seq, other content
      await send(payload(4, [alert({ id: 'other', targets: ['1.2.3.4', '1.2.3'] })]));
      const reasons = await db.query<{ reason: string }>(
        'SELECT reason FROM quarantine WHERE device_id = $1 ORDER BY id',
        [DEVICE],
      );
      t.match(
        reasons.map((r) => r.reason),
        [
          /^alerts: (cbor|schema): /,
          'alerts: device mismatch',
          'alerts: source not an address',
          /^alerts: conflicting copy of sequence 3/,
        ],
      );
      t.equal(ctx.counters.quarantined, 4);
      t.equal(ctx.counters.clearedAddresses, 1, 'a target that is no address is left out and counted');
      const stored = await rows();
      t.same(
        stored.map((r) => [r.alert_id, r.events]),
        [
          ['other', 20],
          [alert().id, 20],
        ],
        'the first copy of seq 3 stays',
      );
      t.same(stored[0]?.detail.targets, ['1.2.3.4']);
      const [device] = await db.query<{ bad_batches: number }>(
        'SELECT bad_batches FROM devices WHERE device_id = $1',
        [DEVICE],
      );
      t.equal(device?.bad_batches, 4, 'bad alert batches count against the device');
    },
  );
}
