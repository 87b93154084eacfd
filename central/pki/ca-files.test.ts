import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import t from 'tap';
import {
  type CertificateAuthority,
  certificateIdentity,
  createCa,
  deviceIdFromCertificate,
  issueIngestCertificate,
  issueServerCertificate,
  subjectAltNames,
} from '../../provisioning/ca.js';
import { initDevCa, loadOrCreateCa, writeDeviceIdentity } from './ca-files.js';

const mode = (file: string) => statSync(file).mode & 0o777;
const read = (file: string) => readFileSync(file, 'utf8');

function issuedBy(certPem: string, caPem: string): boolean {
  const cert = new X509Certificate(certPem);
  const caCert = new X509Certificate(caPem);
  return cert.checkIssued(caCert) && cert.verify(caCert.publicKey);
}

function keyMatches(certFile: string, keyFile: string): boolean {
  return new X509Certificate(read(certFile)).checkPrivateKey(createPrivateKey(read(keyFile)));
}

/** Every file's contents, so "nothing changed" is one comparison. */
function snapshot(files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([name, file]) => [name, read(file)]));
}

t.test('loadOrCreateCa creates a CA with a private key file and directory', async (t) => {
  const dir = join(t.testdir(), 'nested', 'ca');
  const ca = await loadOrCreateCa(dir);
  t.equal(read(join(dir, 'ca.crt')), ca.certPem);
  t.equal(read(join(dir, 'ca.key')), ca.keyPem);
  t.equal(mode(join(dir, 'ca.key')), 0o600, 'key is 0600');
  t.equal(mode(dir), 0o700, 'directory is 0700');
  t.ok(new X509Certificate(ca.certPem).ca);

  const again = await loadOrCreateCa(dir);
  t.equal(again.certPem, ca.certPem, 'second call loads, does not recreate');
  t.equal(again.keyPem, ca.keyPem);
});

t.test('loadOrCreateCa refuses half a CA and leaves it alone', async (t) => {
  const ca = await createCa();
  const onlyCert = t.testdir({ 'ca.crt': ca.certPem });
  await t.rejects(loadOrCreateCa(onlyCert), /CA is incomplete: .*ca\.crt exists but .*ca\.key does not/);
  t.equal(read(join(onlyCert, 'ca.crt')), ca.certPem, 'certificate untouched');
  t.notOk(existsSync(join(onlyCert, 'ca.key')), 'no key invented');

  const onlyKey = t.testdir({ 'ca.key': ca.keyPem });
  await t.rejects(loadOrCreateCa(onlyKey), /ca\.key exists but .*ca\.crt does not/);
  t.equal(read(join(onlyKey, 'ca.key')), ca.keyPem);
  t.notOk(existsSync(join(onlyKey, 'ca.crt')));
});

t.test('loadOrCreateCa refuses a key that belongs to another CA', async (t) => {
  const [a, b] = [await createCa(), await createCa()];
  const dir = t.testdir({ 'ca.crt': a.certPem, 'ca.key': b.keyPem });
  await t.rejects(loadOrCreateCa(dir), /does not match/);
});

t.test('writeDeviceIdentity writes a verifiable identity the agent can read back', async (t) => {
  const ca = await loadOrCreateCa(join(t.testdir(), 'ca'));
  const out = join(t.testdir(), 'identity', 'shop-1');
  const files = await writeDeviceIdentity(out, 'shop-1', ca);
  t.same(files, {
    certFile: join(out, 'device.crt'),
    keyFile: join(out, 'device.key'),
    caFile: join(out, 'ca.crt'),
  });
  t.equal(mode(files.keyFile), 0o600, 'device key is 0600');
  t.equal(mode(out), 0o700);
  t.equal(read(files.caFile), ca.certPem);
  t.equal(deviceIdFromCertificate(read(files.certFile)), 'shop-1', 'device id round-trips');
  t.ok(issuedBy(read(files.certFile), ca.certPem), 'chains to the CA');
  t.ok(keyMatches(files.certFile, files.keyFile), 'key belongs to the certificate');
});

