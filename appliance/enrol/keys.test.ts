import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { writeFileAtomic } from '../../common/atomic-file.js';
import { createCa, issueDeviceCertificateFromCsr, parseDeviceCsr } from '../../provisioning/ca.js';
import { deviceIdFromPublicKey, publicKeyFingerprint } from '../../provisioning/enrolment.js';
import { x509 } from '../../provisioning/x509.js';
import { certificateInfo, createCsr, isIssuedBy, KEY_FILE, loadOrCreateDeviceKey } from './keys.js';

const root = mkdtempSync(join(tmpdir(), 'ca-keys-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

t.test('first start makes a P-256 key (0600); later starts read the same one', async (t) => {
  const dir = join(root, 'identity');
  const key = loadOrCreateDeviceKey(dir);
  t.equal((statSync(join(dir, KEY_FILE)).mode & 0o777).toString(8), '600');
  t.equal((statSync(dir).mode & 0o777).toString(8), '700');
  const pub = createPublicKey(key.keyPem);
  t.equal(pub.asymmetricKeyType, 'ec');
  t.equal(pub.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  t.equal(key.deviceId, deviceIdFromPublicKey(key.spkiDer), 'device id from the public key');
  t.equal(key.fingerprint, publicKeyFingerprint(key.spkiDer));
  t.match(readFileSync(join(dir, KEY_FILE), 'utf8'), /^-----BEGIN PRIVATE KEY-----/, 'PKCS#8 PEM');
  const again = loadOrCreateDeviceKey(dir);
  t.equal(again.deviceId, key.deviceId, 'stable across restarts');
  t.equal(again.keyPem, key.keyPem);
  const other = loadOrCreateDeviceKey(join(root, 'other'));
  t.not(other.deviceId, key.deviceId, 'another box, another id');
});

t.test('the CSR names the device and carries its public key, signed by it', async (t) => {
  const key = loadOrCreateDeviceKey(join(root, 'csr'));
  const csr = new x509.Pkcs10CertificateRequest(await createCsr(key.keyPem, key.deviceId));
  t.equal(csr.subject, `CN=${key.deviceId}`);
  t.ok(await csr.verify(), 'proof of possession');
  t.same(Buffer.from(csr.publicKey.rawData), key.spkiDer, 'the public key is the device key');
});

t.test('certificateInfo never throws; writeFileAtomic replaces whole files', async (t) => {
  t.equal(certificateInfo('not a certificate'), undefined);
  const path = join(root, 'file.txt');
  writeFileAtomic(path, 'one', 0o644);
  writeFileAtomic(path, 'two', 0o600);
  t.equal(readFileSync(path, 'utf8'), 'two');
  t.equal((statSync(path).mode & 0o777).toString(8), '600');
  t.throws(() => writeFileAtomic(path, 'three', 0o600, { exclusive: true }), /already exists/);
});

t.test('certificateInfo reads what central issued; isIssuedBy tells its CA from another', async (t) => {
  const key = loadOrCreateDeviceKey(join(root, 'issued'));
  const ca = await createCa();
  const csr = await parseDeviceCsr(await createCsr(key.keyPem, key.deviceId));
  if ('error' in csr) throw new Error(csr.error);
  const issued = await issueDeviceCertificateFromCsr(ca, csr, key.deviceId, { validDays: 30 });
  const info = certificateInfo(issued.certPem);
  t.equal(info?.commonName, key.deviceId);
  t.equal(info?.notAfter.getTime(), Math.floor(issued.notAfter.getTime() / 1000) * 1000, 'to the second');
  t.same(info?.spkiDer, key.spkiDer, 'the device key');
  t.equal(info?.fingerprint, key.fingerprint);
  t.equal(await isIssuedBy(issued.certPem, ca.certPem), true);
  t.equal(await isIssuedBy(issued.certPem, (await createCa()).certPem), false, 'another CA');
  t.equal(await isIssuedBy('not a certificate', ca.certPem), false);
  t.equal(certificateInfo(ca.certPem)?.commonName, 'CyberAlarm Central CA');
});
