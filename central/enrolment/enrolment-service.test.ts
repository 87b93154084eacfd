import { X509Certificate } from 'node:crypto';
import t, { type Test } from 'tap';
import { certificateIdentity, createCa } from '../../provisioning/ca.js';
import { x509 } from '../../provisioning/x509.js';
import { type Engine, freshDatabase, postgresReachable } from '../../test/support/test-databases.js';
import { csrFor, newTestDevice } from '../../test/support/test-device.js';
import { addOfficer, type Officer } from '../officers/officers.js';
import { RevokedDevices, writeCrl } from '../pki/revocation.js';
import { forceAuditLog } from '../store/audit.js';
import type { Database } from '../store/db.js';
import { EnrolmentService, type MemberChoice } from './enrolment-service.js';

const engines: Engine[] = (await postgresReachable()) ? ['pglite', 'postgres'] : ['pglite'];
const ca = await createCa();
const DAY = 86_400_000;
const IP = '192.0.2.10';
const NEW_MEMBER: MemberChoice = { name: 'Acme School', sector: 'education', contact: 'it@acme.example' };

async function setup(t: Test, engine: Engine) {
  const { db } = await freshDatabase(t, engine);
  let now = new Date('2025-03-01T12:00:00Z');
  const revoked: string[] = [];
  const service = new EnrolmentService({
    db,
    ca,
    brokerUrl: (host) => `mqtts://${host}:8883`,
    pairingTtlMs: 7 * DAY,
    now: () => now,
    onRevoked: (id) => {
      revoked.push(id);
    },
  });
  const a: Officer = (await addOfficer(db, { username: 'officer.a', forceId: 'force-a' })).officer;
  const b: Officer = (await addOfficer(db, { username: 'officer.b', forceId: 'force-b' })).officer;
  return {
    db,
    service,
    a,
    b,
    revoked,
    advance: (ms: number) => {
      now = new Date(now.getTime() + ms);
    },
  };
}

async function register(service: EnrolmentService, device: Awaited<ReturnType<typeof newTestDevice>>) {
  return service.register(
    {
      deviceId: device.deviceId,
      csrPem: device.csrPem,
      pairingCode: device.pairingCode,
      agentVersion: '0.1.0',
    },
    IP,
    'central.example',
  );
}

async function actions(db: Database, subject?: string): Promise<string[]> {
  const rows = await db.query<{ action: string }>(
    subject
      ? 'SELECT action FROM audit_log WHERE subject = $1 ORDER BY id'
      : 'SELECT action FROM audit_log ORDER BY id',
    subject ? [subject] : [],
  );
  return rows.map((r) => r.action);
}

