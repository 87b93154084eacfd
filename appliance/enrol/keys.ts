/**
 * The device's own key pair and what follows from it: the device id, the fingerprint an officer
 * compares, and the CSRs sent to central. The private key is made here, written once with mode 0600
 * and never leaves the box: central only ever sees CSRs signed with it.
 */
import { createPublicKey, generateKeyPairSync, webcrypto, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-file.js';
import { subjectField } from '../../provisioning/certificate-identity.js';
import { deviceIdFromPublicKey, publicKeyFingerprint } from '../../provisioning/enrolment.js';

export const KEY_FILE = 'device.key';
export const CERT_FILE = 'device.crt';
export const CA_FILE = 'ca.crt';
/** Central's Ed25519 public key for the intel lists (SPKI PEM), from enrolment or `device issue`. */
export const INTEL_KEY_FILE = 'intel-signing.pub';

export interface DeviceKey {
  /** PKCS#8 PEM. */
  readonly keyPem: string;
  /** SubjectPublicKeyInfo, DER. */
  readonly spkiDer: Buffer;
  /** `deviceIdFromPublicKey(spki)`: what a device enrolled from this key is called. */
  readonly deviceId: string;
  readonly fingerprint: string;
}

const KEY_ALGORITHM: webcrypto.EcKeyImportParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

/** Reads `<dir>/device.key`, or makes an ECDSA P-256 key there on first start (mode 0600). */
export function loadOrCreateDeviceKey(dir: string): DeviceKey {
  const path = join(dir, KEY_FILE);
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Exclusive create: two agents started on one data directory cannot both write a key.
    writeFileAtomic(path, pem, 0o600, { exclusive: true });
  }
  return deviceKeyFromPem(readFileSync(path, 'utf8'));
}

export function deviceKeyFromPem(keyPem: string): DeviceKey {
  const spkiDer = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
  return {
    keyPem,
    spkiDer,
    deviceId: deviceIdFromPublicKey(spkiDer),
    fingerprint: publicKeyFingerprint(spkiDer),
  };
}

/** A PKCS#10 CSR (PEM) for `commonName`, signed with the device key (proof of possession). */
export async function createCsr(keyPem: string, commonName: string): Promise<string> {
  // Loaded only here: @peculiar/x509 costs the running agent ~4 MB of heap and is needed only to
  // enrol (Node's own X509Certificate reads and verifies certificates, but cannot make a CSR).
  const { x509 } = await import('../../provisioning/x509.js');
  const key = deviceKeyFromPem(keyPem);
  const pkcs8 = Buffer.from(x509.PemConverter.decodeFirst(keyPem));
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, KEY_ALGORITHM, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', key.spkiDer, KEY_ALGORITHM, true, ['verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [commonName] }],
    keys: { privateKey, publicKey },
    signingAlgorithm: SIGNING_ALGORITHM,
  });
  return csr.toString('pem');
}

export interface CertificateInfo {
  readonly commonName: string | undefined;
  readonly notAfter: Date;
  readonly spkiDer: Buffer;
  readonly fingerprint: string;
}

/** What the agent needs to know about a certificate; undefined when it does not parse. */
export function certificateInfo(certPem: string): CertificateInfo | undefined {
  try {
    const cert = new X509Certificate(certPem);
    const spkiDer = cert.publicKey.export({ type: 'spki', format: 'der' });
    return {
      commonName: subjectField(cert.subject, 'CN'),
      notAfter: new Date(cert.validTo),
      spkiDer,
      fingerprint: publicKeyFingerprint(spkiDer),
    };
  } catch {
    return undefined;
  }
}

/** True when `certPem` parses and its signature verifies with the public key of `caPem`. */
export async function isIssuedBy(certPem: string, caPem: string): Promise<boolean> {
  try {
    return new X509Certificate(certPem).verify(new X509Certificate(caPem).publicKey);
  } catch {
    return false;
  }
}
