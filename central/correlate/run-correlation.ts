/**
 * The correlation job: runs every finding kind over one period of stored data and stores what it
 * finds (findings-store.ts). It reads the store only; it never runs on the ingest path. `run` calls
 * it on a schedule over the last campaign window (`startCorrelationJob`); `cyberalarm-central
 * correlate` calls it once for any period.
 */
import type { Logger } from '../../common/logger.js';
import type { Database } from '../store/db.js';
import { findCampaigns } from './campaigns.js';
import { findEmergingPorts } from './emerging-ports.js';
import type { Finding } from './finding.js';
import { type StoreFindingsResult, storeFindings } from './findings-store.js';
import { findNewScanners } from './new-scanners.js';

/** The settings the job reads (central/config.ts `CorrelationSettings`). */
export interface CorrelationSettings {
  readonly campaignMinMembers: number;
  readonly campaignWindowH: number;
  readonly scannerMinMembers: number;
  readonly emergingPortMinRatio: number;
  readonly emergingPortMinSources: number;
  readonly emergingPortBaselineDays: number;
}

export interface CorrelationRun {
  readonly from: string;
  readonly to: string;
  /** Campaigns, then emerging ports, then new scanners. */
  readonly findings: readonly Finding[];
  readonly counts: {
    readonly campaigns: number;
    readonly emergingPorts: number;
    readonly newScanners: number;
  };
  /** Days with data in the emerging-port baseline (fewer than 7: no port was judged). */
  readonly baselineDays: number;
  readonly stored: StoreFindingsResult;
  readonly ms: number;
}

export async function runCorrelation(
  db: Database,
  options: {
    readonly from: Date;
    readonly to: Date;
    readonly settings: CorrelationSettings;
    readonly now?: Date;
  },
): Promise<CorrelationRun> {
  const started = performance.now();
  const { from, to, settings } = options;
  if (!(from.getTime() < to.getTime())) throw new RangeError('correlation period: from must be before to');
  const windowMs = settings.campaignWindowH * 3_600_000;
  const campaigns = await findCampaigns(db, {
    from,
    to,
    minMembers: settings.campaignMinMembers,
    windowMs,
  });
  const ports = await findEmergingPorts(db, {
    from,
    to,
    minRatio: settings.emergingPortMinRatio,
    minSources: settings.emergingPortMinSources,
    baselineDays: settings.emergingPortBaselineDays,
  });
  const scanners = await findNewScanners(db, { from, to, minMembers: settings.scannerMinMembers });
  const findings = [...campaigns, ...ports.findings, ...scanners];
  const stored = await storeFindings(db, findings, { now: options.now ?? new Date(), mergeGapMs: windowMs });
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    findings,
    counts: {
      campaigns: campaigns.length,
      emergingPorts: ports.findings.length,
      newScanners: scanners.length,
    },
    baselineDays: ports.baselineDays,
    stored,
    ms: Math.round(performance.now() - started),
  };
}

export interface CorrelationJob {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * Runs the job every `intervalMs` (first run at once) over the last campaign window; a failed run is
 * logged and retried at the next tick. Runs never overlap within a process.
 */
export function startCorrelationJob(
  db: Database,
  options: {
    readonly intervalMs: number;
    readonly settings: CorrelationSettings;
    readonly now?: () => number;
    readonly onRun?: (run: CorrelationRun) => void;
  },
  logger: Pick<Logger, 'info' | 'error'>,
): CorrelationJob {
  const now = options.now ?? Date.now;
  let stopped = false;
  let busy = false;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    if (stopped || busy) return;
    busy = true;
    const to = new Date(now());
    const from = new Date(to.getTime() - options.settings.campaignWindowH * 3_600_000);
    running = runCorrelation(db, { from, to, settings: options.settings })
      .then(
        (run) => {
          logger.info(
            { ...run.counts, ...run.stored, baselineDays: run.baselineDays, ms: run.ms },
            'correlation run',
          );
          options.onRun?.(run);
        },
        (err: unknown) => logger.error({ err }, 'correlation run failed; retrying at the next interval'),
      )
      .finally(() => {
        busy = false;
      });
  };
  tick();
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
