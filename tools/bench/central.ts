/**
 * `npm run bench -- central [--devices 1000] [--events 500] [--batches 3] [--connections 4]
 *   [--paced-s 15] [--cpu-prof]`: ingest throughput of central's stateless workers.
 *
 * 1,000 simulated devices — each its own certificate from central's CA and its own TLS connection,
 * MQTT v5, QoS 1, one batch in flight like the appliance's uplink — publish realistic batches (demo
 * traffic parsed by the appliance's parsers, 500 events each) through a real Mosquitto (the
 * configuration `broker-config` writes) into real PostgreSQL (a database of its own, dropped after).
 * Devices are bound to 1,000 members in 10 forces; the report rollups are built by central's background
 * rollup job, not by the workers, so they are not part of this figure.
 *
 * Phases: a burst with 1 worker, the same burst with 2 workers (events/s stored, from the first
 * publish to the last commit), then a paced phase at half the 2-worker rate for lag under normal
 * load (a burst's lag is mostly queueing). "Per worker core" divides stored events by the CPU seconds
 * the worker processes used (their process_cpu_seconds_total), which is the number that carries to a
 * machine where PostgreSQL and the broker have cores of their own. CPU of Mosquitto, PostgreSQL and
 * this process is read from /proc to show where the time goes on this box.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { parseMessage } from '../../appliance/parse/registry.js';
import { loadOrCreateCa } from '../../central/pki/ca-files.js';
import { openDatabase } from '../../central/store/db.js';
import { migrate } from '../../central/store/migrate.js';
import { encodeBatch } from '../../protocol/codec.js';
import type { ConnectionEvent } from '../../protocol/event.js';
import { uplinkTopic } from '../../protocol/topics.js';
import { issueDeviceCertificate } from '../../provisioning/ca.js';
import {
  CENTRAL_CLI,
  MOSQUITTO,
  type Proc,
  startGeneratedMosquitto,
  startProcess,
  waitFor,
} from '../demo/harness.js';
import { generateTraffic } from '../demo/traffic.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000' },
    events: { type: 'string', default: '500' },
    batches: { type: 'string', default: '3' },
    connections: { type: 'string', default: '4' },
    'paced-s': { type: 'string', default: '15' },
    'cpu-prof': { type: 'boolean', default: false },
  },
});
const DEVICES = Number(values.devices);
const EVENTS = Number(values.events);
const BATCHES = Number(values.batches);
const CONNECTIONS = Number(values.connections);
const PACED_S = Number(values['paced-s']);
const log = (s: string) => process.stderr.write(`${s}\n`);
if (!MOSQUITTO) throw new Error('mosquitto is not installed (scripts/setup.sh installs it)');

const dir = mkdtempSync(join(tmpdir(), 'ca-bench-central-'));
/** Outside `dir`, which is removed at the end. */
const profileDir = join(tmpdir(), `ca-bench-central-profile-${process.pid}`);
const centralDir = join(dir, 'central');
const dbName = `cyberalarm_bench_${process.pid}_${Date.now()}`;
/** The same server the PostgreSQL tests use (test/support/test-databases.ts). */
const POSTGRES_ADMIN_URL = process.env.CYBERALARM_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const adminUrl = new URL(POSTGRES_ADMIN_URL);
const dbUrl = (() => {
  const u = new URL(POSTGRES_ADMIN_URL);
  u.pathname = `/${dbName}`;
  return u.toString();
})();
const admin = new pg.Client({ connectionString: adminUrl.toString() });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);

const cleanups: (() => Promise<unknown>)[] = [];
const workers = new Map<string, Proc>();

/** Realistic event arrays: demo firewall traffic through the appliance's parsers. */
function eventPool(): ConnectionEvent[][] {
  const now = new Date();
  const parsed: ConnectionEvent[] = [];
  for (const line of generateTraffic(40_000, { seed: 5 })) {
    const r = parseMessage(line, now);
    if (r.ok) parsed.push(r.event);
  }
  const pool: ConnectionEvent[][] = [];
  for (let start = 0; pool.length < 64; start = (start + 617) % parsed.length) {
    const batch: ConnectionEvent[] = [];
    for (let i = 0; i < EVENTS; i++) batch.push(parsed[(start + i) % parsed.length]!);
    pool.push(batch);
  }
  return pool;
}

/** CPU seconds (user + system) of a process from /proc/<pid>/stat. */
function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

/** Processes whose command line contains `needle`, or whose name is `comm`. */
function pidsOf(match: { comm?: string; needle?: string }): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (match.comm && readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === match.comm)
        pids.push(Number(entry));
      else if (match.needle && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(match.needle))
        pids.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** CPU used since `before` by the processes matching `match` now (new ones, e.g. backends, from 0). */
