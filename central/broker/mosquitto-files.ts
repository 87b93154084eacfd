/**
 * Writes what `cyberalarm-central broker-config` produces on disk: `mosquitto.conf`, `acl`, the
 * persistence directory Mosquitto saves its sessions and queued messages into, and the registration
 * central's revocation reads to rewrite the ACL and signal a reload (`central/pki/revocation.ts`).
 *
 * Mosquitto never creates `persistence_location`: without it every autosave fails ("Error saving
 * in-memory database ... No such file or directory") and a broker that is killed loses every
 * acknowledged batch it was holding for a worker. So the directory is made here, 0700, owned by the
 * account Mosquitto switches to (`user`), which is the one that writes it.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { registerMosquitto } from '../pki/revocation.js';
import {
  type MosquittoConfigOptions,
  renderMosquittoAcl,
  renderMosquittoConfig,
} from './mosquitto-config.js';

export interface WrittenMosquittoFiles {
  readonly config: string;
  readonly acl: string;
  readonly persistenceDir: string;
  readonly pidFile: string;
}

const PERSISTENCE_DIR_MODE = 0o700;

/** Renders and writes the configuration into `outDir` (which must exist). */
export function writeMosquittoFiles(
  outDir: string,
  options: Omit<MosquittoConfigOptions, 'aclFile' | 'persistenceDir' | 'pidFile'> & {
    readonly crlFile: string;
  },
): WrittenMosquittoFiles {
  const files: WrittenMosquittoFiles = {
    config: join(outDir, 'mosquitto.conf'),
    acl: join(outDir, 'acl'),
    persistenceDir: join(outDir, 'data'),
    pidFile: join(outDir, 'mosquitto.pid'),
  };
  makePersistenceDir(files.persistenceDir, options.runAsUser);
  writeFileSync(files.acl, renderMosquittoAcl());
  writeFileSync(
    files.config,
    renderMosquittoConfig({
      ...options,
      aclFile: files.acl,
      persistenceDir: files.persistenceDir,
      pidFile: files.pidFile,
    }),
  );
  registerMosquitto(options.crlFile, { aclFile: files.acl, pidFile: files.pidFile });
  return files;
}

function makePersistenceDir(dir: string, runAsUser: string): void {
  mkdirSync(dir, { recursive: true, mode: PERSISTENCE_DIR_MODE });
  if (userInfo().username === runAsUser) return;
  // Mosquitto started as root drops to `runAsUser` before its first save; only root can hand the
  // directory over. Anyone else running broker-config for another account gets a clear error.
  const uid = Number(execFileSync('id', ['-u', runAsUser], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', runAsUser], { encoding: 'utf8' }).trim());
  if (statSync(dir).uid === uid) return;
  if (process.getuid?.() !== 0)
    throw new Error(
      `${dir} must be owned by ${runAsUser} (Mosquitto's --user) to save its sessions: run broker-config as root, or chown it`,
    );
  chownSync(dir, uid, gid);
}
