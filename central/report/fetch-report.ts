/**
 * Where `cyberalarm-central report` gets its numbers: PGlite allows one process at a time, so while
 * central runs on PGlite the report comes from its HTTPS API; otherwise the database is opened
 * directly (PostgreSQL is always opened directly).
 */
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join, resolve } from 'node:path';
import type { CentralRuntime } from '../central.js';
import { openDatabase } from '../store/db.js';
import { migrate } from '../store/migrate.js';
import { type DeviceReport, deviceReport } from './device-report.js';

function runningCentral(dataDir: string): CentralRuntime | undefined {
  const file = join(dataDir, 'central.json');
  if (!existsSync(file)) return undefined;
  try {
    const runtime = JSON.parse(readFileSync(file, 'utf8')) as CentralRuntime;
    process.kill(runtime.pid, 0); // throws when no such process: a stale file from a killed central
    return runtime;
  } catch {
    return undefined;
  }
}

export function getJson<T>(url: string, caPem: string, token: string): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const req = request(url, { ca: caPem, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`${url}: HTTP ${res.statusCode}: ${body}`));
        else resolvePromise(JSON.parse(body) as T);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export async function fetchDeviceReport(options: {
  dataDir: string;
  db: string;
  deviceId: string;
  from: Date;
  to: Date;
  top: number;
}): Promise<DeviceReport> {
  const dataDir = resolve(options.dataDir);
  const runtime = options.db ? undefined : runningCentral(dataDir);
  if (runtime) {
    const query = new URLSearchParams({
      from: options.from.toISOString(),
      to: options.to.toISOString(),
      top: String(options.top),
    });
    const url = `https://localhost:${runtime.portalPort}/api/devices/${encodeURIComponent(options.deviceId)}/report?${query}`;
    return getJson<DeviceReport>(
      url,
      readFileSync(runtime.caFile, 'utf8'),
      readFileSync(runtime.tokenFile, 'utf8').trim(),
    );
  }
  const db = await openDatabase(options.db || undefined, dataDir);
  try {
    await migrate(db);
    return await deviceReport(db, {
      deviceId: options.deviceId,
      from: options.from,
      to: options.to,
      top: options.top,
    });
  } finally {
    await db.close();
  }
}
