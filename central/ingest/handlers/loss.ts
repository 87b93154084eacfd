/**
 * `loss` records: stored idempotently (store-loss.ts). They have no counters of their own; a bad
 * one is quarantined and counted like a bad batch but does not count towards flagging the device,
 * which is defined on bad batches.
 */
import { storeLossRecord } from '../store-loss.js';
import type { UplinkHandler } from './index.js';

export const loss: UplinkHandler = {
  flagsDevice: false,
  handle: (ctx, message) => storeLossRecord(ctx.db, message),
};
