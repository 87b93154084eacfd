/**
 * A minimal certificate authority for CyberAlarm's mutual TLS: one self-signed root that issues
 * central's server certificate, central's own MQTT client (ingest) certificate and one client
 * certificate per device. ECDSA P-256 with SHA-256 throughout. No file I/O here: only central keeps
 * a CA, on disk (central/pki/ca-files.ts).
 *
 * Identity comes from the subject: OU says what kind of client it is (`devices` or `central`) and CN
 * names it. Parsing a certificate's identity never implies trust: the chain is checked by TLS
 * (`requestCert` + `rejectUnauthorized` against the CA) before the broker asks who the peer is.
 */
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { isIP, SocketAddress } from 'node:net';
import { isValidDeviceId } from '../protocol/topics.js';
import {
  INGEST_CLIENT_CN,
  isIssuableDeviceId,
  isReservedDeviceId,
  type OrganizationalUnit,
  OU_CENTRAL,
  OU_DEVICES,
  RESERVED_DEVICE_ID_PREFIX,
} from './certificate-identity.js';
import { type X509, x509 } from './x509.js';

export {
  type CertificateIdentity,
  certificateIdentity,
  deviceIdFromCertificate,
  fingerprintSha256,
  INGEST_CLIENT_CN,
  isIssuableDeviceId,
  isReservedDeviceId,
  type OrganizationalUnit,
  RESERVED_DEVICE_ID_PREFIX,
} from './certificate-identity.js';

export type CryptoKeyPair = webcrypto.CryptoKeyPair;

export interface CertificateAuthority {
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
  readonly cert: X509.X509Certificate;
  readonly keys: CryptoKeyPair;
}

export interface IssuedCertificate {
  readonly certPem: string;
  /** PKCS#8 PEM of the new key pair; only the subject should ever hold it. */
  readonly keyPem: string;
}

export const DEFAULT_CA_COMMON_NAME = 'CyberAlarm Central CA';
export const DEFAULT_CA_VALID_DAYS = 3650;
/** 825 days is the longest validity mainstream TLS clients have accepted for server certificates. */
export const DEFAULT_SERVER_VALID_DAYS = 825;
/** Devices rotate yearly-ish (397 days = one year plus a renewal margin); central's own client 825. */
export const DEFAULT_CLIENT_VALID_DAYS: Readonly<Record<OrganizationalUnit, number>> = {
  devices: 397,
  central: 825,
};
/** Names every server certificate carries so local tools and tests can connect. */
export const ALWAYS_DNS_NAMES: readonly string[] = ['localhost'];
export const ALWAYS_IPS: readonly string[] = ['127.0.0.1', '::1'];

