/**
 * Periodic store upkeep for a central process: day partitions ahead of time (hourly) and retention
 * (at start-up, then daily). Both are idempotent and serialised across processes by an advisory
 * lock, so every central process may run this; a failed run is logged and retried at the next tick,
 * never thrown into the caller (inserts do not depend on it: the DEFAULT partitions catch any day
 * that is missing).
 */
import type { Logger } from '../../common/logger.js';
import type { Database } from './db.js';
import { DEFAULT_AHEAD_DAYS, dropExpiredPartitions, ensurePartitions } from './partitions.js';

export interface MaintenanceConfig {
  readonly retentionDays: number;
  readonly rollupRetentionDays: number;
}

export interface MaintenanceOptions {
  /** Between partition checks (default one hour). */
  readonly intervalMs?: number;
  /** Between retention runs (default one day). */
  readonly retentionEveryMs?: number;
  readonly aheadDays?: number;
  /** The clock, for tests. */
  readonly now?: () => Date;
}

export interface Maintenance {
  /** Settles when the start-up run has finished (successfully or not). */
  readonly ready: Promise<void>;
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

export function startMaintenance(
  db: Database,
  config: MaintenanceConfig,
  logger: Logger,
  options: MaintenanceOptions = {},
): Maintenance {
  const now = options.now ?? (() => new Date());
  const retentionEveryMs = options.retentionEveryMs ?? 86_400_000;
  let lastRetentionMs = Number.NEGATIVE_INFINITY;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();

  const runOnce = async (): Promise<void> => {
    const at = now();
    try {
      if (at.getTime() - lastRetentionMs >= retentionEveryMs) {
        // Retention first, so expired rows waiting in DEFAULT are deleted rather than given a partition.
        const result = await dropExpiredPartitions(db, { ...config, now: at });
        lastRetentionMs = at.getTime();
        logger.info(
          {
            droppedPartitions: result.droppedPartitions,
            defaultRowsDeleted: result.defaultRowsDeleted,
            rollupRowsDeleted: result.rollupRowsDeleted,
            healthRowsDeleted: result.healthRowsDeleted,
          },
          'retention applied',
        );
      }
      const created = await ensurePartitions(db, {
        now: at,
        aheadDays: options.aheadDays ?? DEFAULT_AHEAD_DAYS,
      });
      if (created.length > 0) logger.info({ created }, 'partitions created');
    } catch (err) {
      logger.error({ err }, 'store maintenance failed; retrying at the next interval');
    }
  };

  const tick = () => {
    if (stopped) return;
    running = running.then(runOnce);
  };
  tick();
  const ready = running;
  const timer = setInterval(tick, options.intervalMs ?? 3_600_000);
  timer.unref();
  return {
    ready,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
