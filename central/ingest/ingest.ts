/**
 * The one entry for every uplink message, whichever broker it came through: the embedded Aedes
 * broker (central.ts, before it acknowledges the device) or an external broker's shared
 * subscription (mqtt-worker.ts, before it acknowledges the broker).
 *
 * The topic is parsed once, here; the handler for its kind (handlers/, one file per kind) stores
 * the payload and keeps that kind's own counters. What every kind shares is done here: database
 * errors are counted and rethrown (nothing was committed, so the caller must not acknowledge and
 * the message comes again); quarantines are counted by reason; a device that keeps sending bad
 * messages is flagged.
 */
import type { Logger } from '../../common/logger.js';
import { parseUplinkTopic, type UplinkKind } from '../../protocol/topics.js';
import type { Database } from '../store/db.js';
import { type BadBatchTracker, flagDevice } from './flag-device.js';
import { UPLINK_HANDLERS, type UplinkOutcome } from './handlers/index.js';
import type { IngestCounters, IngestWindows } from './ingest-counters.js';
import type { IncomingUplink } from './store-batch.js';

/** Everything one ingest process shares between its broker connections. */
export interface IngestContext {
  readonly db: Database;
  readonly counters: IngestCounters;
  readonly windows: IngestWindows;
  readonly badBatches: BadBatchTracker;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** A publish as the broker hands it over. */
export interface UplinkPublish {
  readonly topic: string;
  readonly payload: Uint8Array;
  /** The identity the broker authenticated (embedded broker); otherwise the topic's device id. */
  readonly deviceId?: string;
}

/**
 * Each device's messages are stored one after another, in the order they reached this process: the
 * tail of each device's chain. A repeated (device, seq) keeps the first copy (the batches table's
 * key, ON CONFLICT DO NOTHING), but "first" must mean first received, not first to commit: the
 * embedded broker hands over a device's pipelined publishes (its window of unacknowledged batches)
 * without waiting for the previous store, so two copies raced to the INSERT and the second could
 * win. Different devices still store concurrently. (The external worker's several sessions can
 * still reorder a device's messages before they get here: test/reliability/duplicate-sequence.test.ts.)
 */
const deviceChains = new WeakMap<IngestContext, Map<string, Promise<void>>>();

/**
 * Handles one uplink message. Resolves once it is committed or quarantined (a kind central does not
 * ingest yet is quarantined whole, handlers/not-ingested-yet.ts); rejects only when nothing was committed.
 */
export function ingestMessage(ctx: IngestContext, publish: UplinkPublish): Promise<void> {
  const topic = parseUplinkTopic(publish.topic);
  if (topic === undefined) {
    ctx.counters.ignoredForeign++;
    return Promise.resolve();
  }
  const deviceId = publish.deviceId ?? topic.deviceId;
  let chains = deviceChains.get(ctx);
  if (chains === undefined) {
    chains = new Map();
    deviceChains.set(ctx, chains);
  }
  const previous = chains.get(deviceId);
  const run = () => ingestInOrder(ctx, publish, topic.kind, deviceId);
  // Only the previous message's end matters here; its outcome goes to its own caller.
  const current = previous === undefined ? run() : previous.then(run, run);
  const tail = current.catch(() => undefined);
  chains.set(deviceId, tail);
  void tail.then(() => {
    if (chains.get(deviceId) === tail) chains.delete(deviceId);
  });
  return current;
}

async function ingestInOrder(
  ctx: IngestContext,
  publish: UplinkPublish,
  kind: UplinkKind,
  deviceId: string,
): Promise<void> {
  // Every kind has a handler (a kind without a store yet quarantines, handlers/not-ingested-yet.ts).
  const handler = UPLINK_HANDLERS[kind];
  const message: IncomingUplink = {
    deviceId,
    topic: publish.topic,
    payload: publish.payload,
    receivedAt: new Date(),
  };
  let outcome: UplinkOutcome;
  try {
    outcome = await inStoreTurn(ctx.db, () => handler.handle(ctx, message));
  } catch (err) {
    ctx.counters.storeErrors++;
    throw err;
  }
  if (outcome.status !== 'quarantined') return;
  countQuarantine(ctx.counters, outcome.reason);
  if (handler.flagsDevice) await flagIfRepeated(ctx, message.deviceId, outcome.reason);
}

/**
 * PGlite runs on this process's own thread and its queries resolve through promise callbacks alone,
 * so a drain of many devices' batches kept the event loop busy from the first store to the last:
 * the portal's HTTP server and every timer got no turn (`/api/health` unreachable for ~400 s in an
 * outside test). On PGlite, stores take turns, one at a time, each after a turn of the event loop
 * (setImmediate runs after pending I/O), so the portal answers between any two batches. PostgreSQL's
 * queries wait on a socket, which yields anyway, and keep their concurrency.
 */
const storeTurns = new WeakMap<Database, Promise<void>>();

async function inStoreTurn<T>(db: Database, store: () => Promise<T>): Promise<T> {
  if (db.kind !== 'pglite') return store();
  const previous = storeTurns.get(db) ?? Promise.resolve();
  let release = (): void => undefined;
  const done = new Promise<void>((resolve) => {
    release = resolve;
  });
  storeTurns.set(db, done);
  await previous;
  await new Promise<void>((resolve) => setImmediate(resolve));
  try {
    return await store();
  } finally {
    release();
  }
}

function countQuarantine(counters: IngestCounters, reason: string): void {
  counters.quarantined++;
  const label = reasonLabel(reason);
  const known = label in counters.quarantinedByReason;
  // Reasons become metric labels: bound their number whatever a hostile device sends.
  const key = known || Object.keys(counters.quarantinedByReason).length < 64 ? label : 'other';
  counters.quarantinedByReason[key] = (counters.quarantinedByReason[key] ?? 0) + 1;
}

/** `schema: /events/3/src_port ...` → `schema: /events/N/src_port`: one label per kind of fault. */
function reasonLabel(reason: string): string {
  const firstWords = reason.replace(/\/\d+(?=\/|\s|$)/g, '/N');
  const cut = firstWords.search(/ (Expected|Unexpected|must) /);
  return (cut > 0 ? firstWords.slice(0, cut) : firstWords).slice(0, 80);
}

/** Counts the quarantine against the device and flags it at the threshold (flag-device.ts). */
async function flagIfRepeated(ctx: IngestContext, deviceId: string, reason: string): Promise<void> {
  if (!ctx.badBatches.record(deviceId, ctx.now?.() ?? Date.now())) return;
  try {
    // The quarantine is committed whatever happens here: a failed UPDATE is counted and retried at
    // the device's next bad batch, never a reason to withhold the acknowledgement.
    if (await flagDevice(ctx.db, deviceId)) {
      ctx.counters.devicesFlagged++;
      ctx.logger.warn({ deviceId, reason }, 'device flagged: it keeps sending bad batches');
    }
    ctx.badBatches.markFlagged(deviceId);
  } catch (err) {
    ctx.counters.flagErrors++;
    ctx.logger.error({ err, deviceId }, 'could not flag device');
  }
}
