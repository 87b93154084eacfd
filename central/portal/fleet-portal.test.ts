/**
 * The officers' fleet page and /portal/fleet.json: scoped to the officer's force exactly as the
 * devices page is, heartbeats from the real ingest path, every member-written value rendered inert.
 */
import t, { type Test } from 'tap';
import { createLogger } from '../../common/logger.js';
import { sampleHealth } from '../../protocol/health.fixture.js';
import { encodeHealthReport } from '../../protocol/health.js';
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
    fleet: { silentAfterH: 6 },
  });
  t.teardown(() => app.close());
  const officers = {
    a: await addOfficer(db, { username: 'officer.a', forceId: 'force-a' }),
    b: await addOfficer(db, { username: 'officer.b', forceId: 'force-b' }),
  };
  const enrol = async (
    device: string,
    member: string,
    memberName: string,
    force: string,
    approvedH: number,
  ) => {
    await db.query(
      'INSERT INTO members (member_id, name, force_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [member, memberName, force],
    );
    const approved = new Date(Date.now() - approvedH * 3_600_000);
    await db.query(
      `INSERT INTO enrolment_requests (device_id, csr_pem, public_key_fingerprint, state, created_at, updated_at,
         expires_at, member_id, approved_at) VALUES ($1, '', '', 'approved', $3, $3, $3, $2, $3)`,
      [device, member, approved],
    );
  };
  await enrol('dev-a', 'member-a', 'Member <script>alert(1)</script>', 'force-a', 48);
  await enrol('dev-a-quiet', 'member-a', 'Member <script>alert(1)</script>', 'force-a', 48);
  await enrol('dev-b', 'member-b', 'Member B', 'force-b', 48);
  const ctx = {
    db,
    counters: newIngestCounters(),
    windows: newIngestWindows(),
    badBatches: new BadBatchTracker({ threshold: 100, windowMs: 60_000 }),
    logger: createLogger('test', 'silent'),
  };
  const heartbeat = (device: string, over: Parameters<typeof sampleHealth>[0] = {}) =>
    ingestMessage(ctx, {
      topic: uplinkTopic(device, 'health'),
      deviceId: device,
      payload: encodeHealthReport(sampleHealth({ device, at: Date.now(), ...over })),
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
  return { app, heartbeat, signInAs };
}

t.test("an officer sees their force's fleet only, with state, reason, heartbeat and version", async (t) => {
  const { app, heartbeat, signInAs } = await setup(t);
  await heartbeat('dev-a', { version: '1.2.3', disk: { totalBytes: 100e9, freeBytes: 2e9 } });
  await heartbeat('dev-b', { version: '9.9.9-force-b' });

  const a = await signInAs('a');
  const page = await app.inject({ url: '/portal/fleet', cookies: a });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-security-policy'], /default-src 'none'/);
  t.match(page.body, /<a href="\/portal\/fleet">Fleet<\/a>/, 'the nav links the page');
  t.match(page.body, /tr data-device="dev-a"/);
  t.match(page.body, /<strong>degraded<\/strong><\/td>\n<td class="fleet-reasons">disk 2 % free/);
  t.match(page.body, /1\.2\.3/);
  t.match(
    page.body,
    /tr data-device="dev-a-quiet"[\s\S]*?<span class="error">silent<\/span>[\s\S]*?nothing received since it was enrolled 2 days ago/,
  );
  t.match(page.body, /0 healthy · 1 degraded · 1 silent/);
  t.notMatch(page.body, /dev-b|9\.9\.9-force-b|Member B/, "nothing of force B's fleet");

  const json = await app.inject({ url: '/portal/fleet.json', cookies: a });
  t.equal(json.statusCode, 200);
  const body = json.json() as {
    force: string;
    silentAfterH: number;
    devices: { deviceId: string; state: string; version: string | null; reasons: string[] }[];
  };
  t.equal(body.force, 'force-a');
  t.equal(body.silentAfterH, 6);
  t.same(body.devices.map((d) => [d.deviceId, d.state, d.version]).sort(), [
    ['dev-a', 'degraded', '1.2.3'],
    ['dev-a-quiet', 'silent', null],
  ]);
  t.notMatch(json.body, /contact/, 'no member contact in the JSON');

  const b = await signInAs('b');
  const pageB = await app.inject({ url: '/portal/fleet', cookies: b });
  t.match(pageB.body, /tr data-device="dev-b"/);
  t.match(pageB.body, /<span class="ok">healthy<\/span>/);
  t.notMatch(pageB.body, /dev-a|1\.2\.3|Member &lt;script/, 'an officer of force B sees nothing of force A');
  const jsonB = (await app.inject({ url: '/portal/fleet.json', cookies: b })).json() as {
    devices: { deviceId: string }[];
  };
  t.same(
    jsonB.devices.map((d) => d.deviceId),
    ['dev-b'],
  );

  t.equal((await app.inject({ url: '/portal/fleet.json' })).statusCode, 401, 'no session, no fleet');
  t.equal(
    (await app.inject({ url: '/portal/fleet' })).statusCode,
    303,
    'the page sends a stranger to sign in',
  );
});

t.test('member names render inert', async (t) => {
  const { app, signInAs } = await setup(t);
  const page = await app.inject({ url: '/portal/fleet', cookies: await signInAs('a') });
  t.equal(page.statusCode, 200);
  t.notMatch(page.body, /<script>alert/, 'no script tag from a member name');
  t.match(page.body, /Member &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
});
