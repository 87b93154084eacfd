import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Writes to a fresh temporary file beside `path`, then renames it into place: a reader (a broker
 * reloading its CRL, the agent at its next start) or a power cut sees the old file or the new one,
 * never half of one. `mode` is set exactly (the umask narrows it at creation): 0600 for keys and
 * secrets, 0644 for certificates. `exclusive`: refuse when `path` already exists.
 */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode: number,
  options: { exclusive?: boolean } = {},
): void {
  if (options.exclusive && existsSync(path)) throw new Error(`${path} already exists`);
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    // 'wx': never follow or reuse a file someone else put there.
    writeFileSync(tmp, data, { mode, flag: 'wx' });
    chmodSync(tmp, mode);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