t.test('rewriting an identity tightens a pre-existing loose key file', async (t) => {
  const ca = await createCa();
  const out = t.testdir({ 'device.key': 'old key' });
  chmodSync(join(out, 'device.key'), 0o644);
  const files = await writeDeviceIdentity(out, 'dev-2', ca);
  t.equal(mode(files.keyFile), 0o600);
  t.not(read(files.keyFile), 'old key');
  t.ok(keyMatches(files.certFile, files.keyFile));
});

t.test('writeDeviceIdentity refuses a reserved id and writes nothing', async (t) => {
  const ca = await createCa();
  const out = join(t.testdir(), 'id');
  await t.rejects(writeDeviceIdentity(out, 'central-ingest', ca), /reserved/);
  t.notOk(existsSync(out));
});

t.test('initDevCa builds the dev PKI once and then leaves it alone', async (t) => {
  const dataDir = t.testdir();
  const files = await initDevCa(dataDir, { hostnames: ['central.test'], ips: ['10.1.2.3'] });
  t.same(files, {
    caCert: join(dataDir, 'ca', 'ca.crt'),
    caKey: join(dataDir, 'ca', 'ca.key'),
    ingestCaCert: join(dataDir, 'ca', 'ingest-ca.crt'),
    serverCert: join(dataDir, 'tls', 'server.crt'),
    serverKey: join(dataDir, 'tls', 'server.key'),
    ingestCert: join(dataDir, 'tls', 'ingest.crt'),
    ingestKey: join(dataDir, 'tls', 'ingest.key'),
  });
  for (const key of [files.caKey, files.serverKey, files.ingestKey]) t.equal(mode(key), 0o600, key);
  t.equal(mode(join(dataDir, 'tls')), 0o700);
  t.equal(mode(join(dataDir, 'ca')), 0o700);

  const caPem = read(files.caCert);
  t.ok(issuedBy(read(files.serverCert), caPem));
  t.ok(issuedBy(read(files.ingestCert), read(files.ingestCaCert)), 'ingest: issued by the ingest CA');
  t.notOk(
    issuedBy(read(files.ingestCert), caPem),
    'not by the device CA (the worker listener trusts only the ingest CA)',
  );
  t.equal(mode(join(dataDir, 'ca', 'ingest-ca.key')), 0o600);
  t.ok(keyMatches(files.serverCert, files.serverKey));
  t.ok(keyMatches(files.ingestCert, files.ingestKey));
  t.same(subjectAltNames(read(files.serverCert)), {
    dnsNames: ['central.test', 'localhost'],
    ips: ['10.1.2.3', '127.0.0.1', '::1'],
  });
  t.same(certificateIdentity(read(files.ingestCert)), { kind: 'ingest' });

  const before = snapshot({ ...files });
  const second = await initDevCa(dataDir, { hostnames: ['central.test'], ips: ['10.1.2.3'] });
  t.same(second, files);
  t.same(snapshot({ ...files }), before, 'second call writes nothing and makes no new keys');

  await initDevCa(dataDir, { hostnames: ['CENTRAL.test'], ips: [] });
  t.same(snapshot({ ...files }), before, 'a subset of the names (any case) is already served');
  await initDevCa(dataDir, { hostnames: [], ips: ['0:0:0:0:0:0:0:1'] });
  t.same(snapshot({ ...files }), before, 'IPv6 compared in canonical form');
});

t.test('initDevCa reissues the server certificate for a new name, and only it', async (t) => {
  const dataDir = t.testdir();
  const files = await initDevCa(dataDir, { hostnames: [], ips: [] });
  const before = snapshot({ ...files });
  await initDevCa(dataDir, { hostnames: ['broker.test'], ips: ['192.0.2.7'] });
  const after = snapshot({ ...files });
  t.not(after.serverCert, before.serverCert);
  t.not(after.serverKey, before.serverKey, 'new key with the new certificate');
  t.ok(keyMatches(files.serverCert, files.serverKey));
  t.same(subjectAltNames(after.serverCert!).dnsNames, ['broker.test', 'localhost']);
  t.same(subjectAltNames(after.serverCert!).ips, ['192.0.2.7', '127.0.0.1', '::1']);
  for (const unchanged of ['caCert', 'caKey', 'ingestCert', 'ingestKey']) {
    t.equal(after[unchanged], before[unchanged], `${unchanged} untouched`);
  }
  t.equal(mode(files.serverKey), 0o600);
});

