import t from 'tap';
import {
  ALERTED,
  BENIGN,
  CAMPAIGN,
  FROM,
  HOST_A,
  HOST_B,
  loadMemberReportFixture,
  SCANNER,
  TO,
} from '../../test/support/member-report-fixture.js';
import { type Engine, freshDatabase, postgresReachable } from '../../test/support/test-databases.js';
import { UNKNOWN_ENRICHER } from './ip-enrichment.js';
import { memberReportData } from './member-report-data.js';
import { renderMemberReportHtml } from './member-report-page.js';
import { archivedReports, archiveReport } from './report-archive.js';
import { SECTIONS } from './sections/index.js';

const pgUp = await postgresReachable();
/** Any RFC 1918 address in clear. */
const RFC1918 =
  /\b(10\.\d{1,3}\.\d{1,3}\.\d{1,3}|192\.168\.\d{1,3}\.\d{1,3}|172\.(1[6-9]|2\d|3[01])\.\d{1,3}\.\d{1,3})\b/;
const answers: Partial<Record<Engine, unknown>> = {};

for (const engine of ['pglite', 'postgres'] as const) {
  const skip = engine === 'postgres' && !pgUp ? 'PostgreSQL at 127.0.0.1:5432 is unreachable' : false;
  t.test(`${engine}: the member report from stored data`, { skip }, async (t) => {
    const { db } = await freshDatabase(t, engine);
    await loadMemberReportFixture(db);
    const now = new Date('2025-03-08T00:30:00Z');
    const data = await memberReportData(db, { memberId: 'm1', from: FROM, to: TO, now });
    answers[engine] = data;

    t.same(data.devices, ['dev-1a', 'dev-1b']);
    t.same(data.totals, {
      events: 118,
      blocked: 96,
      allowed: 22,
      suspiciousBlocked: 96,
      suspiciousAllowed: 5,
      suspiciousSources: 3,
    });
    t.equal(data.daily.length, 7, 'one bar per day of the period');
    t.same(
      data.allowedFlows.map((f) => [f.src, f.dst, f.port, f.events, f.alerted, f.campaign]),
      [
        [ALERTED, HOST_B, 3389, 3, true, false],
        [CAMPAIGN, HOST_A, 443, 2, false, true],
      ],
      'allowed from alerted and campaign sources only, not the benign one',
    );
    t.notOk(
      data.sources.some((s) => s.ip === BENIGN),
      'a benign allowed source is not suspicious',
    );
    t.same(data.sources[0], {
      ip: SCANNER,
      blocked: 56,
      allowed: 0,
      ports: 2,
      targets: 2,
      alerted: false,
      campaign: false,
      country: null,
      asn: null,
      network: null,
    });
    t.same(
      data.ports.map((p) => [p.port, p.blocked, p.allowed]),
      [
        [22, 51, 0],
        [3389, 40, 3],
        [23, 5, 0],
        [443, 0, 2],
      ],
    );
    t.same(
      data.hosts.map((h) => [h.host, h.deviceId, h.allowed, h.blocked]),
      [
        [HOST_B, 'dev-1a', 3, 40],
        [HOST_A, 'dev-1a', 2, 55],
        [HOST_B, 'dev-1b', 0, 1],
      ],
    );
    t.same(data.alertCounts, { total: 1, high: 1, medium: 0, low: 0 });
    t.equal(data.alerts[0]?.advice?.startsWith('Put remote desktop behind a VPN'), true);
    const scanner = data.comparison.sources.find((s) => s.ip === SCANNER);
    t.equal(scanner?.otherMembers, 2, 'm2 and m3 saw the scanner (counts only)');
    t.equal(data.comparison.sources.find((s) => s.ip === CAMPAIGN)?.finding?.members, 14);
    t.equal(data.comparison.networkMembers, 3);
    t.same(
      data.gaps.lossRecords.map((l) => l.events),
      [1234],
      'the loss record in the period, not the one in January',
    );
    t.ok(data.gaps.silentPeriods.length > 0, 'silent periods found');
    t.same(data.gaps.silentDevices, []);
    const longest = data.gaps.silentPeriods[0];
    t.equal(longest?.deviceId, 'dev-1b', 'dev-1b sent nothing until 7 March 20:00');
    t.equal(longest?.from, FROM.toISOString());
    t.equal(longest?.to, '2025-03-07T20:00:00.000Z');

    const html = renderMemberReportHtml(data);
    const positions = SECTIONS.map((s) => html.indexOf(`<section id="${s.id}">`));
    t.ok(
      positions.every((p) => p >= 0),
      'every section is on the page',
    );
    t.same(
      positions,
      [...positions].sort((a, b) => a - b),
      'sections in order',
    );
    t.ok(html.indexOf(ALERTED) < html.indexOf('<h3>Blocked</h3>'), 'allowed traffic before blocked');
    t.match(html, '2 other members saw this source');
    t.notOk(/m2|m3|Charity|Shop/.test(html.replace(/<style>[\s\S]*<\/style>/, '')), 'no other member named');
    t.notOk(html.includes('<script'), 'no script element anywhere');
    t.match(
      html,
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;',
      'the alert summary and advice shown, inert',
    );
    t.match(html, 'Acme &lt;b&gt;Ltd&lt;/b&gt;');
    t.match(html, '<svg', 'server-rendered charts');
    t.notOk(RFC1918.test(html), 'no RFC 1918 address in the page');
    t.match(html, HOST_A, 'internal hosts as pseudonyms');

    // The archive holds what was rendered, and still no internal address in clear.
    const id = await archiveReport(db, { memberId: 'm1', from: FROM, to: TO, html, createdAt: now });
    t.ok(id);
    t.equal(
      await archiveReport(db, { memberId: 'm1', from: FROM, to: TO, html, createdAt: now }),
      undefined,
      'one report per member and period',
    );
    const [stored] = await archivedReports(db, 'm1');
    t.equal(stored?.html, html);
    t.notOk(RFC1918.test(stored?.html ?? '10.0.0.1'), 'the stored report holds only pseudonyms');

    // A member with no alerts gets an honest section, not an error.
    const m2 = renderMemberReportHtml(
      await memberReportData(db, { memberId: 'm2', from: FROM, to: TO, now, enricher: UNKNOWN_ENRICHER }),
    );
    t.match(m2, 'raised no alerts');
    t.match(m2, 'location unknown');
    await t.rejects(memberReportData(db, { memberId: 'nobody', from: FROM, to: TO }), {
      name: 'UnknownMemberError',
    });
  });
}

t.test(
  'both engines give the same member report data',
  { skip: pgUp ? false : 'PostgreSQL unreachable' },
  async (t) => {
    t.ok(answers.pglite);
    const strip = (d: unknown) => ({ ...(d as object), generatedAt: '' });
    t.same(strip(answers.postgres), strip(answers.pglite));
  },
);
