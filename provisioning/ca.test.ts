import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import fc from 'fast-check';
import t from 'tap';
import {
  type CertificateAuthority,
  caFromPem,
  certificateIdentity,
  createCa,
  deviceIdFromCertificate,
  fingerprintSha256,
  INGEST_CLIENT_CN,
  issueClientCertificate,
  issueDeviceCertificate,
  issueIngestCertificate,
  issueServerCertificate,
  subjectAltNames,
} from './ca.js';
import { type X509, x509 } from './x509.js';

const DAY_MS = 86_400_000;

const ca = await createCa();
const foreignCa = await createCa({ commonName: 'Someone Else CA' });

/** Node's own (OpenSSL) view of the chain, independent of the library that built it. */
function issuedBy(certPem: string, authority: CertificateAuthority): boolean {
  const cert = new X509Certificate(certPem);
  const caCert = new X509Certificate(authority.certPem);
  return cert.checkIssued(caCert) && cert.verify(caCert.publicKey);
}

function daysValid(cert: X509.X509Certificate): number {
  return (cert.notAfter.getTime() - Date.now()) / DAY_MS;
}

t.test('createCa: self-signed P-256 root with critical CA constraints', async (t) => {
  const cert = new x509.X509Certificate(ca.certPem);
  t.equal(cert.subject, 'CN=CyberAlarm Central CA');
  t.equal(cert.issuer, cert.subject);
  t.ok(await cert.verify({ publicKey: cert.publicKey, signatureOnly: true }), 'self-signature verifies');
  t.match(cert.publicKey.algorithm, { name: 'ECDSA', namedCurve: 'P-256' });
  t.match(cert.signatureAlgorithm, { name: 'ECDSA', hash: { name: 'SHA-256' } });

  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  t.ok(basic?.ca, 'cA true');
  t.equal(basic?.pathLength, 0);
  t.equal(basic?.critical, true);
  const usage = cert.getExtension(x509.KeyUsagesExtension);
  t.equal(usage?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  t.equal(usage?.critical, true);
  t.ok(cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId, 'has a subject key identifier');
  t.ok(new X509Certificate(ca.certPem).ca, 'OpenSSL sees a CA');

  t.ok(daysValid(cert) > 3649 && daysValid(cert) < 3651, '10 years by default');
  t.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n/, 'PKCS#8 PEM');
});

t.test('createCa honours commonName and validDays; rejects nonsense validity', async (t) => {
  const custom = await createCa({ commonName: 'Test Root', validDays: 30 });
  t.equal(custom.cert.subject, 'CN=Test Root');
  t.ok(daysValid(custom.cert) > 29 && daysValid(custom.cert) < 31);
  await t.rejects(createCa({ validDays: 0 }), /validDays/);
});

t.test('caFromPem: round-trips and signs certificates the original CA vouches for', async (t) => {
  const loaded = await caFromPem(ca.certPem, ca.keyPem);
  t.equal(loaded.cert.serialNumber, ca.cert.serialNumber);
  const device = await issueDeviceCertificate(loaded, 'reloaded-1');
  t.ok(issuedBy(device.certPem, ca), 'issued by the reloaded CA, verifies against the original');
  t.notOk(issuedBy(device.certPem, foreignCa));
});

t.test('caFromPem refuses a key that does not match, and a certificate that is not a CA', async (t) => {
  await t.rejects(caFromPem(ca.certPem, foreignCa.keyPem), /does not match/);
  const leaf = await issueIngestCertificate(ca);
  await t.rejects(caFromPem(leaf.certPem, leaf.keyPem), /not a CA/);
});

