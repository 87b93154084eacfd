/**
 * Uplink kinds the protocol names but central has no schema or store for yet (`alerts`, `health`:
 * their writers arrive with the detectors and the health uplink). Acknowledging and dropping them
 * would lose what a device sent without a trace, so every message of such a kind goes to the same
 * quarantine table as a bad batch, whole (not just the sample a bad batch keeps), with its size and
 * the reason `kind not ingested yet: <kind>`, where an operator can see it and a later handler can
 * replay it. It is counted in the
 * quarantine counters and in `ignoredByKind`, but not against the device: the device did nothing
 * wrong, so it neither raises `bad_batches` nor leads to the device being flagged.
 *
 * When a kind gets its schema (protocol/) and handler, its entry in `UPLINK_HANDLERS` is replaced.
 */
import type { UplinkKind } from '../../../protocol/topics.js';
import { quarantine } from '../store-batch.js';
import type { UplinkHandler } from './index.js';

export function notIngestedYet(kind: UplinkKind): UplinkHandler {
  const reason = `kind not ingested yet: ${kind}`;
  return {
    flagsDevice: false,
    async handle(ctx, message) {
      ctx.counters.ignoredByKind[kind] = (ctx.counters.ignoredByKind[kind] ?? 0) + 1;
      return quarantine(ctx.db, message, reason, { countAgainstDevice: false, keepWholePayload: true });
    },
  };
}