const cpuSince = (match: { comm?: string; needle?: string }, before: Map<number, number>) =>
  pidsOf(match).reduce((s, p) => s + procCpuSeconds(p) - (before.get(p) ?? 0), 0);
const cpuSnapshot = (match: { comm?: string; needle?: string }) =>
  new Map(pidsOf(match).map((p) => [p, procCpuSeconds(p)] as const));

async function workerMetric(proc: Proc, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${Number(proc.info.metrics)}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(' ').pop());
  return sum;
}

try {
  // Broker and schema.
  const mosquitto = await startGeneratedMosquitto(join(dir, 'mosquitto'), centralDir);
  const { brokerPort, workerPort, configFile: mosquittoConf } = mosquitto;
  cleanups.push(() => mosquitto.kill());
  const db = await openDatabase(dbUrl, dir);
  await migrate(db);
  const forces = 10;
  await db.query(`INSERT INTO regions (region_id, name) VALUES ('r1', 'Region')`);
  await db.query(
    `INSERT INTO forces (force_id, name, region_id) SELECT 'f' || f, 'Force ' || f, 'r1' FROM generate_series(0, $1 - 1) f`,
    [forces],
  );
  await db.query(
    `INSERT INTO members (member_id, name, force_id, sector)
     SELECT 'm' || d, 'Member ' || d, 'f' || (d % $2), 'sme' FROM generate_series(0, $1 - 1) d`,
    [DEVICES, forces],
  );
  await db.query(
    `INSERT INTO devices (device_id, member_id, first_seen, last_seen)
     SELECT 'bench-' || d, 'm' || d, now(), now() FROM generate_series(0, $1 - 1) d`,
    [DEVICES],
  );
  await db.close();

  // Devices: one certificate and one TLS connection each.
  log(`issuing ${DEVICES} device certificates and connecting them`);
  const ca = await loadOrCreateCa(join(centralDir, 'ca'));
  const clients: MqttClient[] = new Array(DEVICES);
  const connectOne = async (d: number) => {
    const cert = await issueDeviceCertificate(ca, `bench-${d}`);
    clients[d] = await mqtt.connectAsync(`mqtts://localhost:${brokerPort}`, {
      protocolVersion: 5,
      clientId: `bench-${d}`,
      cert: cert.certPem,
      key: cert.keyPem,
      ca: ca.certPem,
      rejectUnauthorized: true,
      reconnectPeriod: 1000,
      keepalive: 300,
    });
  };
  for (let d = 0; d < DEVICES; d += 50)
    await Promise.all(Array.from({ length: Math.min(50, DEVICES - d) }, (_, i) => connectOne(d + i)));
  cleanups.push(() => Promise.all(clients.map((c) => c.endAsync(true))));
  const pool = eventPool();
  const rawPerBatch = pool.map((b) => b.reduce((s, e) => s + (e.count ?? 1), 0));
  log(`${DEVICES} devices connected; batches of ${EVENTS} parsed events (${pool.length} variants)`);

  const startWorker = async (id: string, profile: boolean) => {
    const args = [
      CENTRAL_CLI,
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
      String(CONNECTIONS),
      '--metrics-port',
      '0',
      '--log-level',
      'warn',
    ];
    const proc = await startProcess(
      args[0]!,
      args.slice(1),
      60_000,
      profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    );
    workers.set(id, proc);
    return proc;
  };
  const stopWorkers = async () => {
    for (const w of workers.values()) await w.kill('SIGTERM');
    workers.clear();
  };

  const check = new pg.Client({ connectionString: dbUrl });
  await check.connect();
  cleanups.push(() => check.end());
  const phaseStats = async (seqFrom: number, seqTo: number) => {
    const { rows } = await check.query<{
      batches: number;
      raw: string;
      first_ms: number;
      last_ms: number;
      p50_ms: number;
      p99_ms: number;
    }>(
      `SELECT count(*)::int AS batches, coalesce(sum(raw_events), 0)::text AS raw,
         extract(epoch FROM min(created)) * 1000 AS first_ms, extract(epoch FROM max(received_at)) * 1000 AS last_ms,
         extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY received_at - created)) * 1000 AS p50_ms,
         extract(epoch FROM percentile_cont(0.99) WITHIN GROUP (ORDER BY received_at - created)) * 1000 AS p99_ms
       FROM batches WHERE seq >= $1 AND seq < $2`,
      [seqFrom, seqTo],
    );
    return rows[0]!;
  };

  let phaseNo = 0;
  /** Every device publishes `perDevice` batches, one in flight each; `intervalMs` paces them. */
  const runPhase = async (name: string, workerCount: number, perDevice: number, intervalMs = 0) => {
    const seqFrom = ++phaseNo * 1_000_000;
    const ids = Array.from({ length: workerCount }, (_, i) => `bench-w${i}`);
    const procs = [];
    // Worker ids are reused across phases: a stopped worker's session would otherwise keep its
    // share of the group's messages (see docs/DEPLOY.md).
    for (const id of ids)
      procs.push(await startWorker(id, values['cpu-prof'] === true && name === 'burst-1-worker'));
    const pgMatch = { comm: 'postgres' };
    const mqMatch = { needle: mosquittoConf };
    const cpu0 = {
      workers: await Promise.all(procs.map((p) => workerMetric(p, 'process_cpu_seconds_total'))),
      postgres: cpuSnapshot(pgMatch),
      mosquitto: cpuSnapshot(mqMatch),
      bench: process.cpuUsage(),
    };
    const started = Date.now();
    const expected = DEVICES * perDevice;
    let expectedRaw = 0;
    let published = 0;
    await Promise.all(
      clients.map(async (client, d) => {
        if (intervalMs > 0) await new Promise((r) => setTimeout(r, Math.random() * intervalMs));
        for (let i = 0; i < perDevice; i++) {
          const due = started + i * intervalMs;
          if (intervalMs > 0 && Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
          const variant = (d * 7 + i) % pool.length;
          const payload = encodeBatch({
            v: 1,
            device: `bench-${d}`,
            seq: seqFrom + i,
            created: Date.now(),
            events: pool[variant]!,
          });
          expectedRaw += rawPerBatch[variant]!;
          await client.publishAsync(uplinkTopic(`bench-${d}`, 'events'), Buffer.from(payload), { qos: 1 });
          if (++published % 500 === 0)
            log(`  ${name}: ${published}/${expected} batches acknowledged by the broker`);
        }
      }),
    );
    await waitFor(
      `${name}: all batches committed`,
      async () => {
        const { rows } = await check.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM batches WHERE seq >= $1 AND seq < $2',
          [seqFrom, seqFrom + 1_000_000],
        );
        return rows[0]!.n >= expected ? true : undefined;
      },
      600_000,
      250,
    );
    const stats = await phaseStats(seqFrom, seqFrom + 1_000_000);
    const workerCpu = (await Promise.all(procs.map((p) => workerMetric(p, 'process_cpu_seconds_total')))).map(
      (v, i) => v - cpu0.workers[i]!,
    );
    const bench = process.cpuUsage(cpu0.bench);
    const seconds = (stats.last_ms - started) / 1000;
    const events = Number(stats.raw);
    const workerCpuS = workerCpu.reduce((a, b) => a + b, 0);
    const result = {
      phase: name,
      workers: workerCount,
      batches: stats.batches,
      events,
      eventsExpected: expectedRaw,
      seconds: Number(seconds.toFixed(2)),
      eventsPerS: Math.round(events / seconds),
      eventsPerWorkerCpuS: Math.round(events / workerCpuS),
      lagP50Ms: Math.round(stats.p50_ms),
      lagP99Ms: Math.round(stats.p99_ms),
      cpuS: {
        workers: Number(workerCpuS.toFixed(1)),
        postgres: Number(cpuSince(pgMatch, cpu0.postgres).toFixed(1)),
        mosquitto: Number(cpuSince(mqMatch, cpu0.mosquitto).toFixed(1)),
        benchDevices: Number(((bench.user + bench.system) / 1e6).toFixed(1)),
      },
    };
    log(JSON.stringify(result));
    if (stats.batches !== expected || events !== expectedRaw)
      throw new Error(
        `${name}: stored ${stats.batches} batches / ${events} events, expected ${expected} / ${expectedRaw}`,
      );
    await stopWorkers();
    return result;
  };

  const one = await runPhase('burst-1-worker', 1, BATCHES);
  const two = await runPhase('burst-2-workers', 2, BATCHES);
  const pacedRate = two.eventsPerS / 2; // events/s, half the measured capacity
  const intervalMs = (DEVICES * EVENTS * 1000) / pacedRate;
  const paced = await runPhase(
    'paced-2-workers',
    2,
    Math.max(1, Math.round((PACED_S * 1000) / intervalMs)),
    intervalMs,
  );
  if (values['cpu-prof']) log(`CPU profile of the 1-worker phase in ${profileDir}`);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'central',
      devices: DEVICES,
      eventsPerBatch: EVENTS,
      connectionsPerWorker: CONNECTIONS,
      cores: (await import('node:os')).availableParallelism(),
      oneWorker: one,
      twoWorkers: two,
      paced,
      eventsPerWorkerCore: Math.round((one.eventsPerWorkerCpuS + two.eventsPerWorkerCpuS) / 2),
      lagP99MsPaced: paced.lagP99Ms,
    })}\n`,
  );
} finally {
  for (const w of workers.values()) await w.kill('SIGKILL');
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}
