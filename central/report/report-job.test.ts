/**
 * The schedule end to end on PGlite: a due member's report is archived, rendered to PDF by Chromium
 * and mailed through a real SMTP server (smtp-server, started here); the message, its recipient and
 * its PDF attachment are checked. A second run sends nothing (the archive says it is done), and a
 * member without an address gets an archived report but no e-mail.
 */
import { existsSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import t, { type Test } from 'tap';
import { loadMemberReportFixture } from '../../test/support/member-report-fixture.js';
import { freshDatabase } from '../../test/support/test-databases.js';
import { UNKNOWN_ENRICHER } from './ip-enrichment.js';
import { DEFAULT_CHROMIUM, PdfUnavailableError, renderPdf } from './pdf.js';
import { archivedReports, setMemberEmail } from './report-archive.js';
import { runReportSchedule } from './report-job.js';

const noChromium = existsSync(DEFAULT_CHROMIUM) ? false : `${DEFAULT_CHROMIUM} is missing (scripts/setup.sh)`;
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

interface Received {
  readonly from: string;
  readonly to: readonly string[];
  readonly raw: Buffer;
}

async function startSmtp(t: Test): Promise<{ url: string; messages: Received[] }> {
  const messages: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `smtp://127.0.0.1:${port}`, messages };
}

t.test('scheduled report: archived, PDF attached, mailed once', { skip: noChromium }, async (t) => {
  const { db } = await freshDatabase(t, 'pglite');
  await loadMemberReportFixture(db);
  t.equal(await setMemberEmail(db, 'm1', 'security@acme.example'), true);
  await t.rejects(setMemberEmail(db, 'm1', 'not an address'), { name: 'InvalidEmailError' });
  t.equal(await setMemberEmail(db, 'nobody', 'a@b.example'), false);
  const smtp = await startSmtp(t);
  const now = () => Date.parse('2025-03-08T00:30:00Z');
  const options = {
    intervalDays: 7,
    smtp: { smtpUrl: smtp.url, smtpFrom: 'CyberAlarm <reports@police.example>' },
    chromiumPath: DEFAULT_CHROMIUM,
    enricher: () => UNKNOWN_ENRICHER,
    now,
  };
  const run = await runReportSchedule(db, options, quiet);
  t.same(
    run,
    { reports: 3, emailed: 1, emailFailures: 0 },
    'three members with appliances, one with an address',
  );
  t.equal(smtp.messages.length, 1);
  const message = smtp.messages[0];
  t.same(message?.to, ['security@acme.example'], 'the member’s address is the recipient');
  t.equal(message?.from, 'reports@police.example');
  const parsed = await simpleParser(message?.raw ?? Buffer.alloc(0));
  t.match(parsed.subject, /^CyberAlarm report, 1 March 2025 to 7 March 2025$/);
  t.match(String(parsed.html), 'CyberAlarm report for Acme &lt;b&gt;Ltd&lt;/b&gt;', 'the report is the body');
  t.notOk(String(parsed.html).includes('<script'), 'no script in the mailed HTML');
  t.equal(parsed.attachments.length, 1);
  const pdf = parsed.attachments[0];
  t.equal(pdf?.contentType, 'application/pdf');
  t.equal(pdf?.filename, 'cyberalarm-report-2025-03-08.pdf');
  t.equal(pdf?.content.subarray(0, 4).toString('latin1'), '%PDF', 'the attachment is a PDF');

  const [archived] = await archivedReports(db, 'm1');
  t.equal(archived?.from.toISOString(), '2025-03-01T00:00:00.000Z');
  t.equal(archived?.to.toISOString(), '2025-03-08T00:00:00.000Z');
  t.ok(archived?.emailedAt, 'marked as mailed');
  t.equal(
    Buffer.from(archived?.pdf ?? [])
      .subarray(0, 4)
      .toString('latin1'),
    '%PDF',
    'the PDF is stored',
  );
  const [m2] = await archivedReports(db, 'm2');
  t.equal(m2?.emailTo, null, 'no address: archived, not mailed');

  t.same(
    await runReportSchedule(db, options, quiet),
    { reports: 0, emailed: 0, emailFailures: 0 },
    'nothing due',
  );
  t.equal(smtp.messages.length, 1);
  const week = await runReportSchedule(db, { ...options, now: () => now() + 7 * 86_400_000 }, quiet);
  t.equal(week.reports, 3, 'a week later the next reports are due');
  const [next] = await archivedReports(db, 'm1');
  t.equal(next?.from.toISOString(), '2025-03-08T00:00:00.000Z', 'starting where the last one ended');
});

t.test('an SMTP server that refuses: recorded and retried, not lost', async (t) => {
  const { db } = await freshDatabase(t, 'pglite');
  await loadMemberReportFixture(db);
  await setMemberEmail(db, 'm1', 'security@acme.example');
  const options = {
    intervalDays: 7,
    smtp: { smtpUrl: 'smtp://127.0.0.1:1', smtpFrom: 'reports@police.example' },
    chromiumPath: '/nonexistent/chromium',
    enricher: () => UNKNOWN_ENRICHER,
    now: () => Date.parse('2025-03-08T00:30:00Z'),
  };
  const run = await runReportSchedule(db, options, quiet);
  t.equal(run.emailFailures, 1);
  t.match(run.pdfUnavailable, /PDF reports need Chromium at \/nonexistent\/chromium/, 'one clear line');
  const [archived] = await archivedReports(db, 'm1');
  t.equal(archived?.emailedAt, null);
  const again = await runReportSchedule(db, options, quiet);
  t.equal(again.emailFailures, 1, 'tried again at the next check');
});

t.test('PDF without Chromium: a one-line error', async (t) => {
  await t.rejects(renderPdf('<p>x</p>', '/nonexistent/chromium'), PdfUnavailableError);
  await t.rejects(renderPdf('<p>x</p>', '/nonexistent/chromium'), {
    message:
      "PDF reports need Chromium at /nonexistent/chromium: install Debian's chromium (apt-get install chromium) or set --chromium-path",
  });
});
