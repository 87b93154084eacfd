/**
 * What `cyberalarm-central correlate` does: the correlation job once over a period, on the database
 * itself. PGlite admits one process, so while central runs on PGlite the command is refused with
 * what to do instead (the running central runs the job every `correlateIntervalS`); on PostgreSQL it
 * runs beside central.
 */
import { resolve } from 'node:path';
import { UserError } from '../../common/cli.js';
import type { CorrelateConfig } from '../config.js';
import { runningCentral } from '../runtime.js';
import { openDatabase } from '../store/db.js';
import { migrate } from '../store/migrate.js';
import { type CorrelationRun, runCorrelation } from './run-correlation.js';

/** `--from`/`--to` (ISO 8601); default: the last campaign window up to now. */
export function correlationPeriod(
  fromText: string | undefined,
  toText: string | undefined,
  windowH: number,
  now = Date.now(),
): { from: Date; to: Date } {
  const parse = (flag: string, text: string) => {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) throw new UserError(`${flag} ${JSON.stringify(text)} is not an ISO 8601 time`);
    return new Date(ms);
  };
  const to = toText === undefined ? new Date(now) : parse('--to', toText);
  const from =
    fromText === undefined ? new Date(to.getTime() - windowH * 3_600_000) : parse('--from', fromText);
  if (!(from.getTime() < to.getTime())) throw new UserError('--from must be before --to');
  return { from, to };
}

export async function correlateOnDemand(
  config: CorrelateConfig,
  period: { readonly from: Date; readonly to: Date },
): Promise<CorrelationRun> {
  const dataDir = resolve(config.dataDir);
  if (!config.db && runningCentral(dataDir)) {
    throw new UserError(
      `central is running on the embedded database in ${dataDir}: it runs the correlation every correlateIntervalS; ` +
        'stop it to run this command, or run central on PostgreSQL (--db)',
    );
  }
  const db = await openDatabase(config.db || undefined, dataDir);
  try {
    await migrate(db);
    return await runCorrelation(db, { ...period, settings: config });
  } finally {
    await db.close();
  }
}
