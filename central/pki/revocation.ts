/**
 * What revocation changes outside the database: the embedded broker's in-memory refusal set (loaded
 * at start, added to on revoke, refreshed periodically so a revocation made by another central
 * process arrives too) and the CRL file Mosquitto reads (`crlfile`).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type CertificateAuthority, createCrl } from '../../provisioning/ca.js';
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

/** Writes a CRL of every revoked certificate to `file` (atomically: Mosquitto may read it any time). */
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
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, pem, { mode: 0o644 });
  renameSync(tmp, file);
  return rows.length;
}
