/**
 * The per-device pseudonym secret: 32 random bytes in `<dataDir>/privacy.key`, mode 0600, created on
 * first start. It never leaves the device, so central (or anyone holding the data) cannot reverse a
 * pseudonym by hashing the 2^24 RFC 1918 addresses, and the same internal address at two members
 * gets unrelated pseudonyms. Losing the file only re-keys: later pseudonyms differ from earlier ones.
 */

import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { UserFacingError } from '../../common/errors.js';

export const PRIVACY_KEY_FILE = 'privacy.key';
export const PRIVACY_KEY_BYTES = 32;

export class PrivacyKeyError extends UserFacingError {
  override readonly name = 'PrivacyKeyError';
}

/**
 * Reads the key, creating it when absent. Creation writes a temporary file, syncs it and hard-links it
 * into place: the link fails if another process won the race, and a power cut never leaves a
 * half-written key behind. A key file of the wrong size stops start-up rather than silently re-keying.
 */
export function loadPrivacyKey(dataDir: string): Buffer {
  const path = join(dataDir, PRIVACY_KEY_FILE);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const existing = readKey(path);
  if (existing) return existing;
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, randomBytes(PRIVACY_KEY_BYTES));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  const created = readKey(path);
  if (!created) throw new PrivacyKeyError(`${path}: could not be created`);
  return created;
}

function readKey(path: string): Buffer | undefined {
  let key: Buffer;
  try {
    key = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (key.length !== PRIVACY_KEY_BYTES) {
    throw new PrivacyKeyError(
      `${path} holds ${key.length} bytes, expected ${PRIVACY_KEY_BYTES}: restore it from a backup or delete it to start new pseudonyms`,
    );
  }
  // Someone may have copied it in with a permissive umask; on a read-only disk reading is enough.
  try {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  } catch {
    /* read-only data directory: the outbox reports it */
  }
  return key;
}
