/**
 * Two stateless ingest workers (`cyberalarm-central worker`, separate processes) on one shared
 * subscription of a real Mosquitto (the configuration `broker-config` writes) storing into real
 * PostgreSQL (a database of this test's own). Simulated devices, each with its own certificate from
 * central's CA, publish real CBOR batches at MQTT v5 QoS 1.
 *
 * 1. Every batch the broker acknowledged is stored exactly once, both workers take a share, and a
 *    device sending garbage is quarantined and flagged without holding up the others.
 * 2. One worker is killed with SIGKILL while batches flow. Mosquitto 2.0 keeps the dead member's
 *    persistent session: its unacknowledged batches, and its share of what arrives while it is down,
 *    wait in that session (they are NOT handed to the surviving member). Restarting the worker with
 *    the same id delivers them; the unique (device, seq) absorbs the redelivered ones. The test
 *    records how much was stored before the restart, then asserts exactly-once after it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import t from 'tap';
import { loadOrCreateCa } from '../central/pki/ca-files.js';
import type { Batch } from '../protocol/batch.js';
import { encodeBatch } from '../protocol/codec.js';
import type { ConnectionEvent } from '../protocol/event.js';
import { uplinkTopic } from '../protocol/topics.js';
import { issueDeviceCertificate } from '../provisioning/ca.js';
import {
  CENTRAL_CLI,
  MOSQUITTO,
  type Proc,
  startGeneratedMosquitto,
  startProcess,
  waitFor,
} from '../tools/demo/harness.js';
import { createPostgresDatabase, postgresReachable } from './support/test-databases.js';

const pgUp = await postgresReachable();
const skip = !MOSQUITTO
  ? 'mosquitto is not installed'
  : !pgUp
    ? 'PostgreSQL is not running on 127.0.0.1:5432'
    : false;
if (skip && process.env.CI === 'true') t.fail(`CI must run the shared-workers test: ${skip}`);

const DEVICES = 6;
const FLAG_AFTER = 5;

function events(device: number, seq: number): ConnectionEvent[] {
  const n = 20 + ((device * 7 + seq) % 40); // 20-59 events: batches of different sizes
  const out: ConnectionEvent[] = [];
  for (let i = 0; i < n; i++)
    out.push({
      ts: new Date(Date.now() - i * 1000).toISOString(),
      vendor: 'netfilter',
      src_ip: `203.0.113.${(seq + i) % 250}`,
      src_port: 40000 + i,
      dst_ip: '192.168.1.10',
      dst_port: [22, 443, 3389][i % 3]!,
      proto: 'tcp',
      action: i % 2 ? 'deny' : 'allow',
      count: 1 + (i % 3),
    });
  return out;
}

interface Device {
  readonly id: string;
  readonly client: MqttClient;
  nextSeq: number;
}

t.test('two workers on one shared subscription; one SIGKILLed mid-stream', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ca-e2e-workers-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dbUrl = await createPostgresDatabase(t, 'cyberalarm_workers');
  const centralDir = join(dir, 'central');
  const mosquitto = await startGeneratedMosquitto(join(dir, 'mosquitto'), centralDir);
  const { brokerPort, workerPort } = mosquitto;
  t.teardown(() => mosquitto.kill());

  const workers = new Map<string, Proc>();
  const startWorker = async (id: string) => {
    const proc = await startProcess(CENTRAL_CLI, [
      'worker',
      '--data-dir',
      centralDir,
      '--db',
      dbUrl,
      '--broker-url',
      `mqtts://localhost:${workerPort}`,
      '--worker-id',
      id,
      '--connections',
      '2',
      '--metrics-port',
      '0',
      '--flag-after-bad-batches',
      String(FLAG_AFTER),
      '--log-level',
      'warn',
    ]);
    workers.set(id, proc);
    return proc;
  };
  // Registered before the database drop's teardown runs (teardowns run in reverse order).
  t.teardown(async () => {
    for (const w of workers.values()) await w.kill('SIGKILL');
  });
  await startWorker('worker-a');
  await startWorker('worker-b');

  const check = new pg.Client({ connectionString: dbUrl });
  await check.connect();
  t.teardown(() => check.end());
  const stored = async () => {
    const { rows } = await check.query<{
      batches: number;
      distinct_batches: number;
      events: number;
      raw: number;
    }>(
      `SELECT count(*)::int AS batches,
              count(DISTINCT (device_id, seq))::int AS distinct_batches,
              coalesce(sum(events), 0)::int AS events,
              coalesce(sum(raw_events), 0)::int AS raw
       FROM batches`,
    );
    return rows[0]!;
  };

  const ca = await loadOrCreateCa(join(centralDir, 'ca'));
  const connect = async (id: string) => {
    const cert = await issueDeviceCertificate(ca, id);
    return mqtt.connectAsync(`mqtts://localhost:${brokerPort}`, {
      protocolVersion: 5,
      clientId: id,
      cert: cert.certPem,
      key: cert.keyPem,
      ca: ca.certPem,
      rejectUnauthorized: true,
      reconnectPeriod: 0,
    });
  };
  const devices: Device[] = [];
  for (let d = 0; d < DEVICES; d++)
    devices.push({ id: `shared-dev-${d}`, client: await connect(`shared-dev-${d}`), nextSeq: 0 });
  t.teardown(() => Promise.all(devices.map((d) => d.client.endAsync())));

  /** What the broker acknowledged: the batches central owes us. */
  const acked = { batches: 0, events: 0, raw: 0 };
  const publish = async (device: Device, count: number, pauseMs = 0) => {
    for (let i = 0; i < count; i++) {
      const seq = device.nextSeq++;
      const batch: Batch = {
        v: 1,
        device: device.id,
        seq,
        created: Date.now(),
        events: events(devices.indexOf(device), seq),
      };
      await device.client.publishAsync(uplinkTopic(device.id, 'events'), Buffer.from(encodeBatch(batch)), {
        qos: 1,
      });
      acked.batches++;
      acked.events += batch.events.length;
      acked.raw += batch.events.reduce((s, e) => s + (e.count ?? 1), 0);
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const metric = async (proc: Proc, name: string): Promise<number> => {
    const res = await fetch(`http://127.0.0.1:${Number(proc.info.metrics)}/metrics`);
    const text = await res.text();
    let sum = 0;
    for (const line of text.split('\n'))
      if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(' ').pop());
    return sum;
  };

  await t.test('every batch stored once; both workers share; a bad device is flagged', async (t) => {
    const bad = { id: 'shared-dev-bad', client: await connect('shared-dev-bad'), nextSeq: 0 };
    t.teardown(() => bad.client.endAsync());
    const garbage = async () => {
      for (let i = 0; i < 4 * FLAG_AFTER; i++)
        await bad.client.publishAsync(
          uplinkTopic(bad.id, 'events'),
          Buffer.from([0xa1, 0x61, 0x76, 0x02, i]),
          { qos: 1 },
        );
    };
    await Promise.all([...devices.map((d) => publish(d, 40)), garbage()]);
    const final = await waitFor(
      'every acknowledged batch to be stored',
      async () => {
        const s = await stored();
        return s.batches >= acked.batches ? s : undefined;
      },
      60_000,
    );
    t.equal(final.batches, acked.batches, `${acked.batches} batches stored`);
    t.equal(final.distinct_batches, acked.batches, 'each (device, seq) once');
    t.equal(final.events, acked.events, 'event records match what was sent');
    t.equal(final.raw, acked.raw, 'raw event counts match');
    const rows = await check.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    t.equal(rows.rows[0]?.n, acked.events, 'no event row written twice');

    const a = await metric(workers.get('worker-a')!, 'cyberalarm_central_batches_stored_total');
    const b = await metric(workers.get('worker-b')!, 'cyberalarm_central_batches_stored_total');
    t.equal(a + b, acked.batches, 'the two workers stored them between them');
    t.ok(a > 0 && b > 0, `both workers took a share (a ${a}, b ${b})`);

    const quarantined = await waitFor(
      'the bad batches to be quarantined',
      async () => {
        const q = await check.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM quarantine WHERE device_id = $1',
          [bad.id],
        );
        return q.rows[0]!.n >= 4 * FLAG_AFTER ? q.rows[0]!.n : undefined;
      },
      30_000,
    );
    t.equal(quarantined, 4 * FLAG_AFTER, 'every bad batch quarantined (and acknowledged)');
    const flags = await check.query<{ device_id: string; flagged: boolean }>(
      'SELECT device_id, flagged FROM devices ORDER BY device_id',
    );
    t.same(
      flags.rows.filter((r) => r.flagged).map((r) => r.device_id),
      [bad.id],
      'the device that keeps sending bad batches is flagged, no other',
    );
    const flaggedMetric =
      (await metric(workers.get('worker-a')!, 'cyberalarm_central_devices_flagged_total')) +
      (await metric(workers.get('worker-b')!, 'cyberalarm_central_devices_flagged_total'));
    t.equal(flaggedMetric, 1, 'one worker flagged it and says so in /metrics');
    const lagSamples = await metric(workers.get('worker-a')!, 'cyberalarm_central_ingest_lag_seconds');
    t.ok(lagSamples > 0, 'lag quantiles exposed');
  });

  await t.test(
    'SIGKILL one worker mid-stream, restart it with the same id: still exactly once',
    async (t) => {
      const before = acked.batches;
      const flowing = Promise.all(devices.map((d) => publish(d, 60, 20)));
      await waitFor(
        'batches to be flowing',
        async () => ((await stored()).batches >= before + 60 ? true : undefined),
        30_000,
        50,
      );
      const code = await workers.get('worker-b')!.kill('SIGKILL');
      t.equal(code, null, 'worker-b killed by signal');
      await flowing;
      // Let the survivor take everything it is going to get.
      let last = -1;
      const withoutRestart = await waitFor(
        'the surviving worker to settle',
        async () => {
          const s = await stored();
          if (s.batches === acked.batches || s.batches === last) return s;
          last = s.batches;
          return undefined;
        },
        60_000,
        1500,
      );
      t.comment(
        `with worker-b dead: ${withoutRestart.batches} of ${acked.batches} acknowledged batches stored; ` +
          `${acked.batches - withoutRestart.batches} wait in worker-b's sessions on Mosquitto`,
      );
      await startWorker('worker-b');
      const final = await waitFor(
        'every acknowledged batch to be stored after the restart',
        async () => {
          const s = await stored();
          return s.batches >= acked.batches ? s : undefined;
        },
        60_000,
      );
      // Give redeliveries a moment to arrive, then check nothing was written twice.
      await new Promise((r) => setTimeout(r, 1000));
      const settled = await stored();
      t.equal(settled.batches, acked.batches, `${acked.batches} batches stored in all`);
      t.equal(final.distinct_batches, final.batches, 'each (device, seq) once');
      t.equal(settled.events, acked.events, 'event records match what was sent');
      t.equal(settled.raw, acked.raw, 'raw event counts match');
      const rows = await check.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
      t.equal(rows.rows[0]?.n, acked.events, 'no event row written twice, none lost');
    },
  );
});
