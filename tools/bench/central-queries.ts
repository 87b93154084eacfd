/**
 * `npm run bench -- central-queries [--db postgres://user@host:5432/postgres] [options]`
 *
 * Loads 30 days of synthetic rollups for one force (50 members, 200 devices), computes the force
 * top lists for every day (as the rollup job does when a day changes), stores a sample of raw
 * batches through `storeBatch` (500- and 2000-event batches by default, against the events-only
 * insert as a floor), rolls them up with the rollup job on tables of realistic size (events/s
 * rolled up), then times the member and force report queries over the 30 days.
 * With `--db` (a server URL) it creates a database of its own and drops it at the end; without it,
 * it uses PGlite in a temporary directory with a smaller load (PGlite is one single-threaded WASM
 * process: the figures there are for one box, not the national target).
 *
 * Synthetic shape (per member-hour): ~`sources` draws from a pool of `pool` source addresses skewed
 * towards a few heavy scanners (pool × u³), ~`ports` draws skewed towards low ports, 3 actions × 3
 * protocols per device. Force-day rollups are summed from the member-hour rows, as ingest would
 * have built them.
 *
 * Ends with one JSON line: p50/p95 per report, rows in the rollups, ms per stored batch per batch
 * size, rollup job throughput and top-list refresh time.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { storeBatch } from '../../central/ingest/store-batch.js';
import { forceReport } from '../../central/report/force-report.js';
import { memberReport } from '../../central/report/member-report.js';
import { type Database, openDatabase } from '../../central/store/db.js';
import { migrate } from '../../central/store/migrate.js';
import { ensurePartitions } from '../../central/store/partitions.js';
import { DEFAULT_TOP_K, refreshForceTopLists, runRollups } from '../../central/store/rollup-job.js';
import { encodeBatch } from '../../protocol/codec.js';
import type { ConnectionEvent } from '../../protocol/event.js';
import { uplinkTopic } from '../../protocol/topics.js';

const HOUR_MS = 3_600_000;
const log = (s: string) => process.stderr.write(`${s}\n`);

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)] ?? Number.NaN;
}
const stats = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  const r = (n: number) => Math.round(n * 10) / 10;
  return { p50: r(percentile(sorted, 50)), p95: r(percentile(sorted, 95)), max: r(sorted.at(-1) ?? 0) };
};
async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = process.hrtime.bigint();
  const result = await fn();
  return [result, Number(process.hrtime.bigint() - start) / 1e6];
}

const memberId = (m: number) => `m${String(m).padStart(3, '0')}`;
const deviceId = (d: number) => `dev-${String(d).padStart(4, '0')}`;

async function seed(
  db: Database,
  o: {
    members: number;
    devices: number;
    hours: number;
    start: Date;
    sources: number;
    ports: number;
    pool: number;
  },
) {
  await db.query(`INSERT INTO regions (region_id, name) VALUES ('r1', 'Region')`);
  await db.query(`INSERT INTO forces (force_id, name, region_id) VALUES ('f1', 'Force', 'r1')`);
  await db.query(
    `INSERT INTO members (member_id, name, force_id, sector)
     SELECT 'm' || lpad(m::text, 3, '0'), 'Member ' || m, 'f1', 'sme' FROM generate_series(0, $1 - 1) m`,
    [o.members],
  );
  await db.query(
    `INSERT INTO devices (device_id, member_id, first_seen, last_seen)
     SELECT 'dev-' || lpad(d::text, 4, '0'), 'm' || lpad((d % $2)::text, 3, '0'), $3, $3
     FROM generate_series(0, $1 - 1) d`,
    [o.devices, o.members, o.start],
  );
  await db.query(
    `INSERT INTO rollup_member_hourly_actions (member_id, hour, device_id, action, proto, events)
     SELECT 'm' || lpad((d % $2)::text, 3, '0'), $3::timestamptz + h * interval '1 hour',
       'dev-' || lpad(d::text, 4, '0'), a, p, 1 + floor(random() * 500)::int8
     FROM generate_series(0, $1 - 1) d, generate_series(0, $4 - 1) h,
       unnest(ARRAY['allow', 'deny', 'drop']) a, unnest(ARRAY['tcp', 'udp', 'icmp']) p`,
    [o.devices, o.members, o.start, o.hours],
  );
  for (let m = 0; m < o.members; m++) {
    // Draws inside a derived table: volatile random() is evaluated per row, not once.
    await db.query(
      `INSERT INTO rollup_member_hourly_sources (member_id, hour, src_ip, events)
       SELECT $1, hour, '203.' || (s / 65536) || '.' || ((s / 256) % 256) || '.' || (s % 256), sum(n)
       FROM (SELECT $2::timestamptz + h * interval '1 hour' AS hour,
               floor($5 * power(random(), 3))::int AS s, 1 + floor(random() * 20)::int8 AS n
             FROM generate_series(0, $3 - 1) h, generate_series(1, $4) k) x
       GROUP BY 1, 2, 3`,
      [memberId(m), o.start, o.hours, o.sources, o.pool],
    );
    await db.query(
      `INSERT INTO rollup_member_hourly_ports (member_id, hour, dst_port, proto, events)
       SELECT $1, hour, port, proto, sum(n)
       FROM (SELECT $2::timestamptz + h * interval '1 hour' AS hour,
               1 + floor(65534 * power(random(), 8))::int AS port,
               CASE WHEN random() < 0.8 THEN 'tcp' ELSE 'udp' END AS proto,
               1 + floor(random() * 20)::int8 AS n
             FROM generate_series(0, $3 - 1) h, generate_series(1, $4) k) x
       GROUP BY 1, 2, 3, 4`,
      [memberId(m), o.start, o.hours, o.ports],
    );
    if (m % 10 === 9) log(`  member rollups: ${m + 1}/${o.members}`);
  }
  const day = `date_trunc('day', hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`;
  await db.query(
    `INSERT INTO rollup_force_daily_actions (force_id, day, member_id, action, proto, events)
     SELECT 'f1', ${day}, member_id, action, proto, sum(events) FROM rollup_member_hourly_actions GROUP BY 1, 2, 3, 4, 5`,
  );
  await db.query(
    `INSERT INTO rollup_force_daily_sources (force_id, day, src_ip, events)
     SELECT 'f1', ${day}, src_ip, sum(events) FROM rollup_member_hourly_sources GROUP BY 1, 2, 3`,
  );
  await db.query(
    `INSERT INTO rollup_force_daily_ports (force_id, day, dst_port, proto, events)
     SELECT 'f1', ${day}, dst_port, proto, sum(events) FROM rollup_member_hourly_ports GROUP BY 1, 2, 3, 4`,
  );
}

/** A realistic batch: mostly inbound denies from the skewed source pool, some allowed traffic. */
function batchEvents(n: number, pool: number): ConnectionEvent[] {
  const events: ConnectionEvent[] = [];
  for (let i = 0; i < n; i++) {
    const s = Math.floor(pool * Math.random() ** 3);
    events.push({
      vendor: 'netfilter',
      action: Math.random() < 0.8 ? 'deny' : 'allow',
      src_ip: `203.${s >> 16}.${(s >> 8) & 255}.${s & 255}`,
      src_port: 1024 + Math.floor(Math.random() * 60000),
      dst_ip: '192.0.2.10',
      dst_port: 1 + Math.floor(65534 * Math.random() ** 8),
      proto: Math.random() < 0.8 ? 'tcp' : 'udp',
      ...(Math.random() < 0.3 ? { count: 1 + Math.floor(Math.random() * 10) } : {}),
    });
  }
  return events;
}