t.test(
  'server certificate: SAN always has localhost and loopback, EKU serverAuth, chains to CA',
  async (t) => {
    const issued = await issueServerCertificate(ca, {
      hostnames: ['central.example.org', 'Broker.Example.org'],
      ips: ['192.0.2.10', '2001:db8:0:0::1'],
    });
    t.ok(issuedBy(issued.certPem, ca));
    t.notOk(issuedBy(issued.certPem, foreignCa));
    const cert = new x509.X509Certificate(issued.certPem);
    t.ok(await cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true }));
    t.equal(cert.subject, 'CN=central.example.org', 'CN is the first hostname');
    t.same(subjectAltNames(cert), {
      dnsNames: ['central.example.org', 'broker.example.org', 'localhost'],
      ips: ['192.0.2.10', '2001:db8::1', '127.0.0.1', '::1'],
    });
    t.same(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages, [x509.ExtendedKeyUsage.serverAuth]);
    const usage = cert.getExtension(x509.KeyUsagesExtension);
    t.equal(usage?.usages, x509.KeyUsageFlags.digitalSignature);
    t.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, false, 'a leaf cannot sign');
    t.equal(
      cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId,
      ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
      'AKI is the CA SKI',
    );
    t.ok(daysValid(cert) > 824 && daysValid(cert) < 826);

    const node = new X509Certificate(issued.certPem);
    t.ok(node.checkHost('localhost'));
    t.ok(node.checkIP('127.0.0.1'));
    t.ok(node.checkIP('::1'));
    t.ok(node.checkIP('2001:db8::1'));
    t.notOk(node.checkHost('elsewhere.example.org'));
    t.ok(node.checkPrivateKey(createPrivateKey(issued.keyPem)));
  },
);

t.test('server certificate with no names still serves localhost; bad names are refused', async (t) => {
  const issued = await issueServerCertificate(ca, { hostnames: [], ips: ['127.0.0.1'] });
  const cert = new x509.X509Certificate(issued.certPem);
  t.equal(cert.subject, 'CN=localhost');
  t.same(subjectAltNames(cert), { dnsNames: ['localhost'], ips: ['127.0.0.1', '::1'] }, 'no duplicates');
  await t.rejects(issueServerCertificate(ca, { hostnames: [], ips: ['not-an-ip'] }), /not an IP address/);
  await t.rejects(issueServerCertificate(ca, { hostnames: ['10.0.0.1'], ips: [] }), /not a DNS name/);
});

t.test('serial numbers are 16 random positive octets', async (t) => {
  const serials = new Set<string>();
  for (let i = 0; i < 8; i++) {
    const { certPem } = await issueIngestCertificate(ca);
    const serial = new x509.X509Certificate(certPem).serialNumber;
    t.equal(serial.length, 32, '16 octets');
    t.ok(Number.parseInt(serial.slice(0, 2), 16) < 0x80, 'positive');
    serials.add(serial);
  }
  t.equal(serials.size, 8, 'all different');
});

t.test('client certificates: subject CN + OU, EKU clientAuth, validity by OU', async (t) => {
  const device = await issueDeviceCertificate(ca, 'shop-17.lan');
  const cert = new x509.X509Certificate(device.certPem);
  t.equal(cert.subject, 'CN=shop-17.lan, OU=devices');
  t.same(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages, [x509.ExtendedKeyUsage.clientAuth]);
  t.equal(cert.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature);
  t.equal(cert.getExtension(x509.SubjectAlternativeNameExtension), null, 'clients carry no SAN');
  t.ok(daysValid(cert) > 396 && daysValid(cert) < 398, '397 days for devices');
  t.ok(issuedBy(device.certPem, ca));

  const ingest = new x509.X509Certificate((await issueIngestCertificate(ca)).certPem);
  t.equal(ingest.subject, `CN=${INGEST_CLIENT_CN}, OU=central`);
  t.ok(daysValid(ingest) > 824 && daysValid(ingest) < 826, '825 days for central');

  const short = await issueClientCertificate(ca, {
    commonName: 'x',
    organizationalUnit: 'devices',
    validDays: 5,
  });
  t.ok(daysValid(new x509.X509Certificate(short.certPem)) < 6);
});

t.test('device ids: topic rules enforced, central* reserved', async (t) => {
  for (const bad of ['', 'a/b', 'dev+1', 'dev#', '-leading', 'x'.repeat(65), 'has space']) {
    await t.rejects(issueDeviceCertificate(ca, bad), /invalid/, JSON.stringify(bad));
  }
  for (const reserved of ['central', 'central-ingest', 'central2', 'Central-Ops']) {
    await t.rejects(
      issueDeviceCertificate(ca, reserved),
      /reserved: ids starting with 'central' belong to central's own clients/,
      reserved,
    );
  }
  for (const fine of ['my-central', 'x.central', 'centra1']) {
    t.equal(
      deviceIdFromCertificate((await issueDeviceCertificate(ca, fine)).certPem),
      fine,
      'only the prefix is reserved',
    );
  }
});