const OID_CN = '2.5.4.3';
const DAY_MS = 86_400_000;
/** Backdate notBefore so a device whose clock runs a little behind still accepts a fresh certificate. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;
const KEY_ALGORITHM: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

export async function createCa(
  options: { commonName?: string; validDays?: number } = {},
): Promise<CertificateAuthority> {
  const keys = await generateKeys();
  const { notBefore, notAfter } = validity(options.validDays ?? DEFAULT_CA_VALID_DAYS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: [{ CN: [options.commonName ?? DEFAULT_CA_COMMON_NAME] }],
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      // pathLen 0: this CA signs leaves only, never an intermediate.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportPrivateKeyPem(keys.privateKey), cert, keys };
}

/** Loads a CA from its certificate and PKCS#8 key; throws when they do not belong together. */
export async function caFromPem(certPem: string, keyPem: string): Promise<CertificateAuthority> {
  const cert = new x509.X509Certificate(certPem);
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  if (!basic?.ca)
    throw new Error(`CA certificate ${cert.subject} is not a CA (BasicConstraints cA is not set)`);
  const privateKeyObject = createPrivateKey(keyPem);
  const keySpki = createPublicKey(privateKeyObject).export({ type: 'spki', format: 'der' });
  if (!keySpki.equals(Buffer.from(cert.publicKey.rawData))) {
    throw new Error(`CA private key does not match the public key of CA certificate ${cert.subject}`);
  }
  const pkcs8 = privateKeyObject.export({ type: 'pkcs8', format: 'der' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, KEY_ALGORITHM, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', keySpki, KEY_ALGORITHM, true, ['verify']);
  return { certPem: cert.toString('pem'), keyPem, cert, keys: { privateKey, publicKey } };
}

export async function issueServerCertificate(
  ca: CertificateAuthority,
  options: { hostnames: readonly string[]; ips: readonly string[]; validDays?: number },
): Promise<IssuedCertificate> {
  const dnsNames = unique([...options.hostnames.map((h) => h.trim().toLowerCase()), ...ALWAYS_DNS_NAMES]);
  for (const name of dnsNames) {
    if (name === '' || isIP(name) !== 0 || /[\s/,]/.test(name)) {
      throw new Error(`server certificate hostname ${JSON.stringify(name)} is not a DNS name`);
    }
  }
  const ips = unique([...options.ips, ...ALWAYS_IPS].map(normaliseIp));
  const altNames: X509.JsonGeneralName[] = [
    ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...ips.map((value) => ({ type: 'ip' as const, value })),
  ];
  return issue(ca, {
    subject: [{ CN: [dnsNames[0]!] }],
    validDays: options.validDays ?? DEFAULT_SERVER_VALID_DAYS,
    extendedKeyUsage: x509.ExtendedKeyUsage.serverAuth,
    extraExtensions: [new x509.SubjectAlternativeNameExtension(altNames, false)],
  });
}

export async function issueClientCertificate(
  ca: CertificateAuthority,
  options: { commonName: string; organizationalUnit: OrganizationalUnit; validDays?: number },
): Promise<IssuedCertificate> {
  if (options.commonName === '') throw new Error('client certificate common name is empty');
  return issue(ca, {
    // Order as written in the brief: `CN=<name>, OU=<ou>`.
    subject: [{ CN: [options.commonName] }, { OU: [options.organizationalUnit] }],
    validDays: options.validDays ?? DEFAULT_CLIENT_VALID_DAYS[options.organizationalUnit],
    extendedKeyUsage: x509.ExtendedKeyUsage.clientAuth,
    extraExtensions: [],
  });
}

export async function issueDeviceCertificate(
  ca: CertificateAuthority,
  deviceId: string,
  options: { validDays?: number } = {},
): Promise<IssuedCertificate> {
  if (!isValidDeviceId(deviceId)) {
    throw new Error(
      `device id ${JSON.stringify(deviceId)} is invalid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  if (isReservedDeviceId(deviceId)) {
    throw new Error(
      `device id ${JSON.stringify(deviceId)} is reserved: ids starting with '${RESERVED_DEVICE_ID_PREFIX}' belong to central's own clients`,
    );
  }
  return issueClientCertificate(ca, { commonName: deviceId, organizationalUnit: OU_DEVICES, ...options });
}

export async function issueIngestCertificate(
  ca: CertificateAuthority,
  options: { validDays?: number } = {},
): Promise<IssuedCertificate> {
  return issueClientCertificate(ca, {
    commonName: INGEST_CLIENT_CN,
    organizationalUnit: OU_CENTRAL,
    ...options,
  });
}

/** Larger than any CSR a P-256 device sends (about 500 bytes of PEM); checked before parsing. */
export const MAX_CSR_PEM_BYTES = 8192;

/** What a verified device CSR says: its subject CN and its public key (SPKI DER). */
export interface DeviceCsr {
  readonly commonName: string;
  readonly spkiDer: Uint8Array;
  readonly publicKey: webcrypto.CryptoKey;
}

export interface IssuedFromCsr {
  readonly certPem: string;
  /** Hex, as in `X509CertificateGenerator`'s serialNumber and the CRL. */
  readonly serialNumber: string;
  readonly notAfter: Date;
}

/**
 * Parses a PKCS#10 CSR from an untrusted client and checks its self-signature (proof that the sender
 * holds the private key) and that the key is ECDSA P-256 with exactly one subject CN. Never throws on
 * bad input: the reason comes back as a value.
 */
export async function parseDeviceCsr(csrPem: string): Promise<DeviceCsr | { error: string }> {
  if (typeof csrPem !== 'string' || csrPem.length === 0) return { error: 'no CSR' };
  if (csrPem.length > MAX_CSR_PEM_BYTES) return { error: `CSR larger than ${MAX_CSR_PEM_BYTES} bytes` };
  let csr: X509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch {
    return { error: 'not a PKCS#10 CSR' };
  }
  try {
    if (!(await csr.verify())) return { error: 'CSR signature does not verify' };
  } catch {
    return { error: 'CSR signature does not verify' };
  }
  const algorithm = csr.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') {
    return { error: 'CSR key must be ECDSA P-256' };
  }
  const cn = single(csr.subjectName.getField(OID_CN));
  if (cn === undefined) return { error: 'CSR subject must have exactly one CN' };
  let publicKey: webcrypto.CryptoKey;
  try {
    publicKey = (await csr.publicKey.export(KEY_ALGORITHM, ['verify'])) as unknown as webcrypto.CryptoKey;
  } catch {
    return { error: 'CSR public key cannot be imported' };
  }
  return { commonName: cn, spkiDer: new Uint8Array(csr.publicKey.rawData), publicKey };
}

/**
 * Issues a device certificate (OU `devices`, CN = deviceId) for the key in a CSR. The CSR's CN must
 * name the same device. Whether the key may belong to that device id is the caller's policy
 * (enrolment requires deviceIdFromPublicKey(key) === deviceId; renewal is authenticated by the
 * current certificate instead).
 */
export async function issueDeviceCertificateFromCsr(
  ca: CertificateAuthority,
  csr: DeviceCsr,
  deviceId: string,
  options: { validDays?: number } = {},
): Promise<IssuedFromCsr> {
  if (!isIssuableDeviceId(deviceId)) throw new Error(`device id ${JSON.stringify(deviceId)} is not issuable`);
  if (csr.commonName !== deviceId) {
    throw new Error(`CSR names ${JSON.stringify(csr.commonName)}, not device ${JSON.stringify(deviceId)}`);
  }
  const { notBefore, notAfter } = validity(options.validDays ?? DEFAULT_CLIENT_VALID_DAYS.devices);
  const caKeyId = ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const serialNumber = randomSerialNumber();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber,
    subject: [{ CN: [deviceId] }, { OU: [OU_DEVICES] }],
    issuer: ca.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: csr.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
      caKeyId
        ? new x509.AuthorityKeyIdentifierExtension(caKeyId, false)
        : await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey, false),
      await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), serialNumber, notAfter };
}

