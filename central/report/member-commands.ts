/**
 * What `cyberalarm-central report --member` and `member set-email` do. While central runs on its
 * embedded database (PGlite admits one process) they go through its admin API; otherwise (stopped,
 * or PostgreSQL) they open the database directly. Rendering (HTML, PDF) happens in the CLI's
 * process either way, so a PDF never needs Chromium on a busy central.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../../common/cli.js';
import { postJson } from '../portal/admin-client.js';
import { runningCentral } from '../runtime.js';
import { openDatabase } from '../store/db.js';
import { migrate } from '../store/migrate.js';
import { getJson } from './fetch-report.js';
import { loadIpEnricher } from './ip-enrichment.js';
import { type MemberReportData, memberReportData, UnknownMemberError } from './member-report-data.js';
import { InvalidEmailError, setMemberEmail } from './report-archive.js';

/** Default member report period: the last 7 days. */
export const MEMBER_REPORT_DAYS = 7;

export function memberReportPeriod(
  fromText: string | undefined,
  toText: string | undefined,
  now = Date.now(),
): { from: Date; to: Date } {
  const parse = (flag: string, text: string) => {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) throw new UserError(`${flag} ${JSON.stringify(text)} is not an ISO 8601 time`);
    return new Date(ms);
  };
  const to = toText === undefined ? new Date(now) : parse('--to', toText);
  const from =
    fromText === undefined
      ? new Date(to.getTime() - MEMBER_REPORT_DAYS * 86_400_000)
      : parse('--from', fromText);
  if (!(from.getTime() < to.getTime())) throw new UserError('--from must be before --to');
  return { from, to };
}

async function withDb<T>(
  dataDir: string,
  url: string,
  fn: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>,
): Promise<T> {
  const db = await openDatabase(url || undefined, dataDir);
  try {
    await migrate(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}

export async function fetchMemberReportData(options: {
  dataDir: string;
  db: string;
  memberId: string;
  from: Date;
  to: Date;
}): Promise<MemberReportData> {
  const dataDir = resolve(options.dataDir);
  const runtime = options.db ? undefined : runningCentral(dataDir);
  if (runtime) {
    const query = new URLSearchParams({ from: options.from.toISOString(), to: options.to.toISOString() });
    try {
      return await getJson<MemberReportData>(
        `https://localhost:${runtime.portalPort}/api/members/${encodeURIComponent(options.memberId)}/report-data?${query}`,
        readFileSync(runtime.caFile, 'utf8'),
        readFileSync(runtime.tokenFile, 'utf8').trim(),
      );
    } catch (err) {
      if (/HTTP 404/.test((err as Error).message))
        throw new UserError(`no member ${JSON.stringify(options.memberId)}`);
      throw err;
    }
  }
  return withDb(dataDir, options.db, async (db) => {
    try {
      return await memberReportData(db, { ...options, enricher: loadIpEnricher() });
    } catch (err) {
      if (err instanceof UnknownMemberError) throw new UserError(err.message);
      throw err;
    }
  });
}

export async function setMemberEmailOnDemand(options: {
  dataDir: string;
  db: string;
  memberId: string;
  email: string | null;
}): Promise<{ memberId: string; email: string | null }> {
  const dataDir = resolve(options.dataDir);
  const runtime = options.db ? undefined : runningCentral(dataDir);
  if (runtime) {
    try {
      return await postJson(runtime, `/api/members/${encodeURIComponent(options.memberId)}/email`, {
        email: options.email,
      });
    } catch (err) {
      // postJson names the API's refusals (bad address, no member) UserError: one line, exit 2.
      if ((err as Error).name === 'UserError') throw new UserError((err as Error).message);
      throw err;
    }
  }
  return withDb(dataDir, options.db, async (db) => {
    try {
      if (!(await setMemberEmail(db, options.memberId, options.email)))
        throw new UserError(`no member ${JSON.stringify(options.memberId)}`);
    } catch (err) {
      if (err instanceof InvalidEmailError) throw new UserError(err.message);
      throw err;
    }
    return { memberId: options.memberId, email: options.email };
  });
}