t.test('device id round-trips through deviceIdFromCertificate and certificateIdentity', async (t) => {
  const { certPem } = await issueDeviceCertificate(ca, 'dev_0042');
  t.equal(deviceIdFromCertificate(certPem), 'dev_0042');
  const der = new X509Certificate(certPem).raw;
  t.same(certificateIdentity(der), { kind: 'device', deviceId: 'dev_0042' });
  t.same(certificateIdentity(certPem), { kind: 'device', deviceId: 'dev_0042' });
  // A DER that sits at an offset inside a larger pooled buffer, as socket buffers do.
  const pooled = Buffer.concat([Buffer.from('junk'), der, Buffer.from('more')]).subarray(4, 4 + der.length);
  t.same(certificateIdentity(pooled), { kind: 'device', deviceId: 'dev_0042' });
});

t.test('ingest identity; anything else is nobody', async (t) => {
  const ingest = await issueIngestCertificate(ca);
  t.same(certificateIdentity(ingest.certPem), { kind: 'ingest' });
  t.equal(deviceIdFromCertificate(ingest.certPem), undefined, 'ingest is not a device');

  const otherCentral = await issueClientCertificate(ca, {
    commonName: 'central-portal',
    organizationalUnit: 'central',
  });
  t.equal(
    certificateIdentity(otherCentral.certPem),
    undefined,
    'only the ingest CN is known under OU central',
  );
  const sneaky = await issueClientCertificate(ca, {
    commonName: 'central-ingest',
    organizationalUnit: 'devices',
  });
  t.equal(certificateIdentity(sneaky.certPem), undefined, 'a device may not be called central*');
  const server = await issueServerCertificate(ca, { hostnames: ['dev1'], ips: [] });
  t.equal(certificateIdentity(server.certPem), undefined, 'no OU: not a client identity');
  t.equal(certificateIdentity(ca.certPem), undefined);
  // A value cannot forge another attribute: Node escapes control characters and RFC 2253 specials.
  for (const commonName of ['central-ingest\nOU=central', 'dev-1\nOU=devices', 'dev-1,OU=devices']) {
    const forged = await issueClientCertificate(ca, { commonName, organizationalUnit: 'central' });
    t.equal(certificateIdentity(forged.certPem), undefined, JSON.stringify(commonName));
  }
});

t.test('identity does not imply trust: a foreign CA certificate still parses', async (t) => {
  const foreign = await issueDeviceCertificate(foreignCa, 'dev-1');
  t.equal(deviceIdFromCertificate(foreign.certPem), 'dev-1');
  t.notOk(issuedBy(foreign.certPem, ca), 'but it does not chain to our CA');
});

t.test('certificateIdentity and deviceIdFromCertificate never throw', async (t) => {
  for (const junk of [
    undefined,
    '',
    'hello',
    '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----',
    Buffer.alloc(0),
  ]) {
    t.equal(certificateIdentity(junk), undefined);
    t.equal(deviceIdFromCertificate(junk), undefined);
  }
  const der = new X509Certificate((await issueDeviceCertificate(ca, 'fuzz-1')).certPem).raw;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      certificateIdentity(bytes);
    }),
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (text) => {
      certificateIdentity(text);
    }),
  );
  // Corrupt a real certificate in one place; a parse that succeeds must still give a sane answer.
  fc.assert(
    fc.property(fc.nat(der.length - 1), fc.integer({ min: 0, max: 255 }), (at, value) => {
      const copy = Buffer.from(der);
      copy[at] = value;
      const identity = certificateIdentity(copy);
      return identity === undefined || identity.kind === 'device';
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.nat(der.length), (length) => {
      certificateIdentity(der.subarray(0, length));
    }),
  );
});

t.test('fingerprintSha256 is the colon-separated SHA-256 of the DER', async (t) => {
  const { certPem } = await issueDeviceCertificate(ca, 'fp-1');
  const der = new X509Certificate(certPem).raw;
  const expected = createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
  t.equal(fingerprintSha256(certPem), expected);
  t.equal(fingerprintSha256(der), expected);
  t.not(fingerprintSha256(ca.certPem), expected);
});

