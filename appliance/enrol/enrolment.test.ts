/**
 * The enrolment state machine against a tiny fake central: a real `node:https` server on 127.0.0.1
 * with a certificate from a test CA (`provisioning/ca.ts`). Central's real enrolment endpoints are
 * another module's; the end-to-end browser test joins the two.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import t from 'tap';
import { createLogger } from '../../common/logger.js';
import {
  type CertificateAuthority,
  createCa,
  deviceIdFromCertificate,
  issueDeviceCertificate,
  issueServerCertificate,
} from '../../provisioning/ca.js';
import type { EnrolmentRequest, EnrolmentStatus } from '../../provisioning/enrolment.js';
import { x509 } from '../../provisioning/x509.js';
import { Enrolment, type EnrolmentOptions, enrolmentSettings, type UplinkCredentials } from './enrolment.js';
import { createEnrolmentApi } from './http.js';
import { CA_FILE, CERT_FILE, INTEL_KEY_FILE, KEY_FILE } from './keys.js';

const intelPublicKeyPem = generateKeyPairSync('ed25519').publicKey.export({
  type: 'spki',
  format: 'pem',
}) as string;

const logger = createLogger('test', 'silent');
const root = mkdtempSync(join(tmpdir(), 'ca-enrol-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const newDir = () => join(root, `d${dirs++}`);

const ca = await createCa({ commonName: 'Test Central CA' });
const otherCa = await createCa({ commonName: 'Somebody Else CA' });

/** Signs a CSR as central would: subject CN from the CSR, OU devices, the CSR's public key. */
async function signCsr(authority: CertificateAuthority, csrPem: string, validDays: number): Promise<string> {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  if (!(await csr.verify())) throw new Error('CSR signature does not verify');
  const cn = csr.subjectName.getField('2.5.4.3')[0]!;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: `01${randomBytes(8).toString('hex')}`,
    subject: [{ CN: [cn] }, { OU: ['devices'] }],
    issuer: authority.cert.subjectName,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + validDays * 86_400_000),
    publicKey: csr.publicKey,
    signingKey: authority.keys.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
  });
  return cert.toString('pem');
}

interface Seen {
  method: string;
  path: string;
  body: unknown;
  clientCn: string | undefined;
}

/** A fake central: `answer` decides each reply; every request is recorded. */
async function fakeCentral(
  serverCa: CertificateAuthority,
  answer: (req: Seen) => Promise<{ status?: number; body: unknown }>,
): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const tls = await issueServerCertificate(serverCa, { hostnames: ['localhost'], ips: ['127.0.0.1'] });
  const seen: Seen[] = [];
  const server = createServer(
    // Client certificates are asked for (renewal) but not required (registration, polling).
    { cert: tls.certPem, key: tls.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const socket = req.socket as TLSSocket;
        const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
        const text = Buffer.concat(chunks).toString('utf8');
        const entry: Seen = {
          method: req.method ?? '',
          path: req.url ?? '',
          body: text ? JSON.parse(text) : undefined,
          clientCn: peer?.raw ? deviceIdFromCertificate(peer.raw) : undefined,
        };
        seen.push(entry);
        const reply = await answer(entry);
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(reply.body));
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  return { url: `https://127.0.0.1:${port}`, seen, server };
}

function options(
  dir: string,
  url: string,
  onCredentials: (c: UplinkCredentials | undefined) => void,
  extra: Partial<EnrolmentOptions> = {},
): EnrolmentOptions {
  return {
    identityDir: dir,
    centralUrl: url,
    api: createEnrolmentApi(url, ca.certPem),
    defaultBrokerUrl: 'mqtts://localhost:8883',
    agentVersion: 'test',
    minPollMs: 20,
    maxPollMs: 200,
    renewBeforeMs: 30 * 86_400_000,
    onCredentials,
    logger,
    ...extra,
  };
}

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const status = (deviceId: string, state: EnrolmentStatus['state'], extra: Partial<EnrolmentStatus> = {}) => ({
  body: { deviceId, state, pollAfterS: 0, ...extra } satisfies EnrolmentStatus,
});

