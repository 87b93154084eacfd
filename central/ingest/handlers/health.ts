/**
 * `health` heartbeats: one row each in `device_health` (store-health.ts). A bad one is quarantined
 * and counted like any other kind, but not held against the device (heartbeats are advisory).
 */
import { storeHealth } from '../store-health.js';
import type { UplinkHandler } from './index.js';

export const health: UplinkHandler = {
  flagsDevice: false,
  async handle(ctx, message) {
    const { counters } = ctx;
    counters.healthReports++;
    counters.bytes += message.payload.length;
    const result = await storeHealth(ctx.db, message);
    if (result.status === 'stored') {
      counters.healthStored++;
      if (result.timeReplaced) counters.healthTimesReplaced++;
    } else if (result.status === 'duplicate') {
      counters.healthDuplicates++;
    }
    return result;
  },
};
