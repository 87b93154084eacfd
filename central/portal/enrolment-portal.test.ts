/**
 * The portal's enrolment routes end to end over HTTP (fastify inject), renewal over real TLS with
 * client certificates, and revocation reaching the embedded broker.
 */
import { request } from 'node:https';
import mqtt, { type MqttClient } from 'mqtt';
import t, { type Test } from 'tap';
import { createLogger } from '../../common/logger.js';
import { createCa, issueServerCertificate } from '../../provisioning/ca.js';
import type { EnrolmentStatus } from '../../provisioning/enrolment.js';
import { freshDatabase } from '../../test/support/test-databases.js';
import { newTestDevice, type TestDevice } from '../../test/support/test-device.js';
import { startEmbeddedBroker } from '../broker/aedes-broker.js';
import { EnrolmentService } from '../enrolment/enrolment-service.js';
import { newIngestCounters } from '../ingest/ingest-counters.js';
import { addOfficer } from '../officers/officers.js';
import { totpCode } from '../officers/totp.js';
import { RevokedDevices } from '../pki/revocation.js';
import { REGISTRATIONS_PER_ADDRESS } from './enrol-api.js';
import { SESSION_COOKIE } from './officer-routes.js';
import { buildPortal, startPortal } from './server.js';

const ca = await createCa();
const server = await issueServerCertificate(ca, { hostnames: [], ips: [] });
const TOKEN = 'admin-token-for-tests';

