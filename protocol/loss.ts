import { type Static, Type } from '@sinclair/typebox';
import { DEVICE_ID_PATTERN } from './topics.js';

/** Wire version of a loss record; a decoder rejects any other value. */
export const LOSS_VERSION = 1;

/**
 * Why an appliance gave up on accepted events. Fixed labels, so central can count by reason and a
 * hostile device cannot mint new ones.
 * - `evicted: outbox full`: the outbox reached maxOutboxBytes (or the disk filled) and the oldest
 *   batches were dropped to make room for new ones.
 * - `write failed: disk full` / `write failed: read-only` / `write failed: error`: events that were
 *   sealed into a batch whose LMDB commit failed, or that arrived while the outbox could not be opened.
 * - `alerts evicted: outbox full` / `alerts write failed`: the same for alert batches (protocol/alert.ts);
 *   in these records `events` counts alerts, not raw events. Alerts are evicted only when no event
 *   batch is left to evict.
 */
export const LOSS_REASONS = [
  'evicted: outbox full',
  'write failed: disk full',
  'write failed: read-only',
  'write failed: error',
  'alerts evicted: outbox full',
  'alerts write failed',
] as const;
export type LossReason = (typeof LOSS_REASONS)[number];

const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

/**
 * What the appliance tells central it lost, on `ca/v1/dev/<id>/up/loss`. One record per reason
 * covers a run of losses; while it waits to be delivered later losses of the same reason are merged
 * into it (counts add up, the seq range and time window widen). `first_seq` never changes once the
 * record exists, so (device, first_seq, reason) identifies it: central keeps the largest counts it
 * has seen for that key, which makes redelivery and the merged re-send harmless.
 */
export const LossRecordSchema = Type.Object(
  {
    v: Type.Literal(LOSS_VERSION),
    device: Type.String({ maxLength: 64, pattern: DEVICE_ID_PATTERN.source }),
    reason: Type.Union(LOSS_REASONS.map((r) => Type.Literal(r))),
    /** Raw events lost (a summary counts as its `count`). */
    events: Count,
    /** Batches lost. */
    batches: Count,
    /** Sequence range of the lost batches (an envelope: batches in between may have been delivered). */
    first_seq: Count,
    last_seq: Count,
    /** Seal times of the first and last lost batch, epoch ms by the device's clock. */
    first_ts: Count,
    last_ts: Count,
  },
  { additionalProperties: false },
);

export type LossRecord = Static<typeof LossRecordSchema>;

/** A loss record is a handful of small fields: anything bigger is refused before decoding. */
export const MAX_LOSS_PAYLOAD_BYTES = 1024;
