/** The silent-appliance notice: its text, and the job sending it once per silence (PGlite). */
import t from 'tap';
import { freshDatabase } from '../../test/support/test-databases.js';
import {
  noticeAddress,
  type SilentNotice,
  sendSilentNotices,
  silentNoticeMessage,
} from './silent-notices.js';

const NOW = new Date('2026-12-07T12:00:00.000Z');
const hoursAgo = (h: number, from = NOW) => new Date(from.getTime() - h * 3_600_000);

t.test('the message names the appliance, how long, and what to check', async (t) => {
  const m = silentNoticeMessage({
    to: 'it@school.example',
    memberId: 'm1',
    memberName: 'St Mary School',
    deviceId: 'ca-0001',
    lastContact: hoursAgo(7),
    now: NOW,
    lastDiskFreeFraction: 0.02,
    brokerPort: 9883,
  });
  t.equal(m.to, 'it@school.example');
  t.equal(m.subject, 'CyberAlarm: your appliance ca-0001 has gone silent');
  t.match(m.text, /^Hello St Mary School,/);
  t.match(m.text, /for 7 hours \(last contact 2026-12-07 05:00 UTC\)/);
  for (const check of [/Power:/, /Network cable:/, /Internet:/, /outbound TCP port 9883/, /:8080/])
    t.match(m.text, check);
  t.match(m.text, /disk was nearly full \(2 % free\)/);
  t.match(m.text, /sent once per outage/);
  const never = silentNoticeMessage({
    to: 'a@b.example',
    memberId: 'm1',
    memberName: 'X',
    deviceId: 'd',
    lastContact: null,
    now: NOW,
  });
  t.match(never.text, /since it was enrolled/);
  t.match(never.text, /port 8883/);
  t.notMatch(never.text, /nearly full/, 'nothing about the disk without a reading');
});

t.test('the job tells each member once per silence, by e-mail only, and retries a failed send', async (t) => {
  const { db } = await freshDatabase(t, 'pglite');
  await db.query("INSERT INTO forces (force_id, name) VALUES ('force-a', 'Force A')");
  const members: [string, string | null][] = [
    ['m-mail', 'it@school.example'],
    ['m-phone', '01632 960000'],
    ['m-ok', 'ok@shop.example'],
  ];
  for (const [id, contact] of members)
    await db.query('INSERT INTO members (member_id, name, force_id, contact) VALUES ($1, $2, $3, $4)', [
      id,
      `Name of ${id}`,
      'force-a',
      contact,
    ]);
  const enrol = (device: string, member: string, approvedH: number) =>
    db.query(
      `INSERT INTO enrolment_requests (device_id, csr_pem, public_key_fingerprint, state, created_at, updated_at,
         expires_at, member_id, approved_at) VALUES ($1, '', '', 'approved', $3, $3, $3, $2, $3)`,
      [device, member, hoursAgo(approvedH)],
    );
  await enrol('dev-silent', 'm-mail', 30);
  await enrol('dev-phone', 'm-phone', 30);
  await enrol('dev-ok', 'm-ok', 30);
  const heartbeat = (device: string, at: Date) =>
    db.query(
      `INSERT INTO device_health (device_id, reported_at, received_at, version, active_sources, source_count)
       VALUES ($1, $2, $2, '0.9.0', 1, 1)`,
      [device, at],
    );
  await heartbeat('dev-silent', hoursAgo(10));
  await heartbeat('dev-ok', hoursAgo(0.1));

  const sent: SilentNotice[] = [];
  const send = async (m: SilentNotice) => {
    sent.push(m);
  };
  const settings = { silentAfterH: 6 };
  const first = await sendSilentNotices(db, { settings, send, now: NOW });
  t.same(first, { silent: 2, sent: 1, noEmail: 1, alreadyNotified: 0, failed: 0 });
  t.same(
    sent.map((m) => [m.to, m.deviceId]),
    [['it@school.example', 'dev-silent']],
  );
  t.match(sent[0]?.text, /for 10 hours/);

  const again = await sendSilentNotices(db, { settings, send, now: hoursAgo(-1) });
  t.equal(again.sent, 0, 'the same silence an hour later: no second message');
  t.equal(again.alreadyNotified, 1);

  // It comes back, then goes silent again: a new silence, a new message.
  await heartbeat('dev-silent', hoursAgo(-2));
  await heartbeat('dev-ok', hoursAgo(-8.5));
  const back = await sendSilentNotices(db, { settings, send, now: hoursAgo(-3) });
  t.equal(back.silent, 1, 'only the phone-only member is silent while it is back');
  t.equal(back.sent, 0);
  const failing = async () => {
    throw new Error('smtp down');
  };
  const failed = await sendSilentNotices(db, { settings, send: failing, now: hoursAgo(-9) });
  t.equal(failed.failed, 1, 'silent again; the send fails');
  const retried = await sendSilentNotices(db, { settings, send, now: hoursAgo(-10) });
  t.equal(retried.sent, 1, 'the failed notice is sent at the next run');
  t.equal(sent.length, 2);
  t.match(sent[1]?.text, /for 8 hours/);
});

t.test("the notice goes to the member's report address, else an e-mail contact", async (t) => {
  t.equal(noticeAddress({ email: 'reports@x.example', contact: 'it@x.example' }), 'reports@x.example');
  t.equal(noticeAddress({ email: null, contact: ' it@x.example ' }), 'it@x.example');
  t.equal(noticeAddress({ email: null, contact: '01632 960000' }), null, 'a phone number is no address');
  t.equal(noticeAddress({ email: null, contact: 'Bob <bob@x.example>' }), null, 'nothing but an address');
  t.equal(noticeAddress({ email: null, contact: null }), null);
});