/** OID of the CRL number extension (RFC 5280 §5.2.3: conforming CRLs carry one). */
const OID_CRL_NUMBER = '2.5.29.20';

/**
 * A CRL listing revoked certificates by serial number, signed by the CA. `nextUpdate` matters:
 * OpenSSL (Mosquitto's `crlfile`) refuses every client once it has passed, so callers regenerate
 * the CRL at start and on each revocation and choose a generous validity.
 */
export async function createCrl(
  ca: CertificateAuthority,
  revoked: readonly { readonly serialNumber: string; readonly revokedAt: Date }[],
  options: { crlNumber: number; validDays: number; now?: Date },
): Promise<string> {
  const now = options.now ?? new Date();
  const caKeyId = ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subjectName,
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + options.validDays * DAY_MS),
    signingKey: ca.keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      ...(caKeyId ? [new x509.AuthorityKeyIdentifierExtension(caKeyId, false)] : []),
      new x509.Extension(OID_CRL_NUMBER, false, derInteger(options.crlNumber)),
    ],
    entries: revoked.map((r) => ({ serialNumber: r.serialNumber, revocationDate: r.revokedAt })),
  });
  // OpenSSL (and so Mosquitto) reads only the `X509 CRL` PEM label, not the library's `CRL`.
  return x509.PemConverter.encode(crl.rawData, 'X509 CRL');
}

/** DER INTEGER for a non-negative safe integer. */
function derInteger(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`not a non-negative integer: ${value}`);
  const bytes: number[] = [];
  let v = value;
  do {
    bytes.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return new Uint8Array([0x02, bytes.length, ...bytes]);
}

/** DNS names and IP addresses (normalised) in a certificate's SubjectAlternativeName. */
export function subjectAltNames(cert: string | X509.X509Certificate): { dnsNames: string[]; ips: string[] } {
  const parsed = typeof cert === 'string' ? new x509.X509Certificate(cert) : cert;
  const san = parsed.getExtension(x509.SubjectAlternativeNameExtension);
  const dnsNames: string[] = [];
  const ips: string[] = [];
  for (const name of san?.names.items ?? []) {
    if (name.type === 'dns') dnsNames.push(name.value.toLowerCase());
    else if (name.type === 'ip') ips.push(normaliseIp(name.value));
  }
  return { dnsNames, ips };
}

/** Canonical text form of an IP address (`0:0::1` → `::1`); throws on anything that is not one. */
export function normaliseIp(ip: string): string {
  const family = isIP(ip);
  if (family === 0) throw new Error(`${JSON.stringify(ip)} is not an IP address`);
  const address = new SocketAddress({ address: ip, family: family === 4 ? 'ipv4' : 'ipv6' }).address;
  // @peculiar/x509 encodes IPv6 from hex groups only; embedded dotted quads are not supported.
  if (family === 6 && address.includes('.')) {
    throw new Error(`${JSON.stringify(ip)}: IPv6 with an embedded IPv4 address is not supported`);
  }
  return address;
}

interface IssueParams {
  subject: X509.JsonName;
  validDays: number;
  extendedKeyUsage: string;
  extraExtensions: X509.Extension[];
}

async function issue(ca: CertificateAuthority, params: IssueParams): Promise<IssuedCertificate> {
  const keys = await generateKeys();
  const { notBefore, notAfter } = validity(params.validDays);
  const caKeyId = ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: params.subject,
    issuer: ca.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([params.extendedKeyUsage], false),
      // Match the CA's own SKI byte for byte, whatever method produced it.
      caKeyId
        ? new x509.AuthorityKeyIdentifierExtension(caKeyId, false)
        : await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ...params.extraExtensions,
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

async function exportPrivateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function validity(validDays: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isFinite(validDays) || validDays <= 0) {
    throw new Error(`validDays must be a positive number of days, got ${validDays}`);
  }
  const now = Date.now();
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + validDays * DAY_MS) };
}

/** 16 random bytes as a positive DER INTEGER: top bit clear (positive), next bit set (no leading zero
 * octet is ever needed or dropped, so the serial is always exactly 16 octets). */
function randomSerialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = 0x40 | (bytes[0]! & 0x3f);
  return Buffer.from(bytes).toString('hex');
}

function single(values: readonly string[]): string | undefined {
  return values.length === 1 ? values[0] : undefined;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
