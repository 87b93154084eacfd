/**
 * What `cyberalarm-central officer add` and `device revoke` do. While central runs they go through
 * its admin API (PGlite admits one process, and a running central must update its broker's refusal
 * set and disconnect the device at once); otherwise they open the database directly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join, resolve } from 'node:path';
import type { CentralRuntime } from '../central.js';
import { EnrolmentService } from '../enrolment/enrolment-service.js';
import { addOfficer } from '../officers/officers.js';
import { loadOrCreateCa } from '../pki/ca-files.js';
import { writeCrl } from '../pki/revocation.js';
import { openDatabase } from '../store/db.js';
import { migrate } from '../store/migrate.js';

export interface OfficerCreated {
  readonly username: string;
  readonly force: string;
  readonly initialPassword: string;
  readonly otpauthUri: string;
}

function runningCentral(dataDir: string): CentralRuntime | undefined {
  const file = join(dataDir, 'central.json');
  if (!existsSync(file)) return undefined;
  try {
    const runtime = JSON.parse(readFileSync(file, 'utf8')) as CentralRuntime;
    process.kill(runtime.pid, 0); // throws for a stale file left by a killed central
    return runtime;
  } catch {
    return undefined;
  }
}

export function postJson<T>(runtime: CentralRuntime, path: string, body: unknown): Promise<T> {
  const payload = JSON.stringify(body);
  return new Promise((resolvePromise, reject) => {
    const req = request(
      `https://localhost:${runtime.portalPort}${path}`,
      {
        method: 'POST',
        ca: readFileSync(runtime.caFile, 'utf8'),
        headers: {
          authorization: `Bearer ${readFileSync(runtime.tokenFile, 'utf8').trim()}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            let message = text;
            try {
              message = (JSON.parse(text) as { error?: string }).error ?? text;
            } catch {}
            reject(Object.assign(new Error(message), { name: 'UserError' }));
          } else resolvePromise(JSON.parse(text) as T);
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function withDatabase<T>(
  dataDirIn: string,
  dbUrl: string,
  fn: (dataDir: string, db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>,
): Promise<T> {
  const dataDir = resolve(dataDirIn);
  const db = await openDatabase(dbUrl || undefined, dataDir);
  try {
    await migrate(db);
    return await fn(dataDir, db);
  } finally {
    await db.close();
  }
}

export async function createOfficer(options: {
  dataDir: string;
  db: string;
  username: string;
  force: string;
  region?: string | undefined;
}): Promise<OfficerCreated> {
  const runtime = runningCentral(resolve(options.dataDir));
  if (runtime) {
    return postJson<OfficerCreated>(runtime, '/api/admin/officers', {
      username: options.username,
      force: options.force,
      ...(options.region ? { region: options.region } : {}),
    });
  }
  return withDatabase(options.dataDir, options.db, async (_dir, db) => {
    try {
      const created = await addOfficer(db, {
        username: options.username,
        forceId: options.force,
        region: options.region,
        actor: 'cli',
      });
      return {
        username: created.officer.username,
        force: created.officer.forceId,
        initialPassword: created.initialPassword,
        otpauthUri: created.otpauthUri,
      };
    } catch (err) {
      throw Object.assign(new Error((err as Error).message), { name: 'UserError' });
    }
  });
}

/**
 * Records a certificate `device issue` signed (EnrolmentService.recordIssuedCertificate), through the
 * running central or directly in the database, so it is revocable like an enrolled device's.
 */
export async function recordIssuedCertificate(options: {
  dataDir: string;
  db: string;
  deviceId: string;
  certificatePem: string;
}): Promise<{ deviceId: string; serial: string }> {
  const runtime = runningCentral(resolve(options.dataDir));
  if (runtime) {
    return postJson(runtime, `/api/admin/devices/${encodeURIComponent(options.deviceId)}/certificates`, {
      certificatePem: options.certificatePem,
    });
  }
  return withDatabase(options.dataDir, options.db, async (dataDir, db) => {
    const ca = await loadOrCreateCa(join(dataDir, 'ca'));
    const service = new EnrolmentService({ db, ca, brokerUrl: '', pairingTtlMs: 0 });
    const result = await service.recordIssuedCertificate('cli', options.certificatePem, 'device issue');
    if (!result.ok) throw Object.assign(new Error(result.message), { name: 'UserError' });
    return { deviceId: result.deviceId, serial: result.serial };
  });
}

export async function revokeDevice(options: {
  dataDir: string;
  db: string;
  deviceId: string;
}): Promise<{ deviceId: string; serials: string[] }> {
  const runtime = runningCentral(resolve(options.dataDir));
  if (runtime) {
    return postJson(runtime, `/api/admin/devices/${encodeURIComponent(options.deviceId)}/revoke`, {});
  }
  return withDatabase(options.dataDir, options.db, async (dataDir, db) => {
    const ca = await loadOrCreateCa(join(dataDir, 'ca'));
    const service = new EnrolmentService({
      db,
      ca,
      brokerUrl: '',
      pairingTtlMs: 0,
      onRevoked: async () => {
        await writeCrl(db, ca, join(dataDir, 'ca', 'crl.pem'));
      },
    });
    const result = await service.revoke({ operator: 'cli' }, options.deviceId);
    if (!result.ok) throw Object.assign(new Error(result.message), { name: 'UserError' });
    return { deviceId: result.deviceId, serials: result.serials };
  });
}
