/**
 * What revocation changes outside the database: the embedded broker's in-memory refusal set (loaded
 * at start, added to on revoke, refreshed periodically so a revocation made by another central
 * process arrives too), the CRL file Mosquitto reads (`crlfile`) and, when `broker-config` registered
 * a Mosquitto, its ACL (revoked devices denied every topic) plus a SIGHUP so Mosquitto reloads both
 * at once instead of at its next restart. The ACL matters as much as the CRL: Mosquitto checks the
 * CRL only during a TLS handshake, so a device that is connected when it is revoked keeps its
 * connection, but every publish after the reload is checked against the new ACL and refused.
 */

import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-file.js';
import { type CertificateAuthority, createCrl } from '../../provisioning/ca.js';
import { renderMosquittoAcl } from '../broker/mosquitto-config.js';
import type { Queryable } from '../store/db.js';

/** OpenSSL refuses every client once a CRL's nextUpdate has passed; central rewrites it at every start
 * and revocation, so a year only matters for a central that has been down for a year. */
export const CRL_VALID_DAYS = 365;

export class RevokedDevices {
  private readonly ids = new Set<string>();

  has(deviceId: string): boolean {
    return this.ids.has(deviceId);
  }

  add(deviceId: string): void {
    this.ids.add(deviceId);
  }

  get size(): number {
    return this.ids.size;
  }

  /** Adds what the database says is revoked (revocation is permanent, so the set only grows);
   * returns the ids that were new here, e.g. revoked by another central process. */
  async load(db: Queryable): Promise<string[]> {
    const rows = await db.query<{ device_id: string }>(
      "SELECT device_id FROM enrolment_requests WHERE state = 'revoked'",
    );
    const added: string[] = [];
    for (const row of rows) {
      if (this.ids.has(row.device_id)) continue;
      this.ids.add(row.device_id);
      added.push(row.device_id);
    }
    return added;
  }
}

/** Written by `broker-config` next to the CRL: the Mosquitto that enforces it. */
export const MOSQUITTO_REGISTRATION_FILE = 'mosquitto-broker.json';

export interface MosquittoRegistration {
  readonly aclFile: string;
  readonly pidFile: string;
}

export function registerMosquitto(crlFile: string, registration: MosquittoRegistration): void {
  writeFileAtomic(join(dirname(crlFile), MOSQUITTO_REGISTRATION_FILE), JSON.stringify(registration), 0o644);
}

export type BrokerReload =
  | { readonly outcome: 'none-registered' }
  | { readonly outcome: 'reloaded'; readonly pid: number }
  /** No Mosquitto runs under that pid: it reads the new files when it starts. */
  | { readonly outcome: 'not-running' }
  /** It runs but central may not signal it (another account): see docs/DEPLOY.md, "Revoking". */
  | { readonly outcome: 'failed'; readonly reason: string };

/**
 * Rewrites the registered Mosquitto's ACL with `revokedDeviceIds` denied and sends it SIGHUP (it
 * reloads the ACL and every listener's CRL). The pid is checked to be a `mosquitto` process first, so
 * a stale pid file never signals an unrelated process.
 */
export function reloadRegisteredMosquitto(
  crlFile: string,
  revokedDeviceIds: readonly string[],
): BrokerReload {
  let registration: MosquittoRegistration;
  try {
    registration = JSON.parse(
      readFileSync(join(dirname(crlFile), MOSQUITTO_REGISTRATION_FILE), 'utf8'),
    ) as MosquittoRegistration;
  } catch {
    return { outcome: 'none-registered' };
  }
  try {
    writeFileAtomic(registration.aclFile, renderMosquittoAcl(revokedDeviceIds), 0o644);
  } catch (err) {
    return { outcome: 'failed', reason: `writing ${registration.aclFile}: ${(err as Error).message}` };
  }
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(registration.pidFile, 'utf8').trim(), 10);
  } catch {
    return { outcome: 'not-running' };
  }
  if (!Number.isInteger(pid) || pid <= 1) return { outcome: 'not-running' };
  try {
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    if (comm !== 'mosquitto') return { outcome: 'not-running' };
  } catch {
    // No /proc (not Linux) or no such process: kill() below tells which.
  }
  try {
    process.kill(pid, 'SIGHUP');
    return { outcome: 'reloaded', pid };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return { outcome: 'not-running' };
    return { outcome: 'failed', reason: `signalling mosquitto (pid ${pid}): ${code ?? String(err)}` };
  }
}

/**
 * Writes a CRL of every revoked certificate to `file` (atomically: Mosquitto may read it any time),
 * then has a registered Mosquitto reload it with the ACL. A failed reload is a warning on stderr, not
 * an exception: the revocation is committed and the embedded broker already enforces it.
 */
export async function writeCrl(
  db: Queryable,
  ca: CertificateAuthority,
  file: string,
  now = new Date(),
): Promise<number> {
  const rows = await db.query<{ serial: string; revoked_at: Date }>(
    'SELECT serial, revoked_at FROM certificates WHERE revoked_at IS NOT NULL ORDER BY revoked_at, serial',
  );
  const pem = await createCrl(
    ca,
    rows.map((r) => ({ serialNumber: r.serial, revokedAt: r.revoked_at })),
    // Seconds since the epoch increase with every rewrite, as RFC 5280's CRL number must.
    { crlNumber: Math.floor(now.getTime() / 1000), validDays: CRL_VALID_DAYS, now },
  );
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomic(file, pem, 0o644);
  const revoked = await db.query<{ device_id: string }>(
    "SELECT device_id FROM enrolment_requests WHERE state = 'revoked' ORDER BY device_id",
  );
  const reload = reloadRegisteredMosquitto(
    file,
    revoked.map((r) => r.device_id),
  );
  if (reload.outcome === 'failed') {
    process.emitWarning(
      `revocation: Mosquitto not reloaded (${reload.reason}); it enforces the CRL at its next reload`,
      {
        code: 'CYBERALARM_BROKER_RELOAD',
      },
    );
  }
  return rows.length;
}