interface Attempt {
  /** The server accepted the handshake; set only then. */
  readonly serverAuthorized?: boolean;
  readonly identity?: ReturnType<typeof certificateIdentity>;
  readonly serverError?: Error;
  readonly authorizationError?: Error | string | undefined;
}

t.test('mutual TLS with a node:tls server trusting only our CA', async (t) => {
  const server = await issueServerCertificate(ca, { hostnames: [], ips: [] });
  const device = await issueDeviceCertificate(ca, 'tls-dev-1');
  const ingest = await issueIngestCertificate(ca);
  const foreignDevice = await issueDeviceCertificate(foreignCa, 'tls-dev-1');

  const tlsServer = createServer({
    cert: server.certPem,
    key: server.keyPem,
    ca: [ca.certPem],
    requestCert: true,
    rejectUnauthorized: true,
  });
  tlsServer.listen(0, '127.0.0.1');
  await once(tlsServer, 'listening');
  t.teardown(() => tlsServer.close());
  const { port } = tlsServer.address() as AddressInfo;

  // Exactly one of secureConnection / tlsClientError fires per attempt on the server.
  // Exactly one of secureConnection / tlsClientError fires per attempt on the server. The client only
  // closes once the server has decided: in TLS 1.3 its own handshake completes before the server has
  // checked the client certificate, and closing early would turn a rejection into a hang-up.
  const attempt = (client: { cert?: string; key?: string; servername?: string }): Promise<Attempt> =>
    new Promise((resolveAttempt) => {
      const socket = connect({ host: '127.0.0.1', port, ca: [ca.certPem], ...client });
      socket.on('error', () => {});
      const finish = (result: Attempt) => {
        socket.destroy();
        resolveAttempt(result);
      };
      const onSecure = (serverSide: TLSSocket) => {
        tlsServer.off('tlsClientError', onError);
        finish({
          serverAuthorized: serverSide.authorized,
          identity: certificateIdentity(serverSide.getPeerCertificate().raw),
        });
        serverSide.destroy();
      };
      // Node destroys an unauthorised peer silently (the error reads "socket hang up"); the reason is
      // on the server-side socket.
      const onError = (err: Error, serverSide: TLSSocket) => {
        tlsServer.off('secureConnection', onSecure);
        finish({ serverError: err, authorizationError: serverSide.authorizationError });
      };
      tlsServer.once('secureConnection', onSecure);
      tlsServer.once('tlsClientError', onError);
    });

  const ok = await attempt({ cert: device.certPem, key: device.keyPem });
  t.equal(ok.serverAuthorized, true, 'device certificate accepted');
  t.same(ok.identity, { kind: 'device', deviceId: 'tls-dev-1' }, 'identity from the peer DER');

  const byName = await attempt({ cert: ingest.certPem, key: ingest.keyPem, servername: 'localhost' });
  t.equal(byName.serverAuthorized, true, 'client verified the server as localhost too');
  t.same(byName.identity, { kind: 'ingest' });

  const foreign = await attempt({ cert: foreignDevice.certPem, key: foreignDevice.keyPem });
  t.equal(foreign.serverAuthorized, undefined, 'foreign-CA client never gets a session');
  t.ok(foreign.serverError, 'handshake failed on the server');
  t.match(
    foreign.authorizationError,
    /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/,
    'rejected because the chain does not verify',
  );

  const anonymous = await attempt({});
  t.equal(anonymous.serverAuthorized, undefined, 'no client certificate, no session');
  t.match(anonymous.serverError?.message, /certificate/);

  // And the other direction: a client that trusts only the foreign CA refuses our server.
  const clientRejects = await new Promise<Error | undefined>((resolveClient) => {
    tlsServer.once('tlsClientError', () => {});
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca: [foreignCa.certPem],
      cert: device.certPem,
      key: device.keyPem,
    });
    socket.on('secureConnect', () => {
      socket.end();
      resolveClient(undefined);
    });
    socket.on('error', resolveClient);
  });
  t.match(clientRejects?.message, /certificate/, 'client refuses a server from a CA it does not trust');
});
