/** Heartbeats through the one ingest entry into device_health, on both engines. */
import t, { type Test } from 'tap';
import { createLogger } from '../../common/logger.js';
import { renderPrometheus } from '../../common/metrics.js';
import { sampleHealth } from '../../protocol/health.fixture.js';
import { encodeHealthReport } from '../../protocol/health.js';
import { uplinkTopic } from '../../protocol/topics.js';
import { type Engine, freshDatabase, postgresReachable } from '../../test/support/test-databases.js';
import { ingestMetrics } from '../portal/metrics.js';
import { BadBatchTracker } from './flag-device.js';
import { type IngestContext, ingestMessage } from './ingest.js';
import { newIngestCounters, newIngestWindows } from './ingest-counters.js';

const DEVICE = 'dev-health';
const pgUp = await postgresReachable();

async function setup(t: Test, engine: Engine) {
  const { db } = await freshDatabase(t, engine);
  const ctx: IngestContext = {
    db,
    counters: newIngestCounters(),
    windows: newIngestWindows(),
    badBatches: new BadBatchTracker({ threshold: 2, windowMs: 60_000 }),
    logger: createLogger('test', 'silent'),
  };
  const send = (payload: Uint8Array, deviceId = DEVICE) =>
    ingestMessage(ctx, { topic: uplinkTopic(deviceId, 'health'), payload, deviceId });
  return { db, ctx, send };
}

for (const engine of ['pglite', 'postgres'] as const) {
  const skip = engine === 'postgres' && !pgUp ? 'PostgreSQL at 127.0.0.1:5432 is unreachable' : false;

  t.test(`${engine}: a heartbeat is stored once, every field in its column`, { skip }, async (t) => {
    const { db, ctx, send } = await setup(t, engine);
    const at = Date.now() - 5_000;
    const report = sampleHealth({
      device: DEVICE,
      at,
      uplink: { lastUploadAt: at - 1000, restarts: 2, connects: 3 },
    });
    await send(encodeHealthReport(report));
    await send(encodeHealthReport(report)); // a redelivery after a lost PUBACK
    const rows = await db.query<Record<string, unknown>>(
      `SELECT device_id, reported_at, version, uptime_s::int AS uptime_s, cpu_load_pct, memory_used_pct,
              disk_used_pct, temperature_c, outbox_depth_events::int AS outbox_depth_events,
              lost_events::int AS lost_events, disk_total_bytes::float8 AS disk_total_bytes,
              disk_free_bytes::float8 AS disk_free_bytes, outbox_depth_bytes::int AS outbox_depth_bytes,
              outbox_state, last_upload_at, uplink_restarts::int AS uplink_restarts,
              uplink_connects::int AS uplink_connects, detection_enabled, source_count, active_sources,
              source_formats, parsed_total::int AS parsed_total, unparsed_total::int AS unparsed_total
         FROM device_health WHERE device_id = $1`,
      [DEVICE],
    );
    t.equal(rows.length, 1, 'the redelivery wrote nothing');
    t.match(rows[0], {
      device_id: DEVICE,
      version: '0.9.0',
      uptime_s: 86_400,
      memory_used_pct: 62.5,
      disk_used_pct: 37.5,
      outbox_depth_events: 0,
      lost_events: 0,
      disk_total_bytes: 32e9,
      disk_free_bytes: 20e9,
      outbox_state: 'ok',
      uplink_restarts: 2,
      uplink_connects: 3,
      detection_enabled: true,
      source_count: 2,
      active_sources: 2,
      source_formats: { fortinet_fortigate: 1, unknown: 1 },
      parsed_total: 10_000,
      unparsed_total: 12,
    });
    const row = rows[0] ?? {};
    t.equal((row.reported_at as Date).getTime(), at, "reported_at is the device's time");
    t.equal((row.last_upload_at as Date).getTime(), at - 1000);
    t.ok(Math.abs((row.cpu_load_pct as number) - 12.5) < 0.01);
    t.ok(Math.abs((row.temperature_c as number) - 51.2) < 0.01);
    t.match(ctx.counters, { healthReports: 2, healthStored: 1, healthDuplicates: 1, quarantined: 0 });
    const [device] = await db.query('SELECT 1 FROM devices WHERE device_id = $1', [DEVICE]);
    t.equal(device, undefined, 'a heartbeat is not data: devices.last_seen is not touched');
    const metrics = renderPrometheus(ingestMetrics(ctx.counters));
    t.match(metrics, /cyberalarm_central_health_stored_total\{outcome="stored"\} 1/);
    t.match(metrics, /cyberalarm_central_health_stored_total\{outcome="duplicate"\} 1/);
    t.match(metrics, /cyberalarm_central_health_reports_total 2/);
  });

  t.test(
    `${engine}: a clock far off is replaced by the receipt time; nulls stay null`,
    { skip },
    async (t) => {
      const { db, ctx, send } = await setup(t, engine);
      const before = Date.now();
      await send(
        encodeHealthReport(
          sampleHealth({
            device: DEVICE,
            at: 0,
            memory: null,
            disk: null,
            temperatureC: null,
            uptimeS: null,
          }),
        ),
      );
      const [row] = await db.query<{
        reported_at: Date;
        temperature_c: number | null;
        disk_used_pct: number | null;
      }>('SELECT reported_at, temperature_c, disk_used_pct FROM device_health WHERE device_id = $1', [
        DEVICE,
      ]);
      t.ok(row && row.reported_at.getTime() >= before, 'stored at the receipt time');
      t.equal(row?.temperature_c, null, 'no sensor: null');
      t.equal(row?.disk_used_pct, null);
      t.equal(ctx.counters.healthTimesReplaced, 1);
    },
  );

  t.test(
    `${engine}: bad heartbeats are quarantined with a reason, not held against the device`,
    { skip },
    async (t) => {
      const { db, ctx, send } = await setup(t, engine);
      await send(new Uint8Array([0xff, 0x00]));
      await send(encodeHealthReport(sampleHealth({ device: 'someone-else', at: Date.now() })));
      await send(encodeHealthReport(sampleHealth({ device: DEVICE, at: Date.now() })).subarray(0, 20));
      const reasons = await db.query<{ reason: string; topic: string }>(
        'SELECT reason, topic FROM quarantine WHERE device_id = $1 ORDER BY id',
        [DEVICE],
      );
      t.equal(reasons.length, 3);
      t.match(reasons[0]?.reason, /^health: cbor: /);
      t.equal(reasons[1]?.reason, 'health: device mismatch');
      t.match(reasons[2]?.reason, /^health: cbor: truncated/);
      t.ok(reasons.every((r) => r.topic === uplinkTopic(DEVICE, 'health')));
      const [device] = await db.query<{ bad_batches: number; flagged: boolean }>(
        'SELECT bad_batches, flagged FROM devices WHERE device_id = $1',
        [DEVICE],
      );
      t.same(device, { bad_batches: 0, flagged: false }, 'the threshold is 2, yet the device is not flagged');
      t.equal(ctx.counters.quarantined, 3);
      t.equal(ctx.counters.healthStored, 0);
      const [stored] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM device_health');
      t.equal(stored?.n, 0);
    },
  );
}
