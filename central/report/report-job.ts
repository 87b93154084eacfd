/**
 * The report schedule: every member with an appliance gets a report every `intervalDays` (config
 * `reportIntervalDays`), archived in `reports` and, when the member has an e-mail address and SMTP
 * is configured, mailed with its PDF.
 *
 * Due-ness comes from the archive, not from a timer's memory: a member is due when its latest
 * archived report ends `intervalDays` or more before now (or it has none), so a restart neither
 * skips nor repeats a report. The new report starts where the last one ended (at most one interval
 * back) and ends at the last whole hour. The archive row is inserted before the e-mail is sent and
 * the insert is unique per (member, period), so of several central processes only one mails it; an
 * e-mail that fails is retried at later checks, up to MAX_EMAIL_ATTEMPTS.
 */
import type { Logger } from '../../common/logger.js';
import type { Database } from '../store/db.js';
import { type SmtpSettings, sendReportMail } from './email.js';
import type { IpEnricher } from './ip-enrichment.js';
import { memberReportData } from './member-report-data.js';
import { renderMemberReportHtml } from './member-report-page.js';
import { openPdfRenderer, type PdfRenderer, pdfUnavailable } from './pdf.js';
import { archiveReport, recordEmail, unsentReports } from './report-archive.js';
import { periodText } from './sections/kit.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
export const MAX_EMAIL_ATTEMPTS = 5;

export interface ReportScheduleOptions {
  readonly intervalDays: number;
  /** Empty: reports are archived but not mailed. */
  readonly smtp: SmtpSettings;
  readonly chromiumPath: string;
  readonly enricher: () => IpEnricher;
  readonly now?: () => number;
}

export interface ReportScheduleRun {
  readonly reports: number;
  readonly emailed: number;
  readonly emailFailures: number;
  /** Why reports went without a PDF, if they did. */
  readonly pdfUnavailable?: string;
}

export async function runReportSchedule(
  db: Database,
  options: ReportScheduleOptions,
  logger: Pick<Logger, 'info' | 'warn' | 'error'>,
): Promise<ReportScheduleRun> {
  const now = new Date((options.now ?? Date.now)());
  const to = new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS);
  const intervalMs = options.intervalDays * DAY_MS;
  const due = await db.query<{ member_id: string; email: string | null; last_to: Date | null }>(
    `SELECT m.member_id, m.email, max(r.period_to) AS last_to
       FROM members m LEFT JOIN reports r ON r.member_id = m.member_id
      WHERE EXISTS (SELECT 1 FROM devices d WHERE d.member_id = m.member_id)
      GROUP BY m.member_id, m.email
     HAVING max(r.period_to) IS NULL OR max(r.period_to) <= $1
      ORDER BY m.member_id`,
    [new Date(to.getTime() - intervalMs)],
  );
  const mail = options.smtp.smtpUrl !== '';
  let renderer: PdfRenderer | undefined;
  let noPdf: string | undefined;
  const pdfOf = async (html: string): Promise<Uint8Array | undefined> => {
    if (noPdf) return undefined;
    try {
      renderer ??= await openPdfRenderer(options.chromiumPath);
      return await renderer.render(html);
    } catch (err) {
      noPdf = (await pdfUnavailable(options.chromiumPath)) ?? (err as Error).message;
      logger.warn({ reason: noPdf }, 'member reports go without a PDF');
      return undefined;
    }
  };
  let reports = 0;
  let emailed = 0;
  let emailFailures = 0;
  try {
    for (const member of due) {
      const from = new Date(Math.max(member.last_to?.getTime() ?? 0, to.getTime() - intervalMs));
      const data = await memberReportData(db, {
        memberId: member.member_id,
        from,
        to,
        enricher: options.enricher(),
        now,
      });
      const html = renderMemberReportHtml(data);
      const emailTo = mail ? member.email : null;
      const pdf = emailTo ? await pdfOf(html) : undefined;
      const id = await archiveReport(db, {
        memberId: member.member_id,
        from,
        to,
        html,
        pdf,
        emailTo,
        createdAt: now,
      });
      if (id === undefined) continue; // another central process made this one
      reports++;
      logger.info({ memberId: member.member_id, from, to, reportId: id }, 'member report archived');
    }
    if (mail) {
      for (const report of await unsentReports(db, MAX_EMAIL_ATTEMPTS)) {
        try {
          const pdf = report.pdf ?? (await pdfOf(report.html));
          const period = periodText({ from: report.from.toISOString(), to: report.to.toISOString() });
          await sendReportMail(options.smtp, {
            to: report.emailTo as string,
            subject: `CyberAlarm report, ${period}`,
            html: report.html,
            text: `Your CyberAlarm report for ${period} is attached${pdf ? ' as a PDF' : ''} and shown in this e-mail as a web page.`,
            ...(pdf ? { pdf } : {}),
            pdfName: `cyberalarm-report-${report.to.toISOString().slice(0, 10)}.pdf`,
          });
          await recordEmail(db, report.id, { ok: true, at: new Date() });
          emailed++;
        } catch (err) {
          emailFailures++;
          await recordEmail(db, report.id, { ok: false, error: (err as Error).message });
          logger.warn(
            { reportId: report.id, err: (err as Error).message },
            'member report e-mail failed; retried at the next check',
          );
        }
      }
    }
  } finally {
    await renderer?.close();
  }
  return { reports, emailed, emailFailures, ...(noPdf ? { pdfUnavailable: noPdf } : {}) };
}

export interface ReportJob {
  stop(): Promise<void>;
}

/** Checks every `checkMs` (default hourly; first check at once) and runs what is due. */
export function startReportJob(
  db: Database,
  options: ReportScheduleOptions & {
    readonly checkMs?: number;
    readonly onRun?: (run: ReportScheduleRun) => void;
  },
  logger: Pick<Logger, 'info' | 'warn' | 'error'>,
): ReportJob {
  let stopped = false;
  let busy = false;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    if (stopped || busy) return;
    busy = true;
    running = runReportSchedule(db, options, logger)
      .then(
        (run) => {
          if (run.reports > 0 || run.emailed > 0 || run.emailFailures > 0)
            logger.info({ ...run }, 'report schedule run');
          options.onRun?.(run);
        },
        (err: unknown) => logger.error({ err }, 'report schedule run failed; retrying at the next check'),
      )
      .finally(() => {
        busy = false;
      });
  };
  tick();
  const timer = setInterval(tick, options.checkMs ?? HOUR_MS);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