/** The events-only insert as it was before rollups (baseline for the per-batch cost). */
async function insertEventsOnly(
  db: Database,
  device: string,
  seq: number,
  at: Date,
  events: ConnectionEvent[],
) {
  await db.transaction((tx) =>
    tx.query(
      `INSERT INTO events (device_id, seq, received_at, vendor, src_ip, src_port, dst_ip, dst_port, proto, action, count)
       SELECT $1, $2, $3, u.* FROM unnest($4::text[], $5::text[], $6::int[], $7::text[], $8::int[], $9::text[],
         $10::text[], $11::int8[]) AS u`,
      [
        device,
        seq,
        at,
        events.map((e) => e.vendor),
        events.map((e) => e.src_ip ?? null),
        events.map((e) => e.src_port ?? null),
        events.map((e) => e.dst_ip ?? null),
        events.map((e) => e.dst_port ?? null),
        events.map((e) => e.proto ?? null),
        events.map((e) => e.action),
        events.map((e) => e.count ?? 1),
      ],
    ),
  );
}

export default async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      db: { type: 'string' },
      days: { type: 'string', default: '30' },
      members: { type: 'string', default: '50' },
      devices: { type: 'string', default: '200' },
      sources: { type: 'string' },
      ports: { type: 'string' },
      pool: { type: 'string', default: '50000' },
      batches: { type: 'string' },
      'batch-events': { type: 'string', default: '500,2000' },
      'top-k': { type: 'string', default: String(DEFAULT_TOP_K) },
      iterations: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const postgres = values.db !== undefined;
  const o = {
    days: Number(values.days),
    members: Number(values.members),
    devices: Number(values.devices),
    // PGlite: a lighter load (fewer distinct sources per hour) so the load finishes in minutes.
    sources: Number(values.sources ?? (postgres ? 100 : 25)),
    ports: Number(values.ports ?? (postgres ? 30 : 10)),
    pool: Number(values.pool),
    batches: Number(values.batches ?? (postgres ? 300 : 60)),
    batchEvents: values['batch-events'].split(',').map(Number),
    topK: Number(values['top-k']),
    iterations: Number(values.iterations ?? (postgres ? 60 : 20)),
  };
  const hours = o.days * 24;
  const nowHour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const start = new Date(nowHour - (hours - 1) * HOUR_MS);

  let cleanup = async () => {};
  let db: Database;
  if (values.db !== undefined) {
    const name = `cyberalarm_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: values.db });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(values.db);
    url.pathname = `/${name}`;
    db = await openDatabase(url.toString(), tmpdir());
    cleanup = async () => {
      await db.close();
      if (values.keep) log(`kept database ${name}`);
      else await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'ca-bench-queries-'));
    db = await openDatabase(undefined, dir);
    cleanup = async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    };
  }

  try {
    await migrate(db);
    await ensurePartitions(db);
    log(`engine ${db.kind}: seeding ${o.days} days, ${o.members} members, ${o.devices} devices`);
    const [, seedMs] = await timed(() => seed(db, { ...o, hours, start }));
    log(`  seeded in ${Math.round(seedMs / 1000)} s`);

    // Every seeded force-day is pending: compute their top lists as the job would.
    await db.query(
      `INSERT INTO rollup_force_days_pending (force_id, day) SELECT DISTINCT force_id, day
       FROM rollup_force_daily_sources ON CONFLICT DO NOTHING`,
    );
    const [forceDays, topRefreshMs] = await timed(() => refreshForceTopLists(db, o.topK));
    const topRefresh = {
      forceDays: forceDays ?? 0,
      msPerForceDay: Math.round((topRefreshMs / Math.max(1, forceDays ?? 1)) * 10) / 10,
    };
    log(`  force top lists (K ${o.topK}): ${JSON.stringify(topRefresh)}`);

    // Raw sample through storeBatch (events only since the rollup job) and, as a floor, the bare
    // events insert; then the rollup job over everything stored.
    const storeBatchMs: Record<string, unknown> = {};
    let seq = 1_000_000;
    let storedEvents = 0;
    for (const size of o.batchEvents) {
      const stored: number[] = [];
      const eventsOnly: number[] = [];
      for (let i = 0; i < o.batches; i++) {
        const device = deviceId(i % o.devices);
        const events = batchEvents(size, o.pool);
        const at = new Date();
        const payload = encodeBatch({ v: 1, device, seq: seq++, created: Date.now(), events });
        const [result, ms] = await timed(() =>
          storeBatch(db, { deviceId: device, topic: uplinkTopic(device, 'events'), payload, receivedAt: at }),
        );
        if (result.status !== 'stored') throw new Error(`batch not stored: ${JSON.stringify(result)}`);
        storedEvents += size;
        stored.push(ms);
        const [, baseMs] = await timed(() => insertEventsOnly(db, device, 2_000_000 + seq, at, events));
        eventsOnly.push(baseMs);
      }
      const s = stats(stored);
      storeBatchMs[String(size)] = {
        storeBatch: s,
        eventsOnlyInsert: stats(eventsOnly),
        eventsPerSAtP50: Math.round((size / s.p50) * 1000),
      };
      log(`  storeBatch ms/batch of ${size} events: ${JSON.stringify(storeBatchMs[String(size)])}`);
    }
    // The events-only rows have no batches row: the job never sees them, as intended.
    const [rollup, rollupMs] = await timed(() => runRollups(db, { topK: o.topK }));
    if (rollup.events !== storedEvents)
      throw new Error(`rolled up ${rollup.events} of ${storedEvents} events`);
    const rollupJob = {
      ...rollup,
      ms: Math.round(rollupMs),
      eventsPerS: Math.round((rollup.events / rollupMs) * 1000),
    };
    log(`  rollup job: ${JSON.stringify(rollupJob)}`);

    if (db.kind === 'postgres') await db.exec('VACUUM ANALYZE');
    else await db.exec('ANALYZE');
    const rows: Record<string, number> = {};
    for (const table of [
      'rollup_member_hourly_actions',
      'rollup_member_hourly_sources',
      'rollup_member_hourly_ports',
      'rollup_force_daily_actions',
      'rollup_force_daily_sources',
      'rollup_force_daily_ports',
      'rollup_force_daily_top_sources',
      'rollup_force_daily_top_ports',
      'events',
    ]) {
      const [row] = await db.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
      rows[table] = row?.n ?? 0;
    }
    log(`  rows: ${JSON.stringify(rows)}`);

    const to = new Date(nowHour + HOUR_MS);
    const from = new Date(to.getTime() - o.days * 24 * HOUR_MS);
    const memberMs: number[] = [];
    const forceMs: number[] = [];
    await memberReport(db, { memberId: memberId(0), from, to, top: 10 }); // warm-up
    await forceReport(db, { forceId: 'f1', from, to, top: 10 });
    for (let i = 0; i < o.iterations; i++) {
      const [report, ms] = await timed(() =>
        memberReport(db, { memberId: memberId(i % o.members), from, to, top: 10 }),
      );
      if (report.totalEvents === 0) throw new Error('member report found nothing');
      memberMs.push(ms);
    }
    for (let i = 0; i < o.iterations; i++) {
      const [report, ms] = await timed(() => forceReport(db, { forceId: 'f1', from, to, top: 10 }));
      if (report.totalEvents === 0) throw new Error('force report found nothing');
      forceMs.push(ms);
    }
    const result = {
      bench: 'central-queries',
      engine: db.kind,
      ...o,
      seedS: Math.round(seedMs / 1000),
      rows,
      storeBatchMs,
      rollupJob,
      topRefresh,
      memberReportMs: stats(memberMs),
      forceReportMs: stats(forceMs),
    };
    log(`  member report ms: ${JSON.stringify(result.memberReportMs)}`);
    log(`  force report ms: ${JSON.stringify(result.forceReportMs)}`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await cleanup();
  }
}

// Run directly (as bench/run.ts spawns it) or imported by a runner that calls run(args).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await run(process.argv.slice(2));
}
