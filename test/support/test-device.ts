/** Test support: an appliance identity as the agent makes it (P-256 key, id from the key, CSR). */
import { webcrypto } from 'node:crypto';
import {
  deviceIdFromPublicKey,
  formatEnrolmentQr,
  newPairingCode,
  publicKeyFingerprint,
} from '../../provisioning/enrolment.js';
import { x509 } from '../../provisioning/x509.js';

export interface TestDevice {
  readonly deviceId: string;
  readonly keys: webcrypto.CryptoKeyPair;
  readonly keyPem: string;
  readonly csrPem: string;
  readonly fingerprint: string;
  readonly pairingCode: string;
  readonly qr: string;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export async function csrFor(keys: webcrypto.CryptoKeyPair, commonName: string): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${commonName}`,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  return csr.toString('pem');
}

export async function newTestDevice(centralUrl = 'https://localhost:8443'): Promise<TestDevice> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', keys.publicKey));
  const deviceId = deviceIdFromPublicKey(spki);
  const fingerprint = publicKeyFingerprint(spki);
  const pairingCode = newPairingCode();
  const keyPem = x509.PemConverter.encode(
    await webcrypto.subtle.exportKey('pkcs8', keys.privateKey),
    'PRIVATE KEY',
  );
  return {
    deviceId,
    keys,
    keyPem,
    csrPem: await csrFor(keys, deviceId),
    fingerprint,
    pairingCode,
    qr: formatEnrolmentQr({ deviceId, pairingCode, fingerprint, centralUrl }),
  };
}
