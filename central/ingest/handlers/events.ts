/** `events` batches: stored exactly once (store-batch.ts); throughput and lag for /metrics. */
import { storeBatch } from '../store-batch.js';
import type { UplinkHandler } from './index.js';

export const events: UplinkHandler = {
  flagsDevice: true,
  async handle(ctx, message) {
    const { counters } = ctx;
    counters.batches++;
    counters.bytes += message.payload.length;
    const result = await storeBatch(ctx.db, message);
    if (result.status === 'stored') {
      counters.stored++;
      counters.storedEvents += result.events;
      counters.clearedAddresses += result.cleared.addresses;
      counters.clearedTimes += result.cleared.times;
      const nowMs = ctx.now?.() ?? Date.now();
      ctx.windows.throughput.record(result.events, nowMs);
      // `created` comes from the batch storeBatch decoded (and inflated): compressed or not.
      ctx.windows.lag.record(nowMs - result.created, nowMs);
    } else if (result.status === 'duplicate') {
      counters.duplicates++;
    }
    return result;
  },
};