for (const engine of engines) {
  t.test(
    `${engine}: registration is idempotent and refuses a CSR whose key is not the device's`,
    async (t) => {
      const { db, service } = await setup(t, engine);
      const device = await newTestDevice();
      const first = await register(service, device);
      t.match(first, { ok: true, created: true, status: { deviceId: device.deviceId, state: 'pending' } });
      t.match(await register(service, device), { ok: true, created: false, status: { state: 'pending' } });
      t.same(await actions(db, device.deviceId), ['enrolment.requested'], 'a repeat is not a new request');

      const other = await newTestDevice();
      // Someone else's key, claiming this device id (CN says so, the key hashes to another id).
      const forged = await csrFor(other.keys, device.deviceId);
      const refused = await service.register(
        { deviceId: device.deviceId, csrPem: forged, pairingCode: 'ABCD-EFGH', agentVersion: 'x' },
        IP,
      );
      t.match(refused, { ok: false, code: 'bad_request', message: /does not match the device id/ });
      t.match(
        await service.register({ deviceId: device.deviceId, csrPem: 'junk', pairingCode: 'ABCD-EFGH' }, IP),
        { ok: false, code: 'bad_request' },
      );
      t.match(
        await service.register({ deviceId: other.deviceId, csrPem: other.csrPem, pairingCode: 'nope' }, IP),
        { ok: false, code: 'bad_request', message: /pairing/ },
      );
      const stored = await db.query<{ pairing_code_hash: string }>(
        'SELECT pairing_code_hash FROM enrolment_requests',
      );
      t.notOk(
        stored[0]?.pairing_code_hash.includes(device.pairingCode.replace('-', '')),
        'code stored hashed',
      );
      t.same(await actions(db, device.deviceId), [
        'enrolment.requested',
        'enrolment.refused',
        'enrolment.refused',
      ]);
    },
  );

  t.test(`${engine}: approval issues a certificate that chains to the CA with CN = device id`, async (t) => {
    const { db, service, a } = await setup(t, engine);
    const device = await newTestDevice();
    await register(service, device);
    const found = await service.lookup(a, { qr: device.qr }, IP);
    if (!found.ok) throw new Error(found.message);
    t.equal(found.request.fingerprint, device.fingerprint);
    t.equal(found.request.deviceId, device.deviceId);
    const approved = await service.approve(
      a,
      { deviceId: device.deviceId, pairingCode: device.pairingCode, member: NEW_MEMBER },
      IP,
    );
    if (!approved.ok) throw new Error(approved.message);
    const status = await service.status(device.deviceId, 'central.example');
    t.equal(status?.state, 'approved');
    t.equal(status?.brokerUrl, 'mqtts://central.example:8883');
    t.equal(status?.caPem, ca.certPem);
    t.same(status?.config, { memberId: approved.memberId, forceId: 'force-a' });
    const cert = new X509Certificate(status?.certificatePem ?? '');
    t.ok(cert.verify(new X509Certificate(ca.certPem).publicKey), 'signed by the CA');
    t.ok(cert.checkIssued(new X509Certificate(ca.certPem)));
    t.same(certificateIdentity(status?.certificatePem), { kind: 'device', deviceId: device.deviceId });
    t.match(cert.subject, new RegExp(`CN=${device.deviceId}`));
    const spki = Buffer.from(await crypto.subtle.exportKey('spki', device.keys.publicKey));
    t.ok(cert.publicKey.export({ type: 'spki', format: 'der' }).equals(spki), 'for the device key');
    t.same(await db.query('SELECT member_id, force_id, name, sector FROM members'), [
      { member_id: approved.memberId, force_id: 'force-a', name: 'Acme School', sector: 'education' },
    ]);
    t.same(await db.query('SELECT member_id FROM devices WHERE device_id = $1', [device.deviceId]), [
      { member_id: approved.memberId },
    ]);
    t.same(await actions(db, device.deviceId), [
      'enrolment.requested',
      'enrolment.lookup',
      'enrolment.approved',
    ]);
    t.equal((await service.devicesOfForce('force-a'))[0]?.deviceId, device.deviceId);
  });

  t.test(`${engine}: a used code is refused; an expired code is refused`, async (t) => {
    const { service, a, advance } = await setup(t, engine);
    const device = await newTestDevice();
    await register(service, device);
    const ok = await service.approve(
      a,
      { deviceId: device.deviceId, pairingCode: device.pairingCode, member: NEW_MEMBER },
      IP,
    );
    t.ok(ok.ok);
    t.match(await service.lookup(a, { pairingCode: device.pairingCode }, IP), {
      ok: false,
      code: 'not_found',
    });
    t.match(await service.lookup(a, { qr: device.qr }, IP), { ok: false, code: 'used' });
    t.match(
      await service.approve(
        a,
        { deviceId: device.deviceId, pairingCode: device.pairingCode, member: NEW_MEMBER },
        IP,
      ),
      { ok: false, code: 'used' },
    );
    const late = await newTestDevice();
    await register(service, late);
    advance(7 * DAY + 1000);
    t.match(await service.lookup(a, { pairingCode: late.pairingCode }, IP), { ok: false, code: 'expired' });
    t.match(
      await service.approve(
        a,
        { deviceId: late.deviceId, pairingCode: late.pairingCode, member: NEW_MEMBER },
        IP,
      ),
      { ok: false, code: 'expired' },
    );
    t.equal((await service.status(late.deviceId))?.state, 'expired');
    // The device registers again (new code): a fresh pending period.
    const again = await service.register(
      { deviceId: late.deviceId, csrPem: late.csrPem, pairingCode: 'WXYZ-2345' },
      IP,
    );
    t.match(again, { ok: true, status: { state: 'pending' } });
    t.match(await service.lookup(a, { pairingCode: 'wxyz 2345' }, IP), { ok: true });
  });

  t.test(`${engine}: guessing pairing codes is locked out per officer and per address (429)`, async (t) => {
    const { db, service, a, b } = await setup(t, engine);
    const device = await newTestDevice();
    await register(service, device);
    for (let i = 0; i < 10; i++) {
      t.match(
        await service.lookup(a, { pairingCode: `AAAA-AA${'23456789'[i % 8]}${i < 8 ? 'A' : 'B'}` }, IP),
        {
          ok: false,
          code: 'not_found',
        },
      );
    }
    t.match(
      await service.lookup(a, { pairingCode: device.pairingCode }, '203.0.113.9'),
      { ok: false, code: 'rate_limited' },
      'officer limited, even with the right code from elsewhere',
    );
    t.match(
      await service.lookup(b, { pairingCode: device.pairingCode }, IP),
      { ok: false, code: 'rate_limited' },
      'address limited, even for another officer',
    );
    t.match(
      await service.approve(
        a,
        { deviceId: device.deviceId, pairingCode: device.pairingCode, member: NEW_MEMBER },
        '203.0.113.9',
      ),
      { ok: false, code: 'rate_limited' },
    );
    t.match(
      await service.lookup(b, { pairingCode: device.pairingCode }, '203.0.113.9'),
      { ok: true },
      'others unaffected',
    );
    const log = await actions(db);
    t.equal(log.filter((x) => x === 'enrolment.lookup_failed').length, 10);
    t.equal(log.filter((x) => x === 'enrolment.rate_limited').length, 3);
  });

  t.test(
    `${engine}: an officer of force A cannot see, enrol, bind to or revoke force B's devices`,
    async (t) => {
      const { db, service, a, b } = await setup(t, engine);
      const device = await newTestDevice();
      await register(service, device);
      const approved = await service.approve(
        b,
        { deviceId: device.deviceId, pairingCode: device.pairingCode, member: NEW_MEMBER },
        IP,
      );
      if (!approved.ok) throw new Error(approved.message);
      t.match(await service.lookup(a, { qr: device.qr }, IP), { ok: false, code: 'forbidden' });
      t.match(await service.revoke({ officer: a }, device.deviceId, IP), { ok: false, code: 'not_found' });
      t.same(await service.devicesOfForce('force-a'), []);
      t.same(await service.membersOfForce('force-a'), []);
      // A pending device, bound by A to B's member: refused.
      const second = await newTestDevice();
      await register(service, second);
      t.match(
        await service.approve(
          a,
          {
            deviceId: second.deviceId,
            pairingCode: second.pairingCode,
            member: { memberId: approved.memberId },
          },
          IP,
        ),
        { ok: false, code: 'forbidden' },
      );
      t.equal((await service.status(second.deviceId))?.state, 'pending', 'nothing changed');
      // The device that a later re-registration (or a replayed QR) would offer to A is still B's.
      const refusals = await db.query<{ actor: string; force_id: string }>(
        "SELECT actor, force_id FROM audit_log WHERE action = 'enrolment.refused' ORDER BY id",
      );
      t.same(refusals, [
        { actor: 'officer:officer.a', force_id: 'force-a' },
        { actor: 'officer:officer.a', force_id: 'force-a' },
        { actor: 'officer:officer.a', force_id: 'force-a' },
      ]);
      const bLog = await forceAuditLog(db, 'force-b');
      t.ok(bLog.some((e) => e.action === 'enrolment.approved' && e.subject === device.deviceId));
      t.ok(
        bLog.some((e) => e.action === 'enrolment.requested' && e.subject === device.deviceId),
        "the device's own request shows once bound",
      );
      t.notOk((await forceAuditLog(db, 'force-a')).some((e) => e.action === 'enrolment.approved'));
    },
  );

  t.test(
    `${engine}: revocation answers revoked, refuses at the broker, lists the serial in the CRL`,
    async (t) => {
      const { db, service, a, revoked } = await setup(t, engine);
      const device = await newTestDevice();
      await register(service, device);
      const approved = await service.approve(
        a,
        { deviceId: device.deviceId, pairingCode: device.pairingCode, member: NEW_MEMBER },
        IP,
      );
      if (!approved.ok) throw new Error(approved.message);
      const set = new RevokedDevices();
      await set.load(db);
      t.notOk(set.has(device.deviceId));
      const result = await service.revoke({ officer: a }, device.deviceId, IP);
      t.match(result, { ok: true, serials: [approved.serialNumber] });
      t.same(revoked, [device.deviceId], 'onRevoked ran');
      t.same(await set.load(db), [device.deviceId]);
      t.ok(set.has(device.deviceId));
      t.equal((await service.status(device.deviceId))?.state, 'revoked');
      t.match(
        await register(service, device),
        { ok: true, status: { state: 'revoked' } },
        'registering again does not undo it',
      );
      const crlFile = `${t.testdir()}/crl.pem`;
      t.equal(await writeCrl(db, ca, crlFile), 1);
      const { readFileSync } = await import('node:fs');
      const crlPem = readFileSync(crlFile, 'utf8');
      t.match(crlPem, /^-----BEGIN X509 CRL-----\n/, 'the label OpenSSL (Mosquitto) reads');
      const crl = new x509.X509Crl(crlPem);
      t.ok(await crl.verify({ publicKey: ca.keys.publicKey }), 'CRL signed by the CA');
      t.same(
        crl.entries.map((e) => e.serialNumber.toLowerCase()),
        [approved.serialNumber],
      );
      t.same(await actions(db, device.deviceId), [
        'enrolment.requested',
        'enrolment.approved',
        'device.revoked',
      ]);
    },
  );

  t.test(`${engine}: renewal needs a certificate we issued and have not revoked`, async (t) => {
    const { db, service, a } = await setup(t, engine);
    const device = await newTestDevice();
    await register(service, device);
    const approved = await service.approve(
      a,
      { deviceId: device.deviceId, pairingCode: device.pairingCode, member: NEW_MEMBER },
      IP,
    );
    if (!approved.ok) throw new Error(approved.message);
    const renewed = await service.renew(
      device.deviceId,
      approved.serialNumber.toUpperCase(),
      { csrPem: device.csrPem },
      IP,
    );
    if (!renewed.ok) throw new Error(renewed.message);
    const cert = new X509Certificate(renewed.status.certificatePem ?? '');
    t.ok(cert.verify(new X509Certificate(ca.certPem).publicKey));
    t.not(cert.serialNumber.toLowerCase(), approved.serialNumber);
    t.match(await service.renew(device.deviceId, 'ab'.repeat(16), { csrPem: device.csrPem }, IP), {
      ok: false,
      code: 'forbidden',
    });
    const other = await newTestDevice();
    t.match(
      await service.renew(device.deviceId, approved.serialNumber, { csrPem: other.csrPem }, IP),
      { ok: false, code: 'bad_request' },
      'CSR for another id',
    );
    await service.revoke({ operator: 'cli' }, device.deviceId);
    t.match(await service.renew(device.deviceId, approved.serialNumber, { csrPem: device.csrPem }, IP), {
      ok: false,
      code: 'forbidden',
    });
    const rows = await db.query<{ actor: string; action: string }>(
      "SELECT actor, action FROM audit_log WHERE action LIKE 'certificate.%' ORDER BY id",
    );
    t.same(
      rows.map((r) => r.action),
      [
        'certificate.renewed',
        'certificate.renewal_refused',
        'certificate.renewal_refused',
        'certificate.renewal_refused',
      ],
    );
    t.ok(
      rows.every((r) => r.actor === `device:${device.deviceId}`),
      'actor is the device',
    );
  });
}
