/**
 * The officers' alert list: scoped to the officer's force exactly as the devices page is, and every
 * device-sent value rendered inert.
 */
import t, { type Test } from 'tap';
import { createLogger } from '../../common/logger.js';
import { type AlertRecord, encodeAlertsBatch } from '../../protocol/alert.js';
import { uplinkTopic } from '../../protocol/topics.js';
import { createCa, issueServerCertificate } from '../../provisioning/ca.js';
import { freshDatabase } from '../../test/support/test-databases.js';
import { EnrolmentService } from '../enrolment/enrolment-service.js';
import { BadBatchTracker } from '../ingest/flag-device.js';
import { ingestMessage } from '../ingest/ingest.js';
import { newIngestCounters, newIngestWindows } from '../ingest/ingest-counters.js';
import { addOfficer } from '../officers/officers.js';
import { totpCode } from '../officers/totp.js';
import { SESSION_COOKIE } from './officer-routes.js';
import { buildPortal } from './server.js';

const ca = await createCa();
const server = await issueServerCertificate(ca, { hostnames: [], ips: [] });

const alert = (over: Partial<AlertRecord>): AlertRecord => ({
  id: 'vertical-scan:203.0.113.10:2026-12-07T12:00:00.000Z',
  detector: 'vertical-scan',
  kind: 'fast',
  status: 'new',
  severity: 'low',
  source: '203.0.113.10',
  keyRole: 'source',
  targets: ['p:abcdefghijkl'],
  ports: [22],
  protocols: ['tcp'],
  events: 20,
  distinctTargets: 1,
  distinctPorts: 20,
  distinctCapped: false,
  firstSeen: '2026-12-07T12:00:00.000Z',
  lastSeen: '2026-12-07T12:00:19.000Z',
  thresholds: { distinctPorts: 15 },
  label: 'targeted',
  summary: 'a scan',
  advice: 'look',
  ...over,
});

async function setup(t: Test) {
  const { db } = await freshDatabase(t, 'pglite');
  const enrolment = new EnrolmentService({
    db,
    ca,
    brokerUrl: (host) => `mqtts://${host}:8883`,
    pairingTtlMs: 86_400_000,
  });
  const app = await buildPortal({
    host: '127.0.0.1',
    port: 0,
    tls: { certPem: server.certPem, keyPem: server.keyPem, caPem: ca.certPem },
    adminToken: 'token',
    db,
    counters: newIngestCounters(),
    enrolment,
  });
  t.teardown(() => app.close());
  const officers = {
    a: await addOfficer(db, { username: 'officer.a', forceId: 'force-a' }),
    b: await addOfficer(db, { username: 'officer.b', forceId: 'force-b' }),
  };
  // One member and one enrolled device per force, as approval leaves them.
  for (const force of ['a', 'b']) {
    await db.query('INSERT INTO members (member_id, name, force_id) VALUES ($1, $2, $3)', [
      `member-${force}`,
      `Member <${force}>`,
      `force-${force}`,
    ]);
    await db.query(
      `INSERT INTO enrolment_requests (device_id, csr_pem, public_key_fingerprint, state, created_at, updated_at,
         expires_at, member_id, approved_at) VALUES ($1, '', '', 'approved', now(), now(), now(), $2, now())`,
      [`dev-${force}`, `member-${force}`],
    );
  }
  const ctx = {
    db,
    counters: newIngestCounters(),
    windows: newIngestWindows(),
    badBatches: new BadBatchTracker({ threshold: 100, windowMs: 60_000 }),
    logger: createLogger('test', 'silent'),
  };
  const send = (device: string, seq: number, alerts: AlertRecord[]) =>
    ingestMessage(ctx, {
      topic: uplinkTopic(device, 'alerts'),
      deviceId: device,
      payload: encodeAlertsBatch({ v: 1, device, seq, created: Date.now(), alerts }),
    });
  const signInAs = async (who: 'a' | 'b') => {
    const o = officers[who];
    const res = await app.inject({
      method: 'POST',
      url: '/portal/sign-in',
      payload: new URLSearchParams({
        username: o.officer.username,
        password: o.initialPassword,
        totp: totpCode(o.totpSecret),
      }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const cookie = res.cookies.find((c) => c.name === SESSION_COOKIE);
    return { [SESSION_COOKIE]: cookie?.value ?? '' };
  };
  return { app, send, signInAs };
}

t.test("an officer sees their force's alerts only, on the page and in the JSON", async (t) => {
  const { app, send, signInAs } = await setup(t);
  await send('dev-a', 1, [alert({ id: 'alert-of-a', summary: 'scan at member A' })]);
  await send('dev-b', 1, [alert({ id: 'alert-of-b', summary: 'scan at member B', severity: 'high' })]);
  await send('dev-unenrolled', 1, [alert({ id: 'alert-of-nobody' })]);

  const b = await signInAs('b');
  const page = await app.inject({ url: '/portal/alerts', cookies: b });
  t.equal(page.statusCode, 200);
  t.match(page.body, /data-alert="alert-of-b"/);
  t.notMatch(page.body, /alert-of-a|scan at member A/, "force A's alert is not on force B's page");
  t.notMatch(page.body, /alert-of-nobody/, 'nor an alert from a device no member enrolled');
  t.match(page.headers['content-security-policy'], /script-src 'self' 'nonce-/);

  const json = await app.inject({ url: '/portal/alerts.json', cookies: b });
  t.equal(json.statusCode, 200);
  t.same(
    json.json().alerts.map((x: { alertId: string }) => x.alertId),
    ['alert-of-b'],
  );
  t.equal(json.json().force, 'force-b');

  const narrowed = await app.inject({ url: '/portal/alerts.json?member=member-a', cookies: b });
  t.same(narrowed.json().alerts, [], "naming force A's member from force B shows nothing");

  const a = await signInAs('a');
  const pageA = await app.inject({ url: '/portal/alerts?member=member-a', cookies: a });
  t.match(pageA.body, /data-alert="alert-of-a"/);
  t.notMatch(pageA.body, /alert-of-b/);

  t.equal((await app.inject({ url: '/portal/alerts.json' })).statusCode, 401, 'no session, no alerts');
  const signedOut = await app.inject({ url: '/portal/alerts' });
  t.equal(signedOut.statusCode, 303, 'the page sends a stranger to sign in');
});

t.test('a summary with <script> renders inert', async (t) => {
  const { app, send, signInAs } = await setup(t);
  await send('dev-a', 1, [
    alert({
      id: 'x"><script>alert(1)</script>',
      summary: '<script>alert(document.cookie)</script> probed you',
      advice: '<img src=x onerror=alert(2)>',
      kind: 'fast',
    }),
  ]);
  const page = await app.inject({ url: '/portal/alerts', cookies: await signInAs('a') });
  t.equal(page.statusCode, 200);
  t.notMatch(page.body, /<script>alert/, 'no script tag from the device');
  t.notMatch(page.body, /<img src=x/, 'no markup from the device');
  t.match(page.body, /&lt;script&gt;alert\(document\.cookie\)&lt;\/script&gt; probed you/);
  t.match(page.body, /data-alert="x&quot;&gt;&lt;script&gt;/, 'attribute values escaped too');
  t.match(page.body, /Member &lt;a&gt;/, 'member names escaped');
});