async function setup(t: Test) {
  const { db } = await freshDatabase(t, 'pglite');
  const revoked = new RevokedDevices();
  const disconnects: ((id: string) => void)[] = [];
  const enrolment = new EnrolmentService({
    db,
    ca,
    brokerUrl: (host) => `mqtts://${host}:8883`,
    pairingTtlMs: 7 * 86_400_000,
    onRevoked: (id) => {
      revoked.add(id);
      for (const d of disconnects) d(id);
    },
  });
  const options = {
    host: '127.0.0.1',
    port: 0,
    tls: { certPem: server.certPem, keyPem: server.keyPem, caPem: ca.certPem },
    adminToken: TOKEN,
    db,
    counters: newIngestCounters(),
    enrolment,
  };
  const app = await buildPortal(options);
  t.teardown(() => app.close());
  const officers = {
    a: await addOfficer(db, { username: 'officer.a', forceId: 'force-a' }),
    b: await addOfficer(db, { username: 'officer.b', forceId: 'force-b' }),
  };
  /** Signs in once per officer (a TOTP code is single-use). */
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
    const page = await app.inject({
      url: '/portal/enrol',
      cookies: { [SESSION_COOKIE]: cookie?.value ?? '' },
    });
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    return { res, cookie, csrf, cookies: { [SESSION_COOKIE]: cookie?.value ?? '' } };
  };
  const post = (url: string, cookies: Record<string, string>, form: Record<string, string>) =>
    app.inject({
      method: 'POST',
      url,
      cookies,
      payload: new URLSearchParams(form).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  const registerDevice = async (device: TestDevice) =>
    app.inject({
      method: 'POST',
      url: '/api/enrol/requests',
      payload: {
        deviceId: device.deviceId,
        csrPem: device.csrPem,
        pairingCode: device.pairingCode,
        agentVersion: '1.0',
      },
    });
  return { db, app, options, officers, signInAs, post, registerDevice, revoked, disconnects };
}

t.test('registration is limited per address: a flood gets 429 before it reaches the audit log', async (t) => {
  const { app } = await setup(t);
  const post = () =>
    app.inject({ method: 'POST', url: '/api/enrol/requests', payload: { deviceId: 'ca-x' } });
  for (let i = 0; i < REGISTRATIONS_PER_ADDRESS; i++) {
    const res = await post();
    if (res.statusCode !== 400) return t.fail(`request ${i + 1}: ${res.statusCode}`);
  }
  t.pass(`${REGISTRATIONS_PER_ADDRESS} malformed registrations answered 400`);
  const over = await post();
  t.equal(over.statusCode, 429);
  t.match(over.json(), { code: 'rate_limited' });
});

t.test('public, officer and admin routes are told apart', async (t) => {
  const { app } = await setup(t);
  t.equal((await app.inject('/api/health')).statusCode, 200);
  t.equal((await app.inject('/api/stats')).statusCode, 401, 'admin needs the token');
  t.equal(
    (await app.inject({ url: '/api/stats', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode,
    200,
  );
  t.equal(
    (
      await app.inject({
        method: 'POST',
        url: '/api/admin/officers',
        payload: { username: 'x1', force: 'f' },
      })
    ).statusCode,
    401,
  );
  const created = await app.inject({
    method: 'POST',
    url: '/api/admin/officers',
    headers: { authorization: `Bearer ${TOKEN}` },
    payload: { username: 'pc.new', force: 'force-c', region: 'north' },
  });
  t.equal(created.statusCode, 201);
  t.match(created.json(), { username: 'pc.new', force: 'force-c', otpauthUri: /^otpauth:\/\/totp\// });
  const enrol = await app.inject('/portal/enrol');
  t.equal(enrol.statusCode, 303);
  t.equal(enrol.headers.location, '/portal/sign-in');
  const js = await app.inject('/portal/assets/jsQR.js');
  t.equal(js.statusCode, 200);
  t.match(js.headers['content-type'], /javascript/);
  t.match(js.body, /jsQR/);
  t.equal((await app.inject('/nothing-here')).statusCode, 401, 'unknown routes are closed');
});

t.test('sign in, scan, check the fingerprint, approve: the device receives its certificate', async (t) => {
  const { app, signInAs, post, registerDevice, db } = await setup(t);
  const device = await newTestDevice();
  t.equal((await registerDevice(device)).statusCode, 201);
  t.equal((await registerDevice(device)).statusCode, 200, 'idempotent');
  const pending = await app.inject(`/api/enrol/requests/${device.deviceId}`);
  t.match(pending.json(), { deviceId: device.deviceId, state: 'pending' });
  t.equal((await app.inject('/api/enrol/requests/ca-unknownunknownunkno')).statusCode, 404);

  const wrong = await post(
    '/portal/sign-in',
    {},
    { username: 'officer.a', password: 'nope', totp: '123456' },
  );
  t.equal(wrong.statusCode, 401);
  t.match(wrong.body, /id="error"/);

  const a = await signInAs('a');
  t.equal(a.res.statusCode, 303);
  t.match(a.res.headers['set-cookie'], /HttpOnly/);
  t.match(a.res.headers['set-cookie'], /Secure/);
  t.match(a.res.headers['set-cookie'], /SameSite=Strict/);
  t.ok(a.csrf, 'the enrol page carries a CSRF token');
  const page = await app.inject({ url: '/portal/enrol', cookies: a.cookies });
  t.match(page.body, /id="qr-file"[^>]*accept="image\/\*"[^>]*capture="environment"/);
  t.match(page.headers['content-security-policy'], /script-src 'self' 'nonce-/);
  t.equal(page.headers['strict-transport-security'], 'max-age=31536000', 'HSTS on every answer');

  t.equal(
    (await post('/portal/enrol/lookup', a.cookies, { qr: device.qr })).statusCode,
    403,
    'no CSRF token',
  );
  const lookup = await post('/portal/enrol/lookup', a.cookies, { csrf: a.csrf, qr: device.qr });
  t.equal(lookup.statusCode, 200);
  t.match(lookup.body, `id="fingerprint">${device.fingerprint}<`);
  t.match(lookup.body, `id="device-id">${device.deviceId}<`);
  t.match(lookup.body, /id="request-age">\d+ seconds</);

  const approve = await post('/portal/enrol/approve', a.cookies, {
    csrf: a.csrf,
    deviceId: device.deviceId,
    pairingCode: device.pairingCode,
    memberId: '',
    memberName: 'Village <script>alert(1)</script> Hall',
    sector: 'charity',
    contact: 'it@hall.example',
  });
  t.equal(approve.statusCode, 200);
  t.match(approve.body, /id="enrolled"/);
  t.match(approve.body, /Village &lt;script&gt;alert\(1\)&lt;\/script&gt; Hall/, 'escaped');
  t.notMatch(approve.body, /<script>alert/);

  const status = (
    await app.inject({
      url: `/api/enrol/requests/${device.deviceId}`,
      headers: { host: 'central.example:8443' },
    })
  ).json() as EnrolmentStatus;
  t.equal(status.state, 'approved');
  t.match(status.certificatePem, /BEGIN CERTIFICATE/);
  t.equal(status.brokerUrl, 'mqtts://central.example:8883');

  const again = await post('/portal/enrol/lookup', a.cookies, {
    csrf: a.csrf,
    pairingCode: device.pairingCode,
  });
  t.equal(again.statusCode, 404, 'the code was consumed');

  const devices = await app.inject({ url: '/portal/devices', cookies: a.cookies });
  t.match(devices.body, `data-device="${device.deviceId}"`);
  const b = await signInAs('b');
  t.notMatch(
    (await app.inject({ url: '/portal/devices', cookies: b.cookies })).body,
    device.deviceId,
    'B does not see it',
  );
  const bLookup = await post('/portal/enrol/lookup', b.cookies, { csrf: b.csrf, qr: device.qr });
  t.equal(bLookup.statusCode, 403);
  t.equal(
    (await post(`/portal/devices/${device.deviceId}/revoke`, b.cookies, { csrf: b.csrf })).statusCode,
    404,
  );

  const audit = await app.inject({ url: '/portal/audit', cookies: a.cookies });
  for (const action of [
    'enrolment.requested',
    'enrolment.lookup',
    'enrolment.approved',
    'member.created',
    'signin.succeeded',
  ]) {
    t.match(audit.body, `>${action}<`, action);
  }
  t.notMatch(audit.body, /<script>alert/);

  const revoke = await post(`/portal/devices/${device.deviceId}/revoke`, a.cookies, { csrf: a.csrf });
  t.equal(revoke.statusCode, 200);
  t.match((await app.inject(`/api/enrol/requests/${device.deviceId}`)).json(), { state: 'revoked' });
  const all = await db.query<{ action: string }>('SELECT action FROM audit_log ORDER BY id');
  t.ok(all.some((r) => r.action === 'device.revoked'));
  t.ok(all.some((r) => r.action === 'signin.failed'));
});

t.test('pairing-code guessing through the page is answered 429', async (t) => {
  const { signInAs, post } = await setup(t);
  const a = await signInAs('a');
  for (let i = 0; i < 10; i++) {
    const res = await post('/portal/enrol/lookup', a.cookies, {
      csrf: a.csrf,
      pairingCode: `ABCD-EF${'23456789'[i % 8]}${i < 8 ? 'G' : 'H'}`,
    });
    t.equal(res.statusCode, 404);
  }
  t.equal(
    (await post('/portal/enrol/lookup', a.cookies, { csrf: a.csrf, pairingCode: 'ABCD-EFGH' })).statusCode,
    429,
  );
});

function httpsJson(
  port: number,
  path: string,
  body: unknown,
  identity?: { certPem: string; keyPem: string },
): Promise<{ status: number; json: Record<string, unknown> }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        ca: ca.certPem,
        servername: 'localhost',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        ...(identity ? { cert: identity.certPem, key: identity.keyPem } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function enrolDirectly(
  enrolment: EnrolmentService,
  db: Awaited<ReturnType<typeof setup>>['db'],
  device: TestDevice,
) {
  await enrolment.register(
    { deviceId: device.deviceId, csrPem: device.csrPem, pairingCode: device.pairingCode },
    '127.0.0.1',
  );
  const officer = (await db.query<{ id: number }>("SELECT id FROM officers WHERE username = 'officer.a'"))[0];
  const result = await enrolment.approve(
    { id: Number(officer?.id), username: 'officer.a', forceId: 'force-a' },
    {
      deviceId: device.deviceId,
      pairingCode: device.pairingCode,
      member: { name: 'M', sector: '', contact: '' },
    },
    '127.0.0.1',
  );
  if (!result.ok) throw new Error(result.message);
  const status = await enrolment.status(device.deviceId);
  return { certPem: status?.certificatePem ?? '', keyPem: device.keyPem };
}

t.test('renewal over TLS requires a valid, unrevoked device certificate from our CA', async (t) => {
  const { options, db } = await setup(t);
  const portal = await startPortal(options);
  t.teardown(() => portal.close());
  const device = await newTestDevice();
  const identity = await enrolDirectly(options.enrolment, db, device);

  const none = await httpsJson(portal.port, '/api/enrol/renew', { csrPem: device.csrPem });
  t.equal(none.status, 401, 'no client certificate');
  const foreignCa = await createCa();
  const { issueDeviceCertificate } = await import('../../provisioning/ca.js');
  const foreign = await issueDeviceCertificate(foreignCa, device.deviceId);
  const wrongCa = await httpsJson(portal.port, '/api/enrol/renew', { csrPem: device.csrPem }, foreign);
  t.equal(wrongCa.status, 401, 'certificate from another CA');

  const renewed = await httpsJson(portal.port, '/api/enrol/renew', { csrPem: device.csrPem }, identity);
  t.equal(renewed.status, 200);
  t.match(renewed.json, {
    deviceId: device.deviceId,
    state: 'approved',
    certificatePem: /BEGIN CERTIFICATE/,
  });
  t.not(renewed.json.certificatePem, identity.certPem);

  await options.enrolment.revoke({ operator: 'cli' }, device.deviceId);
  const afterRevoke = await httpsJson(portal.port, '/api/enrol/renew', { csrPem: device.csrPem }, identity);
  t.equal(afterRevoke.status, 403);
  const log = await db.query<{ action: string; actor: string }>(
    "SELECT action, actor FROM audit_log WHERE action LIKE 'certificate.%' ORDER BY id",
  );
  t.same(log, [
    { action: 'certificate.renewed', actor: `device:${device.deviceId}` },
    { action: 'certificate.renewal_refused', actor: `device:${device.deviceId}` },
  ]);
});

function connectMqtt(port: number, identity: { certPem: string; keyPem: string }, clientId: string) {
  return new Promise<{ client?: MqttClient; error?: Error }>((resolve) => {
    const client = mqtt.connect(`mqtts://localhost:${port}`, {
      protocolVersion: 4,
      clientId,
      ca: ca.certPem,
      cert: identity.certPem,
      key: identity.keyPem,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    const fail = (error: Error) => {
      client.end(true);
      resolve({ error });
    };
    client.once('connect', () => {
      client.off('error', fail);
      client.off('close', onClose);
      resolve({ client });
    });
    client.once('error', fail);
    const onClose = () => fail(new Error('closed before CONNACK'));
    client.once('close', onClose);
  });
}

t.test('revocation refuses and disconnects the device at the embedded broker at once', async (t) => {
  const { options, db, revoked, disconnects } = await setup(t);
  const broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    tls: { certPem: server.certPem, keyPem: server.keyPem, caPem: ca.certPem },
    maxPacketBytes: 1 << 20,
    logger: createLogger('test', 'silent'),
    isRefused: (identity) => identity.kind === 'device' && revoked.has(identity.deviceId),
  });
  t.teardown(() => broker.close());
  disconnects.push((id) => broker.disconnect(id));
  const device = await newTestDevice();
  const identity = await enrolDirectly(options.enrolment, db, device);
  const first = await connectMqtt(broker.port, identity, device.deviceId);
  t.ok(first.client, 'enrolled device connects');
  t.ok(broker.isConnected(device.deviceId));
  const closed = new Promise<void>((resolve) => first.client?.once('close', () => resolve()));
  await options.enrolment.revoke({ operator: 'cli' }, device.deviceId);
  await closed;
  t.pass('disconnected on revocation');
  t.ok(revoked.has(device.deviceId), 'isRefused is true');
  const again = await connectMqtt(broker.port, identity, device.deviceId);
  t.ok(again.error, 'reconnect refused');
  t.equal(broker.isConnected(device.deviceId), false);
  first.client?.end(true);
});
