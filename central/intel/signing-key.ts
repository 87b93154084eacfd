import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-file.js';
import { intelKeyId } from '../../protocol/intel.js';

/**
 * Central's Ed25519 key for signing intel lists (protocol/intel.ts), in central's data dir beside
 * the CA (central/pki/ca-files.ts keeps the same rules): the private key is PKCS#8 PEM, mode 0600,
 * written atomically (common/atomic-file.ts); the public key beside it (SPKI PEM, 0644) is what
 * appliances are given to verify with. Its own key, not the CA's: a leaked list-signing key can
 * then be rotated without re-issuing every device certificate, and the CA key never signs data.
 */

export const INTEL_KEY_FILE = 'intel-signing.key';
export const INTEL_PUBLIC_KEY_FILE = 'intel-signing.pub';

export interface IntelSigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly keyId: string;
  readonly publicKeyPem: string;
}

/** Loads `<dir>/intel-signing.key`, or creates it (and the directory, 0700) when absent. */
export function loadOrCreateIntelSigningKey(dir: string): IntelSigningKey {
  const keyFile = join(dir, INTEL_KEY_FILE);
  const publicFile = join(dir, INTEL_PUBLIC_KEY_FILE);
  let privateKey: KeyObject;
  if (existsSync(keyFile)) {
    privateKey = createPrivateKey(readFileSync(keyFile, 'utf8'));
    if (privateKey.asymmetricKeyType !== 'ed25519') {
      throw new Error(`${keyFile} is not an Ed25519 key (${privateKey.asymmetricKeyType})`);
    }
  } else {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    privateKey = generateKeyPairSync('ed25519').privateKey;
    // exclusive: two central processes starting together must not each mint a key.
    writeFileAtomic(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600, {
      exclusive: true,
    });
  }
  const publicKey = createPublicKey(privateKey);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  // The public file is derived: rewrite it when missing or not matching (a restored key).
  if (!existsSync(publicFile) || readFileSync(publicFile, 'utf8') !== publicKeyPem) {
    writeFileAtomic(publicFile, publicKeyPem, 0o644);
  }
  return { privateKey, publicKey, keyId: intelKeyId(publicKey), publicKeyPem };
}

/**
 * Writes central's intel public key into a device's identity directory (`device issue`), where the
 * agent looks for it beside `ca.crt`. Public data: mode 0644.
 */
export function writeIntelPublicKey(identityDir: string, key: Pick<IntelSigningKey, 'publicKeyPem'>): string {
  const file = join(identityDir, INTEL_PUBLIC_KEY_FILE);
  writeFileAtomic(file, key.publicKeyPem, 0o644);
  return file;
}
