/**
 * Member report: time to build the HTML (store queries + render) and the PDF, on a generated
 * dataset in PGlite (or PostgreSQL with --db URL).
 *
 * Dataset: 30 members of 3 forces, one appliance each, 7 days; the reported member's appliance holds
 * `--records` flow records (default 300,000, each a summary of 1-20 connections) from 2,000
 * outside sources to 50 pseudonymous hosts on 40 ports, 90 % blocked; the other members share some
 * of those sources (the comparison's work); 200 alerts, 300 campaign findings, 20 loss records.
 * Stored as central stores them (events with batches, then the rollup job).
 *
 * `npm run bench -- reports [--records N] [--runs N] [--db postgres://…]`; one JSON line:
 * html p50/p95 ms over --runs, the PDF's time with a fresh browser (what the CLI pays) and with a
 * warm one (what the schedule pays per member after the first), the sizes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadIpEnricher } from '../../central/report/ip-enrichment.js';
import { memberReportData } from '../../central/report/member-report-data.js';
import { renderMemberReportHtml } from '../../central/report/member-report-page.js';
import { DEFAULT_CHROMIUM, openPdfRenderer, pdfUnavailable, renderPdf } from '../../central/report/pdf.js';
import { openDatabase } from '../../central/store/db.js';
import { migrate } from '../../central/store/migrate.js';
import { runRollups } from '../../central/store/rollup-job.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '300000' },
    runs: { type: 'string', default: '20' },
    db: { type: 'string', default: '' },
  },
});
const records = Number(values.records);
const runs = Number(values.runs);
const FROM = new Date('2025-03-01T00:00:00Z');
const TO = new Date('2025-03-08T00:00:00Z');
const log = (msg: string) => process.stderr.write(`${msg}\n`);

const dir = mkdtempSync(join(tmpdir(), 'bench-reports-'));
const db = await openDatabase(values.db || undefined, dir);
try {
  await migrate(db);
  const started = performance.now();
  await db.exec(`
    INSERT INTO forces (force_id, name) SELECT 'f' || i, 'Force ' || i FROM generate_series(1, 3) i;
    INSERT INTO members (member_id, name, force_id) SELECT 'm' || i, 'Member ' || i, 'f' || (i % 3 + 1)
      FROM generate_series(1, 30) i;
    INSERT INTO devices (device_id, member_id, first_seen, last_seen)
      SELECT 'dev-' || i, 'm' || i, '2025-02-01', '2025-03-08' FROM generate_series(1, 30) i;
    -- One batch per device per 10 minutes (the reported member's device: every minute).
    INSERT INTO batches (device_id, seq, created, received_at, events, raw_events)
      SELECT 'dev-1', s, t, t, 0, 0 FROM generate_series(0, 7 * 1440 - 1) s,
        LATERAL (SELECT '2025-03-01T00:00:00Z'::timestamptz + s * interval '1 minute' AS t) x
      WHERE NOT (s BETWEEN 3000 AND 3400);
    INSERT INTO batches (device_id, seq, created, received_at, events, raw_events)
      SELECT 'dev-' || d, s, t, t, 0, 0 FROM generate_series(2, 30) d, generate_series(0, 7 * 144 - 1) s,
        LATERAL (SELECT '2025-03-01T00:00:00Z'::timestamptz + s * interval '10 minutes' AS t) x;
  `);
  // The reported member's flow records, spread over its batches.
  await db.query(
    `INSERT INTO events (device_id, seq, received_at, vendor, src_ip, dst_ip, dst_port, proto, action, count)
     SELECT 'dev-1', b.seq, b.received_at, 'netfilter',
            '198.51.' || (r % 2000 / 250) || '.' || (r % 250), 'p:host' || lpad((r % 50)::text, 8, 'a'),
            (ARRAY[22,23,80,443,445,3389,5900,8080,1433,3306])[1 + r % 10] + (r % 4) * 1000,
            CASE WHEN r % 7 = 0 THEN 'udp' ELSE 'tcp' END,
            CASE WHEN r % 10 = 0 THEN 'allow' ELSE 'deny' END, 1 + r % 20
       FROM generate_series(1, $1::int) r
       JOIN batches b ON b.device_id = 'dev-1' AND b.seq = (r::int8 * 7919) % (7 * 1440)`,
    [records],
  );
  await db.query(
    `INSERT INTO events (device_id, seq, received_at, vendor, src_ip, dst_ip, dst_port, proto, action, count)
     SELECT b.device_id, b.seq, b.received_at, 'netfilter', '198.51.' || (r % 8) || '.' || (r % 250),
            'p:other' || lpad((r % 20)::text, 7, 'a'), 22, 'tcp', 'deny', 1
       FROM batches b, generate_series(1, 5) r WHERE b.device_id <> 'dev-1'`,
  );
  await db.query(
    `INSERT INTO alerts (device_id, seq, raised_at, received_at, detector, severity, src_ip, dst_ip, dst_port, summary,
       detail, alert_id, kind, status, label, key_role, first_seen, last_seen, events)
     SELECT 'dev-1', i, t, t, (ARRAY['vertical-scan','brute-force','horizontal-scan'])[1 + i % 3],
            (ARRAY['low','medium','high'])[1 + i % 3], '198.51.' || (i % 8) || '.' || (i % 250), 'p:hostaaaaaaaa',
            3389, 'Alert ' || i || ' <b>summary</b>',
            '{"targets":["p:hostaaaaaaaa"],"ports":[3389,22],"advice":"Close the port."}'::jsonb,
            'a' || i, 'k', 'final', 'targeted', 'source', t, t + interval '5 minutes', 100
       FROM generate_series(1, 200) i, LATERAL (SELECT '2025-03-01'::timestamptz + i * interval '50 minutes' AS t) x`,
  );
  await db.query(
    `INSERT INTO findings (kind, subject, scope, src_ip, members, forces, events, first_seen, last_seen, range_from,
       range_to, created_at, updated_at)
     SELECT 'campaign', s, 'nation', s, 5, 2, 100, '2025-03-02', '2025-03-06', '2025-03-02', '2025-03-06', now(), now()
       FROM (SELECT '198.51.' || (i % 8) || '.' || (i % 250) AS s FROM generate_series(1, 300) i) q`,
  );
  await db.query(
    `INSERT INTO loss_records (device_id, seq, reason, count, first_ts, last_ts)
     SELECT 'dev-1', i, 'outbox-full', 100, '2025-03-03'::timestamptz + i * interval '1 hour',
            '2025-03-03'::timestamptz + i * interval '1 hour' + interval '5 minutes' FROM generate_series(1, 20) i`,
  );
  await runRollups(db);
  log(`dataset: ${records} records in ${Math.round(performance.now() - started)} ms`);

  const enricherStarted = performance.now();
  const enricher = loadIpEnricher();
  const enricherLoadMs = Math.round(performance.now() - enricherStarted);
  const times: number[] = [];
  let html = '';
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const data = await memberReportData(db, { memberId: 'm1', from: FROM, to: TO, enricher });
    html = renderMemberReportHtml(data);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const pct = (p: number) => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? 0);
  let pdfColdMs: number | null = null;
  let pdfWarmMs: number | null = null;
  let pdfBytes: number | null = null;
  const why = await pdfUnavailable(DEFAULT_CHROMIUM);
  if (why) log(why);
  else {
    const t0 = performance.now();
    pdfBytes = (await renderPdf(html)).byteLength;
    pdfColdMs = Math.round(performance.now() - t0);
    const renderer = await openPdfRenderer();
    try {
      await renderer.render(html);
      const t1 = performance.now();
      for (let i = 0; i < 3; i++) await renderer.render(html);
      pdfWarmMs = Math.round((performance.now() - t1) / 3);
    } finally {
      await renderer.close();
    }
  }
  process.stdout.write(
    `${JSON.stringify({
      bench: 'reports',
      engine: db.kind,
      records,
      runs,
      htmlP50Ms: pct(0.5),
      htmlP95Ms: pct(0.95),
      htmlBytes: Buffer.byteLength(html),
      enricherLoadMs,
      enrichment: enricher.available,
      pdfColdMs,
      pdfWarmMs,
      pdfBytes,
    })}\n`,
  );
} finally {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}