t.test('initDevCa renews a server certificate expiring within 30 days', async (t) => {
  const dataDir = t.testdir();
  const files = await initDevCa(dataDir, { hostnames: [], ips: [] });
  const ca = await loadOrCreateCa(join(dataDir, 'ca'));
  const expiring = await issueServerCertificate(ca, { hostnames: [], ips: [], validDays: 20 });
  writeFileSync(files.serverCert, expiring.certPem);
  writeFileSync(files.serverKey, expiring.keyPem);
  await initDevCa(dataDir, { hostnames: [], ips: [] });
  t.not(read(files.serverCert), expiring.certPem, 'replaced');
  const notAfter = Date.parse(new X509Certificate(read(files.serverCert)).validTo);
  t.ok(notAfter - Date.now() > 800 * 86_400_000, 'fresh validity');
});

t.test('initDevCa replaces certificates that do not belong to its CA or their key', async (t) => {
  const dataDir = t.testdir();
  const files = await initDevCa(dataDir, { hostnames: [], ips: [] });
  const stranger: CertificateAuthority = await createCa();
  const foreign = await issueServerCertificate(stranger, { hostnames: [], ips: [] });
  writeFileSync(files.serverCert, foreign.certPem);
  writeFileSync(files.serverKey, foreign.keyPem);
  writeFileSync(files.ingestKey, foreign.keyPem, { mode: 0o644 });
  await initDevCa(dataDir, { hostnames: [], ips: [] });
  const caPem = read(files.caCert);
  t.ok(issuedBy(read(files.serverCert), caPem), 'server certificate from the right CA again');
  t.ok(keyMatches(files.ingestCert, files.ingestKey), 'ingest pair matches again');
  t.equal(mode(files.ingestKey), 0o600);

  writeFileSync(files.serverCert, 'not a certificate');
  await initDevCa(dataDir, { hostnames: [], ips: [] });
  t.ok(issuedBy(read(files.serverCert), caPem), 'garbage on disk is replaced');
});

t.test(
  'initDevCa reissues an ingest certificate that the device CA signed (before the ingest CA)',
  async (t) => {
    const dataDir = t.testdir();
    const files = await initDevCa(dataDir, { hostnames: [], ips: [] });
    const ca = await loadOrCreateCa(join(dataDir, 'ca'));
    const old = await issueIngestCertificate(ca);
    writeFileSync(files.ingestCert, old.certPem);
    writeFileSync(files.ingestKey, old.keyPem, { mode: 0o600 });
    await initDevCa(dataDir, { hostnames: [], ips: [] });
    t.not(read(files.ingestCert), old.certPem, 'replaced');
    t.ok(issuedBy(read(files.ingestCert), read(files.ingestCaCert)), 'by the ingest CA');
    t.same(certificateIdentity(read(files.ingestCert)), { kind: 'ingest' });
  },
);

t.test('initDevCa returns absolute paths for a relative data directory', async (t) => {
  const dataDir = t.testdir();
  const files = await initDevCa(relative(process.cwd(), dataDir), { hostnames: [], ips: [] });
  for (const path of Object.values(files)) t.ok(isAbsolute(path) && existsSync(path), path);
  t.equal(files.caCert, join(dataDir, 'ca', 'ca.crt'));
});

t.test('initDevCa stops on half a CA instead of replacing it', async (t) => {
  const ca = await createCa();
  const dataDir = t.testdir({ ca: { 'ca.crt': ca.certPem } });
  await t.rejects(initDevCa(dataDir, { hostnames: [], ips: [] }), /CA is incomplete/);
  t.notOk(existsSync(join(dataDir, 'tls', 'server.crt')));
});
