/**
 * `cyberalarm-central report --member` and `member set-email` as an operator runs them (the built
 * CLI): on a stopped central's PGlite directory they open the database; while central runs on it
 * they go through its admin API. The device report (`--device`) keeps its behaviour.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { openDatabase } from '../central/store/db.js';
import { migrate } from '../central/store/migrate.js';
import { CENTRAL_CLI, runCli, startCentralProcess } from '../tools/demo/harness.js';
import { loadMemberReportFixture } from './support/member-report-fixture.js';

const FROM = '2025-03-01T00:00:00Z';
const TO = '2025-03-08T00:00:00Z';
const lastLine = (out: string) =>
  JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;

t.test('member report and set-email from the command line', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ca-member-report-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const db = await openDatabase(undefined, dataDir);
  await migrate(db);
  await loadMemberReportFixture(db);
  await db.close();

  t.same(
    lastLine(
      await runCli(CENTRAL_CLI, [
        'member',
        'set-email',
        '--member',
        'm1',
        '--email',
        'it@acme.example',
        '--data-dir',
        dataDir,
      ]),
    ),
    { event: 'member-email', memberId: 'm1', email: 'it@acme.example' },
  );
  const htmlFile = join(dataDir, 'report.html');
  const written = lastLine(
    await runCli(CENTRAL_CLI, [
      'report',
      '--member',
      'm1',
      '--from',
      FROM,
      '--to',
      TO,
      '--out',
      htmlFile,
      '--data-dir',
      dataDir,
    ]),
  );
  t.equal(written.format, 'html');
  const html = readFileSync(htmlFile, 'utf8');
  for (const id of [
    'summary',
    'alerts',
    'allowed-traffic',
    'top-sources',
    'services',
    'devices',
    'comparison',
    'data-gaps',
  ])
    t.match(html, `<section id="${id}">`);
  t.notOk(html.includes('<script'), 'inert');
  // The offline database is installed as an optional dependency: the documentation ranges stay unknown.
  t.match(html, 'IP location data:');

  const device = JSON.parse(
    await runCli(CENTRAL_CLI, [
      'report',
      '--device',
      'dev-1a',
      '--from',
      FROM,
      '--to',
      TO,
      '--json',
      '--data-dir',
      dataDir,
    ]),
  ) as { totalEvents: number };
  t.equal(device.totalEvents, 117, 'the device report as before');

  if (existsSync('/usr/bin/chromium')) {
    const pdfFile = join(dataDir, 'report.pdf');
    await runCli(CENTRAL_CLI, [
      'report',
      '--member',
      'm1',
      '--from',
      FROM,
      '--to',
      TO,
      '--format',
      'pdf',
      '--out',
      pdfFile,
      '--data-dir',
      dataDir,
    ]);
    t.equal(readFileSync(pdfFile).subarray(0, 4).toString('latin1'), '%PDF');
  }
  await t.rejects(
    runCli(CENTRAL_CLI, [
      'report',
      '--member',
      'm1',
      '--format',
      'pdf',
      '--out',
      join(dataDir, 'x.pdf'),
      '--chromium-path',
      '/nonexistent',
      '--data-dir',
      dataDir,
    ]),
    { stderr: /PDF reports need Chromium at \/nonexistent/, code: 2 },
  );
  await t.rejects(runCli(CENTRAL_CLI, ['report', '--member', 'nobody', '--data-dir', dataDir]), {
    stderr: /no member "nobody"/,
    code: 2,
  });

  // While central runs on the same directory: through its API.
  const central = await startCentralProcess(dataDir, [
    '--report-interval-days',
    '0',
    // The fixture is from 2025: retention must not drop its day partitions.
    '--retention-days',
    '36500',
  ]);
  t.teardown(() => central.kill());
  t.same(
    lastLine(
      await runCli(CENTRAL_CLI, [
        'member',
        'set-email',
        '--member',
        'm2',
        '--email',
        'office@charity.example',
        '--data-dir',
        dataDir,
      ]),
    ),
    { event: 'member-email', memberId: 'm2', email: 'office@charity.example' },
  );
  const live = await runCli(CENTRAL_CLI, [
    'report',
    '--member',
    'm1',
    '--from',
    FROM,
    '--to',
    TO,
    '--data-dir',
    dataDir,
  ]);
  const stamp = (page: string) => page.replace(/Made by CyberAlarm on [^.]*\./, '');
  t.equal(stamp(live), stamp(html), 'the same page through the running central');
  await t.rejects(
    runCli(CENTRAL_CLI, ['member', 'set-email', '--member', 'm2', '--email', 'nope', '--data-dir', dataDir]),
    { stderr: /not an e-mail address/, code: 2 },
  );
});
