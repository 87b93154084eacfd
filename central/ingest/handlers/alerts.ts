/**
 * `alerts` batches: stored once, one row per alert (store-alerts.ts). A bad one is quarantined and
 * counts towards flagging the device like a bad events batch: a well-behaved agent never sends one.
 */
import { storeAlerts } from '../store-alerts.js';
import type { UplinkHandler } from './index.js';

/** Distinct detector/severity label pairs kept for /metrics; a hostile device cannot mint more. */
const MAX_ALERT_LABELS = 64;

export const alerts: UplinkHandler = {
  flagsDevice: true,
  async handle(ctx, message) {
    const { counters } = ctx;
    counters.alertBatches++;
    counters.bytes += message.payload.length;
    const result = await storeAlerts(ctx.db, message);
    if (result.status === 'stored') {
      counters.alertBatchesStored++;
      counters.alertsUpdated += result.updated;
      counters.alertsStale += result.stale;
      counters.clearedAddresses += result.clearedAddresses;
      for (const { detector, severity } of result.inserted) {
        const known = `${detector}|${severity}`;
        const key =
          known in counters.alertsStoredBy || Object.keys(counters.alertsStoredBy).length < MAX_ALERT_LABELS
            ? known
            : 'other|other';
        counters.alertsStoredBy[key] = (counters.alertsStoredBy[key] ?? 0) + 1;
      }
    } else if (result.status === 'duplicate') {
      counters.alertDuplicates++;
    }
    return result;
  },
};