t.test(
  'pending → register with a CSR and the pairing code → poll → approved: files written, uplink started',
  async (t) => {
    const dir = newDir();
    let polls = 0;
    let approvedCert = '';
    const central = await fakeCentral(ca, async (req) => {
      if (req.method === 'POST' && req.path === '/api/enrol/requests') {
        const body = req.body as EnrolmentRequest;
        return status(body.deviceId, 'pending', { message: 'waiting for an officer' });
      }
      const deviceId = decodeURIComponent(req.path.split('/').pop() ?? '');
      if (++polls < 3) return status(deviceId, 'pending');
      const register = central.seen[0]!.body as EnrolmentRequest;
      approvedCert ||= await signCsr(ca, register.csrPem, 397);
      return status(deviceId, 'approved', {
        certificatePem: approvedCert,
        caPem: ca.certPem,
        brokerUrl: 'mqtts://broker.example:8883',
        intelPublicKeyPem,
        config: { privacyInternalAddresses: 'pseudonymise' },
      });
    });
    const credentials: (UplinkCredentials | undefined)[] = [];
    const enrolment = new Enrolment(options(dir, central.url, (c) => credentials.push(c)));
    t.teardown(() => enrolment.close());

    const pending = enrolment.view();
    t.equal(pending.state, 'pending');
    t.match(pending.deviceId, /^ca-[a-z2-7]{20}$/);
    t.match(pending.pairingCode, /^[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    t.match(pending.qr, /^cyberalarm-enrol:1\?/);
    t.equal((statSync(join(dir, KEY_FILE)).mode & 0o777).toString(8), '600', 'the private key is 0600');
    const saved = JSON.parse(readFileSync(join(dir, 'enrolment.json'), 'utf8'));
    t.equal(saved.pairingCode, pending.pairingCode, 'the pairing code is persisted');
    t.ok(Date.parse(saved.pairingCodeCreatedAt) > 0, 'with its creation time');

    enrolment.start();
    await until('enrolled', () => (enrolment.current === 'enrolled' ? true : undefined));
    const register = central.seen[0]!;
    t.equal(register.method, 'POST');
    const body = register.body as EnrolmentRequest;
    t.equal(body.deviceId, pending.deviceId);
    t.equal(body.pairingCode, pending.pairingCode);
    t.equal(body.agentVersion, 'test');
    const csr = new x509.Pkcs10CertificateRequest(body.csrPem);
    t.equal(csr.subject, `CN=${pending.deviceId}`, 'the CSR names the device');
    t.ok(await csr.verify(), 'the CSR is signed with the device key');
    t.ok(
      central.seen.slice(1).every((s) => s.method === 'GET'),
      'then it polls',
    );

    t.equal(credentials.length, 1, 'the uplink is started once');
    t.equal(credentials[0]?.brokerUrl, 'mqtts://broker.example:8883', 'with the broker URL central sent');
    t.equal(credentials[0]?.certPem, approvedCert);
    t.equal(readFileSync(join(dir, CERT_FILE), 'utf8'), approvedCert);
    t.equal(readFileSync(join(dir, CA_FILE), 'utf8'), ca.certPem);
    t.equal(
      readFileSync(join(dir, INTEL_KEY_FILE), 'utf8'),
      intelPublicKeyPem,
      "central's intel key is kept",
    );
    t.equal((statSync(join(dir, CERT_FILE)).mode & 0o777).toString(8), '644');
    const view = enrolment.view();
    t.equal(view.state, 'enrolled');
    t.equal(view.qr, undefined, 'no QR once enrolled');
    t.equal(view.pairingCode, undefined);
    enrolment.close();

    // A restart finds the certificate: enrolled at once, same broker, no request to central.
    const before = central.seen.length;
    const again: (UplinkCredentials | undefined)[] = [];
    const restarted = new Enrolment(options(dir, central.url, (c) => again.push(c)));
    t.teardown(() => restarted.close());
    t.equal(restarted.current, 'enrolled');
    t.equal(restarted.deviceId, pending.deviceId);
    restarted.start();
    t.equal(again[0]?.brokerUrl, 'mqtts://broker.example:8883');
    await new Promise((r) => setTimeout(r, 50));
    t.equal(central.seen.length, before, 'a certificate far from expiry is not renewed');
  },
);

t.test('a server whose certificate comes from another CA is refused (pinning)', async (t) => {
  const dir = newDir();
  const impostor = await fakeCentral(otherCa, async (req) =>
    status('x', 'pending', { path: req.path } as never),
  );
  const credentials: unknown[] = [];
  const enrolment = new Enrolment(options(dir, impostor.url, (c) => credentials.push(c)));
  t.teardown(() => enrolment.close());
  enrolment.start();
  const detail = await until('an error', () => enrolment.view().detail);
  t.match(detail, /cannot reach central: .*(certificate|self.signed|issuer)/i, detail);
  t.equal(impostor.seen.length, 0, 'no request (and no pairing code) reached the impostor');
  t.equal(enrolment.current, 'pending');
  t.same(credentials, []);
});

t.test('an expired pairing code is replaced and the device registers again', async (t) => {
  const dir = newDir();
  const codes: string[] = [];
  const central = await fakeCentral(ca, async (req) => {
    if (req.method === 'POST') {
      const body = req.body as EnrolmentRequest;
      codes.push(body.pairingCode);
      return status(body.deviceId, codes.length === 1 ? 'expired' : 'pending');
    }
    return status(decodeURIComponent(req.path.split('/').pop() ?? ''), 'pending');
  });
  const enrolment = new Enrolment(options(dir, central.url, () => undefined));
  t.teardown(() => enrolment.close());
  const first = enrolment.view().pairingCode;
  enrolment.start();
  await until('a second registration', () => (codes.length >= 2 ? true : undefined));
  t.equal(codes[0], first);
  t.not(codes[1], first, 'a new code after expiry');
  t.equal(enrolment.view().pairingCode, codes[1], 'the page shows the new code');
  t.match(enrolment.view().qr, encodeURIComponent(codes[1]!).replace('%2D', '-'));
  t.equal(JSON.parse(readFileSync(join(dir, 'enrolment.json'), 'utf8')).pairingCode, codes[1]);
});

t.test('central says revoked while pending: revoked, no uplink', async (t) => {
  const dir = newDir();
  const central = await fakeCentral(ca, async (req) => {
    const id =
      req.method === 'POST'
        ? (req.body as EnrolmentRequest).deviceId
        : decodeURIComponent(req.path.split('/').pop() ?? '');
    return req.method === 'POST' ? status(id, 'pending') : status(id, 'revoked', { message: 'stolen' });
  });
  const credentials: (UplinkCredentials | undefined)[] = [];
  const enrolment = new Enrolment(options(dir, central.url, (c) => credentials.push(c)));
  t.teardown(() => enrolment.close());
  enrolment.start();
  await until('revoked', () => (enrolment.current === 'revoked' ? true : undefined));
  t.match(enrolment.view().detail, /revoked.*stolen/);
  t.same(credentials, [undefined], 'the uplink is told to stop (it never started)');
});

t.test('an approval for another key or from another CA is not installed', async (t) => {
  const dir = newDir();
  const stranger = await issueDeviceCertificate(ca, 'ca-aaaaaaaaaaaaaaaaaaaa');
  let which = 0;
  const central = await fakeCentral(ca, async (req) => {
    const id =
      req.method === 'POST'
        ? (req.body as EnrolmentRequest).deviceId
        : decodeURIComponent(req.path.split('/').pop() ?? '');
    if (req.method === 'POST') return status(id, 'pending');
    which++;
    const csrPem = (central.seen[0]!.body as EnrolmentRequest).csrPem;
    const certificatePem = which === 1 ? stranger.certPem : await signCsr(otherCa, csrPem, 30);
    return status(id, 'approved', { certificatePem, caPem: ca.certPem, brokerUrl: 'mqtts://b:8883' });
  });
  const enrolment = new Enrolment(options(dir, central.url, () => undefined));
  t.teardown(() => enrolment.close());
  enrolment.start();
  const first = await until('a refusal', () => (which >= 1 ? enrolment.view().detail : undefined));
  t.match(first, /not usable: the certificate names ca-aaaa/);
  const second = await until('a second refusal', () =>
    which >= 2 && /signed/.test(enrolment.view().detail ?? '') ? enrolment.view().detail : undefined,
  );
  t.match(second, /not signed by the CA central sent/);
  t.equal(enrolment.current, 'pending');
  t.notOk(existsSync(join(dir, CERT_FILE)), 'no certificate written');
});

t.test(
  'an intel key that is not Ed25519 is refused; an approval without one (older central) is installed',
  async (t) => {
    const dir = newDir();
    let which = 0;
    const central = await fakeCentral(ca, async (req) => {
      const id =
        req.method === 'POST'
          ? (req.body as EnrolmentRequest).deviceId
          : decodeURIComponent(req.path.split('/').pop() ?? '');
      if (req.method === 'POST') return status(id, 'pending');
      which++;
      const certificatePem = await signCsr(ca, (central.seen[0]!.body as EnrolmentRequest).csrPem, 30);
      return status(id, 'approved', {
        certificatePem,
        caPem: ca.certPem,
        brokerUrl: 'mqtts://b:8883',
        ...(which === 1 ? { intelPublicKeyPem: ca.certPem } : {}),
      });
    });
    const enrolment = new Enrolment(options(dir, central.url, () => undefined));
    t.teardown(() => enrolment.close());
    enrolment.start();
    const refused = await until('a refusal', () => (which >= 1 ? enrolment.view().detail : undefined));
    t.match(refused, /intel public key central sent is not an Ed25519/);
    await until('enrolled', () => (enrolment.current === 'enrolled' ? true : undefined));
    t.notOk(existsSync(join(dir, INTEL_KEY_FILE)), 'no key file: the appliance runs without intel');
  },
);

t.test('renewal: a certificate near expiry is renewed over mutual TLS and replaced', async (t) => {
  const dir = newDir();
  // Enrol with a short certificate first.
  let renewed = '';
  const central = await fakeCentral(ca, async (req) => {
    if (req.path === '/api/enrol/renew') {
      if (!req.clientCn) return { status: 401, body: { message: 'client certificate required' } };
      renewed = await signCsr(ca, (req.body as { csrPem: string }).csrPem, 397);
      return status(req.clientCn, 'approved', { certificatePem: renewed, caPem: ca.certPem });
    }
    const id =
      req.method === 'POST'
        ? (req.body as EnrolmentRequest).deviceId
        : decodeURIComponent(req.path.split('/').pop() ?? '');
    if (req.method === 'POST') return status(id, 'pending');
    const csrPem = (central.seen[0]!.body as EnrolmentRequest).csrPem;
    return status(id, 'approved', {
      certificatePem: await signCsr(ca, csrPem, 10),
      caPem: ca.certPem,
      brokerUrl: 'mqtts://b.example:8883',
    });
  });
  const credentials: (UplinkCredentials | undefined)[] = [];
  const enrolment = new Enrolment(options(dir, central.url, (c) => credentials.push(c)));
  t.teardown(() => enrolment.close());
  enrolment.start();
  await until('renewed', () => (credentials.length >= 2 ? true : undefined));
  const renewal = central.seen.find((s) => s.path === '/api/enrol/renew');
  t.equal(renewal?.clientCn, enrolment.deviceId, 'renewal authenticated with the current certificate');
  t.equal(readFileSync(join(dir, CERT_FILE), 'utf8'), renewed, 'device.crt replaced');
  t.equal(credentials[1]?.certPem, renewed, 'the uplink restarts with the new certificate');
  t.equal(credentials[1]?.brokerUrl, 'mqtts://b.example:8883', 'and the same broker');
  t.ok(enrolment.view().renewedAt);
  t.equal(enrolment.current, 'enrolled');
});

t.test('a pre-provisioned identity is enrolled; repeated broker refusals mean revoked', async (t) => {
  const dir = newDir();
  const issued = await issueDeviceCertificate(ca, 'site-7');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, CERT_FILE), issued.certPem);
  writeFileSync(join(dir, KEY_FILE), issued.keyPem);
  writeFileSync(join(dir, CA_FILE), ca.certPem);
  const credentials: (UplinkCredentials | undefined)[] = [];
  const stats = { connects: 0, connectFailures: 0, lastError: undefined as string | undefined };
  const enrolment = new Enrolment({
    ...options(dir, '', (c) => credentials.push(c)),
    api: undefined,
    refusalsBeforeRevoked: 3,
  });
  t.teardown(() => enrolment.close());
  t.equal(enrolment.deviceId, 'site-7', 'the device id is the certificate CN');
  enrolment.start(() => stats);
  t.equal(credentials[0]?.brokerUrl, 'mqtts://localhost:8883', 'the configured broker');
  stats.connects = 1;
  enrolment.checkUplink();
  for (let i = 1; i <= 2; i++) {
    stats.connectFailures = i;
    stats.lastError = 'Connection refused: Not authorized';
    enrolment.checkUplink();
  }
  t.equal(enrolment.current, 'enrolled', 'two refusals are not enough');
  stats.connectFailures = 3;
  enrolment.checkUplink();
  t.equal(enrolment.current, 'revoked');
  t.equal(credentials.at(-1), undefined, 'the uplink is stopped');
  t.match(enrolment.view().detail, /refused.*3 times/);
  enrolment.close();
  // Broker refusals alone are not remembered: a restart tries again.
  const restarted = new Enrolment({ ...options(dir, '', () => undefined), api: undefined });
  t.teardown(() => restarted.close());
  t.equal(restarted.current, 'enrolled');
});

t.test('settings: missing enrolmentUrl or CA file stop start-up naming the key', async (t) => {
  const dir = newDir();
  t.throws(() => enrolmentSettings({ enrolmentUrl: '', centralCaFile: '' }, dir), {
    name: 'ConfigError',
    message: /"enrolmentUrl" \(--enrolment-url\) is required/,
  });
  t.throws(() => enrolmentSettings({ enrolmentUrl: 'https://c:8443', centralCaFile: '' }, dir), {
    message: /"centralCaFile"/,
  });
  t.throws(
    () => enrolmentSettings({ enrolmentUrl: 'https://c:8443', centralCaFile: join(dir, 'missing.pem') }, dir),
    { message: /"centralCaFile".*missing\.pem/ },
  );
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'ca.pem'), ca.certPem);
  t.same(enrolmentSettings({ enrolmentUrl: 'https://c:8443/', centralCaFile: join(dir, 'ca.pem') }, dir), {
    centralUrl: 'https://c:8443',
    pinnedCaPem: ca.certPem,
  });
});
