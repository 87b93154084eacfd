/**
 * What ingest does with one uplink message, whichever broker it came through: events batches are
 * stored (or counted as duplicates, or quarantined); a database error propagates so the message is
 * not acknowledged and the device (or broker) delivers it again.
 */
import { parseUplinkTopic } from '../../protocol/topics.js';
import type { Database } from '../store/db.js';
import type { IngestCounters } from './ingest-counters.js';
import { type StoreBatchResult, storeBatch } from './store-batch.js';
import { storeLossRecord } from './store-loss.js';

export async function handleUplinkMessage(
  db: Database,
  counters: IngestCounters,
  message: { topic: string; payload: Uint8Array; deviceId?: string },
): Promise<StoreBatchResult | undefined> {
  const parsed = parseUplinkTopic(message.topic);
  if (parsed?.kind === 'loss') {
    await handleLossMessage(db, counters, { ...message, deviceId: message.deviceId ?? parsed.deviceId });
    return undefined;
  }
  if (parsed?.kind !== 'events') return undefined; // alerts/health: later issues
  const deviceId = message.deviceId ?? parsed.deviceId;
  counters.batches++;
  counters.bytes += message.payload.length;
  let result: StoreBatchResult;
  try {
    result = await storeBatch(db, {
      deviceId,
      topic: message.topic,
      payload: message.payload,
      receivedAt: new Date(),
    });
  } catch (err) {
    counters.storeErrors++;
    throw err;
  }
  if (result.status === 'stored') {
    counters.stored++;
    counters.storedEvents += result.events;
  } else if (result.status === 'duplicate') {
    counters.duplicates++;
  } else {
    counters.quarantined++;
    const label = reasonLabel(result.reason);
    const known = label in counters.quarantinedByReason;
    // Reasons become metric labels: bound their number whatever a hostile device sends.
    const key = known || Object.keys(counters.quarantinedByReason).length < 64 ? label : 'other';
    counters.quarantinedByReason[key] = (counters.quarantinedByReason[key] ?? 0) + 1;
  }
  return result;
}

/** `schema: /events/3/src_port ...` → `schema: /events/N/src_port`: one label per kind of fault. */
export function reasonLabel(reason: string): string {
  const firstWords = reason.replace(/\/\d+(?=\/|\s|$)/g, '/N');
  const cut = firstWords.search(/ (Expected|Unexpected|must) /);
  return (cut > 0 ? firstWords.slice(0, cut) : firstWords).slice(0, 80);
}

/** A loss record: stored (or merged into the row it repeats), or quarantined like a bad batch. */
async function handleLossMessage(
  db: Database,
  counters: IngestCounters,
  message: { topic: string; payload: Uint8Array; deviceId: string },
): Promise<void> {
  let result: Awaited<ReturnType<typeof storeLossRecord>>;
  try {
    result = await storeLossRecord(db, { ...message, receivedAt: new Date() });
  } catch (err) {
    counters.storeErrors++;
    throw err;
  }
  if (result.status === 'quarantined') {
    counters.quarantined++;
    const label = reasonLabel(result.reason);
    const known = label in counters.quarantinedByReason;
    const key = known || Object.keys(counters.quarantinedByReason).length < 64 ? label : 'other';
    counters.quarantinedByReason[key] = (counters.quarantinedByReason[key] ?? 0) + 1;
  }
}
