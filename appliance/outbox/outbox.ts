/**
 * The store-and-forward queue between parsing and the uplink, in LMDB in the agent's data
 * directory. Accepted events are sealed into numbered batches (already CBOR-encoded and compressed,
 * so a redelivered batch is byte-for-byte the one sent before and (device, seq) makes it harmless)
 * and a batch is deleted only when the broker has acknowledged it.
 *
 * An event counts as accepted once the LMDB transaction that wrote its batch has committed: that
 * is the promise "nothing accepted is lost", and it survives kill -9 (the commit is in the OS page
 * cache) and power loss (lmdb-js syncs on commit by default).
 *
 * Bounded: the payload bytes stored (plus a per-batch overhead) never exceed `maxOutboxBytes`. A
 * batch that would pass it evicts the oldest batches not in flight, in the same transaction that
 * writes it, and that transaction also records a loss record (protocol/loss.ts), so the eviction
 * and the record of it commit together. Loss records wait in memory and in LMDB until central
 * acknowledges them; the uplink sends them before any backlog.
 *
 * Disk trouble never crashes the agent. Before each batch is written the free space on the data
 * directory's filesystem is read (statfs): below `minFreeDiskBytes` of headroom the batch is
 * refused before LMDB could fail, counted as lost (`write failed: disk full`, persisted with its
 * loss record while the headroom still allows that small write) and the state is `full`. While the
 * disk stays low, batches are accepted again only into room the uplink frees by deleting
 * acknowledged batches (LMDB reuses those pages without growing the file). A commit that fails
 * anyway (ENOSPC, or the EIO LMDB reports for a short write) is counted the same way. A read-only
 * or unopenable data directory leaves the outbox in state `read-only`/`error`, where every sealed
 * batch is counted as lost and its loss record is held in memory and still sent.
 *
 * lmdb-js is opened with `eventTurnBatching: false`: with it, every failed commit also rejected a
 * promise lmdb-js creates for the event turn and nobody holds, and Node ends the process on an
 * unhandled rejection: a full disk became a crash, and a crash loop on restart.
 *
 * Sequence numbers are never published above a durably written reservation (seq-reserve.ts), so a
 * power cut that loses LMDB's unsynced commits cannot make the outbox number a batch again.
 *
 * Alerts (`appendAlert`, protocol/alert.ts) take the same path with three differences. They are
 * sealed within `alertMaxDelayMs` (250 ms: long enough to put one detection tick's alerts in one
 * batch, short enough to be urgent), not `batchMaxDelayMs`. They live in their own sub-database
 * (`alerts`) so the uplink can send them before any event backlog (`peekAlerts`). And they share
 * the events' sequence space and reservation: one counter, one durable epoch, and (device, seq) names
 * exactly one payload of either kind, so nothing about sequence safety had to be built twice (central
 * reads the gaps this leaves in each kind's numbering as nothing). They count towards
 * `maxOutboxBytes`, and eviction takes every event batch not in flight before it takes an alert;
 * on a low disk an alert may evict event batches to fit into the room they free. Lost alerts get
 * loss records of their own reasons (`alerts …`, counting alerts).
 */
import { mkdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { type Database, open, type RootDatabase } from 'lmdb';
import {
  type AlertRecord,
  encodeAlertsBatch,
  isValidAlertRecord,
  MAX_ALERTS_PAYLOAD_BYTES,
  MAX_ALERTS_PER_BATCH,
} from '../../protocol/alert.js';
import { compressBatchPayload, encodeBatch } from '../../protocol/codec.js';
import type { ConnectionEvent } from '../../protocol/event.js';
import { limits } from '../../protocol/limits.js';
import { LOSS_VERSION, type LossReason, type LossRecord } from '../../protocol/loss.js';
import type { Alert } from '../detect/alert.js';
import { toAlertRecord } from './alert-record.js';
import { readSeqReservation, writeSeqReservation } from './seq-reserve.js';

export interface OutboxOptions {
  readonly dataDir: string;
  readonly deviceId: string;
  readonly batchMaxEvents: number;
  readonly batchMaxDelayMs: number;
  /** Bound on stored batches (payload + BATCH_OVERHEAD_BYTES each); 0 = `defaultMaxOutboxBytes(dataDir)`. */
  readonly maxOutboxBytes?: number;
  /** Compress batches when it pays (protocol/codec.ts); default true. */
  readonly compress?: boolean;
  /** Free space kept on the data directory's filesystem; 0 = `defaultMinFreeDiskBytes(dataDir)`. */
  readonly minFreeDiskBytes?: number;
  /** Clock for batch creation times (tests pass a fake). */
  readonly now?: () => number;
  /** Longest an appended alert waits before it is sealed (default 250 ms; alerts are urgent). */
  readonly alertMaxDelayMs?: number;
}

export const DEFAULT_ALERT_MAX_DELAY_MS = 250;

/** Sequence numbers reserved durably at a time: one fsync per block, a gap of at most one block after a crash. */
export const SEQ_RESERVE_BLOCK = 1000;
/** The batch size assumed when checking the disk with no batch in hand (at start-up). */
const NOMINAL_BATCH_BYTES = 64 * 1024;

/** Bytes counted per stored batch on top of its payload: LMDB key, node header and the record fields. */
export const BATCH_OVERHEAD_BYTES = 64;
const GIB = 1024 ** 3;
const MIN_DEFAULT_BYTES = 16 * 1024 * 1024;

/**
 * 5 % of the filesystem, between 1 MiB and 64 MiB: room for LMDB's copy-on-write pages, the loss
 * record that says what was refused, and the rest of the box (logs, settings, updates).
 */
export function defaultMinFreeDiskBytes(dataDir: string): number {
  try {
    const fs = statfsSync(dataDir);
    return Math.min(64 * 1024 * 1024, Math.max(1024 * 1024, Math.floor(fs.blocks * fs.bsize * 0.05)));
  } catch {
    return 1024 * 1024;
  }
}

/**
 * min(1 GiB, 25 % of the space free to this user on the data directory's filesystem), at least
 * 16 MiB: large enough for days of summaries from a busy site, small enough to leave the box room
 * for logs and updates. Measured once at start-up.
 */
export function defaultMaxOutboxBytes(dataDir: string): number {
  try {
    const fs = statfsSync(dataDir);
    return Math.max(MIN_DEFAULT_BYTES, Math.min(GIB, Math.floor(fs.bavail * fs.bsize * 0.25)));
  } catch {
    return MIN_DEFAULT_BYTES;
  }
}

interface StoredBatch {
  /** Raw events the batch stands for (the sum of its records' `count`); in the alerts database, its alerts. */
  readonly events: number;
  readonly payload: Uint8Array;
  /** Seal time, epoch ms (absent in batches written before loss records existed). */
  readonly created?: number;
}

interface OutboxState {
  nextSeq: number;
  acceptedEvents: number;
  acceptedBatches: number;
  ackedEvents: number;
  ackedBatches: number;
  /** Raw events / batches evicted or lost to failed writes (each also in a loss record). */
  lostEvents?: number;
  lostBatches?: number;
  /** Alerts committed / acknowledged by the broker / evicted or never stored (each also in a loss record). */
  alertsAccepted?: number;
  alertsAcked?: number;
  alertsLost?: number;
}

export interface SealedBatch {
  readonly seq: number;
  /** Raw events the batch stands for (the sum of its records' `count`). */
  readonly events: number;
  readonly payload: Uint8Array;
}

export type OutboxHealth = 'ok' | 'full' | 'read-only' | 'error';

/** A loss record waiting for central's acknowledgement; `version` changes whenever it is merged into. */
export interface PendingLoss {
  readonly version: number;
  readonly record: LossRecord;
}

export interface OutboxStats extends Required<OutboxState> {
  /** `full`: evicting to stay under the bound (or the disk filled); `read-only`/`error`: cannot write. */
  state: OutboxHealth;
  stateMessage?: string;
  /** Raw events appended but not yet committed to LMDB (lost on kill -9: never counted as accepted). */
  pendingEvents: number;
  depthBatches: number;
  depthEvents: number;
  depthBytes: number;
  maxOutboxBytes: number;
  evictedBatches: number;
  evictedEvents: number;
  writeErrors: number;
  lastWriteError?: string;
  /** Raw events / batches refused because the disk was below `minFreeDiskBytes` (also in lostEvents). */
  refusedEvents: number;
  refusedBatches: number;
  /** Free bytes on the data directory's filesystem at the last check (-1 unknown) and the headroom kept. */
  diskFreeBytes: number;
  minFreeDiskBytes: number;
  /** Highest sequence number durably reserved; batches above it wait (seq-reserve.ts). */
  reservedSeq: number;
  lastReserveError?: string;
  /** Loss records not yet acknowledged by central, oldest first. */
  lossRecordsPending: LossRecord[];
  /** Alerts stored and waiting for the broker's acknowledgement, and the batches holding them. */
  alertsPending: number;
  alertBatchesPending: number;
  /** Alerts appended but not yet committed (sealed within alertMaxDelayMs). */
  alertsQueued: number;
  /** Alerts refused by appendAlert because central's schema would refuse them (a detector bug). */
  alertsInvalid: number;
  alertsEvicted: number;
}

/** An alerts batch as the uplink takes it: `alerts` is how many it carries. */
export interface SealedAlertBatch {
  readonly seq: number;
  readonly alerts: number;
  readonly payload: Uint8Array;
}

type StoredKind = 'events' | 'alerts';

export class Outbox {
  private readonly env: RootDatabase | undefined;
  private readonly batches: Database<StoredBatch, number> | undefined;
  private readonly alertBatches: Database<StoredBatch, number> | undefined;
  private readonly meta: Database<OutboxState | LossRecord[], string> | undefined;
  private readonly state: Required<OutboxState>;
  private pending: ConnectionEvent[] = [];
  private pendingAlerts: AlertRecord[] = [];
  private alertTimer: NodeJS.Timeout | undefined;
  private alertsPending = 0;
  private alertBatchesPending = 0;
  private alertsInvalid = 0;
  private alertsEvicted = 0;
  private pendingRaw = 0;
  private timer: NodeJS.Timeout | undefined;
  private depthEvents = 0;
  private depthBatches = 0;
  /** Bytes stored as the write transactions see them (updated inside them; recounted on failure). */
  private depthBytes = 0;
  private maxBytes: number;
  private readonly configuredMaxBytes: number;
  private health: OutboxHealth = 'ok';
  private healthMessage: string | undefined;
  private evictedBatches = 0;
  private evictedEvents = 0;
  private writeErrors = 0;
  private lastWriteError: string | undefined;
  private refusedEvents = 0;
  private refusedBatches = 0;
  private diskFreeBytes = -1;
  private readonly minFreeDiskBytes: number;
  /** Set while the disk is below the headroom: the bytes stored when it got there (only freed room is reused). */
  private diskLimitBytes: number | undefined;
  private readonly dir: string;
  private reservedSeq = -1;
  private lastReserveError: string | undefined;
  private lastReserveAttempt = 0;
  private writes: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  private readonly compress: boolean;
  private readonly listeners = new Set<() => void>();
  private readonly lossListeners = new Set<() => void>();
  private readonly losses = new Map<LossReason, PendingLoss>();
  private lossVersion = 0;
  private isInFlight: (seq: number) => boolean = () => false;
  /** Evictions in write transactions whose commit has not landed yet, oldest first. */
  private stagedEvictions: Lost[] = [];

  constructor(private readonly options: OutboxOptions) {
    this.now = options.now ?? Date.now;
    this.compress = options.compress ?? true;
    const dir = join(options.dataDir, 'outbox');
    this.dir = dir;
    let env: RootDatabase | undefined;
    let saved: OutboxState | undefined;
    let savedLoss: LossRecord[] | undefined;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      env = open({ path: dir, compression: false, eventTurnBatching: false });
      this.batches = env.openDB<StoredBatch, number>({ name: 'batches' });
      this.alertBatches = env.openDB<StoredBatch, number>({ name: 'alerts' });
      this.meta = env.openDB<OutboxState | LossRecord[], string>({ name: 'meta' });
      saved = this.meta.get('state') as OutboxState | undefined;
      savedLoss = this.meta.get('loss') as LossRecord[] | undefined;
    } catch (err) {
      // A read-only or broken data directory must not stop the agent (a crash loop helps nobody):
      // run without storage, count what is lost and tell central so.
      env = undefined;
      this.batches = undefined;
      this.alertBatches = undefined;
      this.meta = undefined;
      this.setHealth(diskErrorKind(err) === 'read-only' ? 'read-only' : 'error', errorText(err));
    }
    this.env = env;
    // A fresh outbox starts its sequence at the clock in ms, so a device whose data directory was
    // wiped never reuses a sequence number central has already stored (which would read as a duplicate).
    this.state = {
      nextSeq: this.now(),
      acceptedEvents: 0,
      acceptedBatches: 0,
      ackedEvents: 0,
      ackedBatches: 0,
      lostEvents: 0,
      lostBatches: 0,
      alertsAccepted: 0,
      alertsAcked: 0,
      alertsLost: 0,
      ...saved,
    };
    for (const record of savedLoss ?? [])
      this.losses.set(record.reason, { version: ++this.lossVersion, record });
    this.recount();
    this.configuredMaxBytes =
      options.maxOutboxBytes && options.maxOutboxBytes > 0
        ? options.maxOutboxBytes
        : defaultMaxOutboxBytes(options.dataDir);
    this.maxBytes = this.configuredMaxBytes;
    this.minFreeDiskBytes =
      options.minFreeDiskBytes && options.minFreeDiskBytes > 0
        ? options.minFreeDiskBytes
        : defaultMinFreeDiskBytes(options.dataDir);
    if (this.env) {
      // Start above anything a previous run may have published, whatever LMDB lost in a power cut.
      this.reservedSeq = readSeqReservation(dir);
      if (this.reservedSeq >= this.state.nextSeq) this.state.nextSeq = this.reservedSeq + 1;
      this.tryReserve(this.state.nextSeq);
      // Started on a full disk: say so at once (the status page shows it before any input arrives).
      this.diskRoomFor(0);
    }
  }

  /** Queues one event; it is sealed into a batch when the batch is full or batchMaxDelayMs passes. */
  append(event: ConnectionEvent): void {
    this.pending.push(event);
    this.pendingRaw += event.count ?? 1;
    if (this.pending.length >= this.options.batchMaxEvents) this.seal();
    else if (this.timer === undefined)
      this.timer = setTimeout(() => this.seal(), this.options.batchMaxDelayMs);
  }

  /**
   * Queues one alert (any status: new, update, final); it is sealed into an alerts batch within
   * `alertMaxDelayMs`, and counted as accepted once that batch commits. An alert central's schema
   * would refuse (a detector bug) is counted in `alertsInvalid` instead of spoiling its batch.
   */
  appendAlert(alert: Alert): void {
    const record = toAlertRecord(alert);
    if (!isValidAlertRecord(record)) {
      this.alertsInvalid++;
      return;
    }
    this.pendingAlerts.push(record);
    if (this.pendingAlerts.length >= MAX_ALERTS_PER_BATCH) this.sealAlerts();
    else if (this.alertTimer === undefined)
      this.alertTimer = setTimeout(
        () => this.sealAlerts(),
        this.options.alertMaxDelayMs ?? DEFAULT_ALERT_MAX_DELAY_MS,
      );
  }

  /** Seals what is pending now (alerts first); resolves when it has been committed. */
  flush(): Promise<unknown> {
    this.sealAlerts();
    this.seal();
    return this.writes;
  }

  /** Called after each committed batch (the uplink listens to wake up). */
  onSealed(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** Called when a loss record is created or grows. */
  onLoss(listener: () => void): void {
    this.lossListeners.add(listener);
  }

  /** The uplink says which batches are in flight: eviction skips them (they may be stored already). */
  setInFlightCheck(check: (seq: number) => boolean): void {
    this.isInFlight = check;
  }

  private seal(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length === 0) return;
    const events = this.pending;
    this.pending = [];
    this.pendingRaw = 0;
    this.sealEvents(events);
  }

  /** Encodes under the next sequence number; a batch over the payload limit is split in halves. */
  private sealEvents(events: ConnectionEvent[]): void {
    const seq = this.state.nextSeq;
    const created = this.now();
    const cbor = encodeBatch({ v: 1, device: this.options.deviceId, seq, created, events });
    // The limit holds for the CBOR itself, compressed or not: central inflates to at most that.
    if (cbor.length > limits.maxPayloadBytes && events.length > 1) {
      const half = Math.ceil(events.length / 2);
      this.sealEvents(events.slice(0, half));
      this.sealEvents(events.slice(half));
      return;
    }
    const payload = this.compress ? compressBatchPayload(cbor) : cbor;
    this.state.nextSeq = seq + 1;
    // If the reservation cannot be written the batch is still stored, but peek() holds it back.
    if (this.env && seq > this.reservedSeq) this.tryReserve(seq);
    // Counted in raw events (a summary stands for `count` of them), as central counts what it stores.
    let raw = 0;
    for (const event of events) raw += event.count ?? 1;
    this.writeBatch('events', seq, raw, payload, created);
  }

  private sealAlerts(): void {
    if (this.alertTimer !== undefined) {
      clearTimeout(this.alertTimer);
      this.alertTimer = undefined;
    }
    if (this.pendingAlerts.length === 0) return;
    const alerts = this.pendingAlerts;
    this.pendingAlerts = [];
    this.sealAlertRecords(alerts);
  }

  /** Alerts are sent plain (small, and central reads them without inflating); split like events. */
  private sealAlertRecords(alerts: AlertRecord[]): void {
    const seq = this.state.nextSeq;
    const created = this.now();
    const payload = encodeAlertsBatch({ v: 1, device: this.options.deviceId, seq, created, alerts });
    if (payload.length > MAX_ALERTS_PAYLOAD_BYTES && alerts.length > 1) {
      const half = Math.ceil(alerts.length / 2);
      this.sealAlertRecords(alerts.slice(0, half));
      this.sealAlertRecords(alerts.slice(half));
      return;
    }
    this.state.nextSeq = seq + 1;
    if (this.env && seq > this.reservedSeq) this.tryReserve(seq);
    this.writeBatch('alerts', seq, alerts.length, payload, created);
  }

  /** Stores one sealed batch of either kind; `count` is raw events, or alerts for an alerts batch. */
  private writeBatch(
    kind: StoredKind,
    seq: number,
    count: number,
    payload: Uint8Array,
    created: number,
  ): void {
    const env = this.env;
    const batches = this.batches;
    const alertBatches = this.alertBatches;
    const meta = this.meta;
    const lostAs = (reason: LossReason): LossReason => (kind === 'alerts' ? 'alerts write failed' : reason);
    if (!env || !batches || !alertBatches || !meta) {
      this.recordLost(
        lostAs(this.health === 'read-only' ? 'write failed: read-only' : 'write failed: error'),
        { seq, events: count, created, kind },
      );
      return;
    }
    const size = payload.length + BATCH_OVERHEAD_BYTES;
    let bound = this.maxBytes;
    let eventsOnly = false;
    if (!this.diskRoomFor(size)) {
      // Too little disk: an event batch is refused; an alert may still take the room that evicting
      // event batches frees inside the file (diskRoomFor has set diskLimitBytes).
      if (kind === 'events' || this.diskLimitBytes === undefined) {
        if (kind === 'events') {
          this.refusedBatches++;
          this.refusedEvents += count;
        }
        this.recordLost(lostAs('write failed: disk full'), { seq, events: count, created, kind });
        return;
      }
      bound = Math.min(bound, Math.floor(this.diskLimitBytes * 0.9));
      eventsOnly = true;
    }
    const target = kind === 'alerts' ? alertBatches : batches;
    let evicted: Lost[] | undefined;
    const write = this.commit(env, () => {
      evicted = this.evictFor(size, bound, meta, eventsOnly);
      // Evicting every event batch did not make room on a low disk: write nothing (rolls back).
      if (eventsOnly && this.depthBytes + size > bound) throw new NoRoomForAlert();
      target.put(seq, { events: count, payload, created });
      this.depthBytes += size;
      const saved = (meta.get('state') as OutboxState | undefined) ?? this.state;
      const lost = split(evicted);
      meta.put('state', {
        ...saved,
        nextSeq: Math.max(saved.nextSeq, seq + 1),
        acceptedEvents: saved.acceptedEvents + (kind === 'events' ? count : 0),
        acceptedBatches: saved.acceptedBatches + (kind === 'events' ? 1 : 0),
        lostEvents: (saved.lostEvents ?? 0) + sumEvents(lost.events),
        lostBatches: (saved.lostBatches ?? 0) + lost.events.length,
        alertsAccepted: (saved.alertsAccepted ?? 0) + (kind === 'alerts' ? count : 0),
        alertsAcked: saved.alertsAcked ?? 0,
        alertsLost: (saved.alertsLost ?? 0) + sumEvents(lost.alerts),
      });
    }).then(
      () => {
        if (kind === 'events') {
          this.state.acceptedEvents += count;
          this.state.acceptedBatches++;
          this.depthBatches++;
          this.depthEvents += count;
        } else {
          this.state.alertsAccepted += count;
          this.alertsPending += count;
          this.alertBatchesPending++;
        }
        if (evicted) {
          // Counters and loss record change together, after the commit: the status never shows
          // one ahead of the other.
          this.stagedEvictions.splice(0, evicted.length);
          for (const lost of evicted)
            mergeLoss(this.losses, evictionReason(lost), lost, this.options.deviceId, ++this.lossVersion);
          const lost = split(evicted);
          const events = sumEvents(lost.events);
          this.depthBatches -= lost.events.length;
          this.depthEvents -= events;
          this.evictedBatches += lost.events.length;
          this.evictedEvents += events;
          this.state.lostBatches += lost.events.length;
          this.state.lostEvents += events;
          const alerts = sumEvents(lost.alerts);
          this.alertsPending -= alerts;
          this.alertBatchesPending -= lost.alerts.length;
          this.alertsEvicted += alerts;
          this.state.alertsLost += alerts;
          this.setHealth(
            'full',
            `outbox at its bound of ${this.maxBytes} bytes: evicting the oldest batches`,
          );
          for (const listener of this.lossListeners) listener();
        } else if (
          this.health !== 'ok' &&
          this.diskLimitBytes === undefined &&
          this.depthBytes < this.maxBytes * 0.9
        ) {
          this.setHealth('ok', undefined);
        }
        for (const listener of this.listeners) listener();
      },
      (err: unknown) => {
        this.stagedEvictions = []; // the commit that held them rolled back
        if (err instanceof NoRoomForAlert) {
          this.recount();
          this.recordLost('alerts write failed', { seq, events: count, created, kind });
          return;
        }
        this.writeFailed(err, { seq, events: count, created, kind });
      },
    );
    this.writes = Promise.all([this.writes, write]);
  }

  /**
   * Inside a write transaction: removes the oldest batches not in flight until `size` more bytes
   * fit, and saves the loss records as they will be once this commit lands (the in-memory records
   * change only after it, with the counters).
   */
  private evictFor(
    size: number,
    bound: number,
    meta: Database<OutboxState | LossRecord[], string>,
    eventsOnly: boolean,
  ): Lost[] | undefined {
    if (this.depthBytes + size <= bound) return undefined;
    const evicted: Lost[] = [];
    // Every event batch not in flight goes before the first alert does.
    const stores: [Database<StoredBatch, number> | undefined, StoredKind][] = eventsOnly
      ? [[this.batches, 'events']]
      : [
          [this.batches, 'events'],
          [this.alertBatches, 'alerts'],
        ];
    for (const [db, kind] of stores) {
      if (!db) continue;
      for (const { key, value } of db.getRange({})) {
        if (this.depthBytes + size <= bound) break;
        if (this.isInFlight(key)) continue;
        db.remove(key);
        this.depthBytes -= value.payload.length + BATCH_OVERHEAD_BYTES;
        evicted.push({ seq: key, events: value.events, created: value.created ?? this.now(), kind });
      }
    }
    if (evicted.length === 0) return undefined;
    // Transactions queued before this one in the same commit may have evicted too.
    this.stagedEvictions.push(...evicted);
    const preview = new Map(this.losses);
    for (const lost of this.stagedEvictions)
      mergeLoss(preview, evictionReason(lost), lost, this.options.deviceId, 0);
    meta.put(
      'loss',
      [...preview.values()].map((l) => l.record),
    );
    return evicted;
  }

  private writeFailed(err: unknown, lost: Lost): void {
    // The whole commit rolled back (lmdb-js commits queued transactions together): re-read what is
    // really stored, count this batch as lost, and say so to central.
    this.writeErrors++;
    this.lastWriteError = errorText(err);
    this.recount();
    // LMDB reports a short write on a full disk as EIO: the free space tells them apart.
    const reported = diskErrorKind(err);
    const kind = reported === 'full' || this.diskIsLow() ? 'full' : reported;
    if (kind === 'full') {
      // Refuse new batches until the uplink has freed room inside the file (see diskRoomFor).
      this.diskLimitBytes = Math.min(this.diskLimitBytes ?? this.depthBytes, this.depthBytes);
      this.setHealth('full', `disk full (${this.lastWriteError}): refusing new batches`);
      this.recordLost(lost.kind === 'alerts' ? 'alerts write failed' : 'write failed: disk full', lost);
    } else {
      this.setHealth(kind === 'read-only' ? 'read-only' : 'error', this.lastWriteError);
      this.recordLost(
        lost.kind === 'alerts'
          ? 'alerts write failed'
          : kind === 'read-only'
            ? 'write failed: read-only'
            : 'write failed: error',
        lost,
      );
    }
  }

  /** Counts a batch that was never stored and queues it in a loss record (memory; disk if it can). */
  private recordLost(reason: LossReason, lost: Lost): void {
    const isAlerts = lost.kind === 'alerts';
    if (isAlerts) this.state.alertsLost += lost.events;
    else {
      this.state.lostBatches++;
      this.state.lostEvents += lost.events;
    }
    mergeLoss(this.losses, reason, lost, this.options.deviceId, ++this.lossVersion);
    const meta = this.meta;
    if (meta && this.env) {
      const records = [...this.losses.values()].map((l) => l.record);
      // The counters go with the record, so a restart still shows the loss. Best effort: on a
      // read-only disk (or a full one past the headroom) this fails too and both live in memory.
      this.commit(this.env, () => {
        meta.put('loss', records);
        const saved = (meta.get('state') as OutboxState | undefined) ?? this.state;
        meta.put('state', {
          ...saved,
          nextSeq: Math.max(saved.nextSeq, lost.seq + 1),
          lostEvents: (saved.lostEvents ?? 0) + (isAlerts ? 0 : lost.events),
          lostBatches: (saved.lostBatches ?? 0) + (isAlerts ? 0 : 1),
          alertsLost: (saved.alertsLost ?? 0) + (isAlerts ? lost.events : 0),
        });
      }).catch(() => undefined);
    }
    for (const listener of this.lossListeners) listener();
  }

  private recount(): void {
    this.depthBatches = 0;
    this.depthEvents = 0;
    this.depthBytes = 0;
    this.alertsPending = 0;
    this.alertBatchesPending = 0;
    if (!this.batches || !this.alertBatches) return;
    try {
      for (const { value } of this.batches.getRange({})) {
        this.depthBatches++;
        this.depthEvents += value.events;
        this.depthBytes += value.payload.length + BATCH_OVERHEAD_BYTES;
      }
      for (const { value } of this.alertBatches.getRange({})) {
        this.alertBatchesPending++;
        this.alertsPending += value.events;
        this.depthBytes += value.payload.length + BATCH_OVERHEAD_BYTES;
      }
    } catch {
      /* reading failed too: the counts stay at zero until the next successful write */
    }
  }

  /** A transaction whose failure is always handled, including the cause lmdb-js rejects separately. */
  private commit(env: RootDatabase, body: () => void): Promise<void> {
    return env.transaction(body).then(
      () => undefined,
      (err: unknown) => {
        // "Commit failed (see commitError for details)": commitError is a second promise rejected
        // with the errno; unheld it would be an unhandled rejection, which ends the process.
        const cause = (err as { commitError?: Promise<unknown> } | undefined)?.commitError;
        if (cause && typeof cause.catch === 'function') cause.catch(() => undefined);
        throw err;
      },
    );
  }

  private readDiskFree(): number {
    try {
      const fs = statfsSync(this.dir);
      this.diskFreeBytes = fs.bavail * fs.bsize;
    } catch {
      this.diskFreeBytes = -1;
    }
    return this.diskFreeBytes;
  }

  private diskIsLow(): boolean {
    const free = this.readDiskFree();
    return free >= 0 && free < this.minFreeDiskBytes;
  }

  /**
   * Whether `size` more bytes may be written. The disk keeps `minFreeDiskBytes` free (twice the
   * batch, at least NOMINAL_BATCH_BYTES, on top: LMDB copies the pages it changes); below that only the room acknowledged batches
   * left inside the file is used, with a 10 % margin for LMDB's page granularity.
   */
  private diskRoomFor(size: number): boolean {
    const free = this.readDiskFree();
    // At least a nominal batch, so the check at start-up (size 0) agrees with the next write.
    if (free < 0 || free >= this.minFreeDiskBytes + 2 * Math.max(size, NOMINAL_BATCH_BYTES)) {
      if (this.diskLimitBytes !== undefined) {
        this.diskLimitBytes = undefined;
        if (this.health === 'full' && this.depthBytes < this.maxBytes * 0.9) this.setHealth('ok', undefined);
      }
      return true;
    }
    this.diskLimitBytes ??= this.depthBytes;
    if (size > 0 && this.depthBytes + size <= Math.floor(this.diskLimitBytes * 0.9)) return true;
    this.setHealth(
      'full',
      `disk low: ${free} bytes free, ${this.minFreeDiskBytes} kept free: refusing new batches until the uplink frees room`,
    );
    return false;
  }

  /**
   * Durably reserves sequence numbers through `seq + SEQ_RESERVE_BLOCK - 1` before `seq` is used.
   * On failure the reservation stays where it was and peek() withholds batches above it.
   */
  private tryReserve(seq: number): boolean {
    if (seq <= this.reservedSeq) return true;
    const target = seq + SEQ_RESERVE_BLOCK - 1;
    this.lastReserveAttempt = this.now();
    try {
      writeSeqReservation(this.dir, target, this.reservedSeq);
      this.reservedSeq = target;
      this.lastReserveError = undefined;
      return true;
    } catch (err) {
      this.lastReserveError = errorText(err);
      return false;
    }
  }

  private setHealth(state: OutboxHealth, message: string | undefined): void {
    this.health = state;
    this.healthMessage = message;
  }

  /** Up to `limit` sealed batches with seq > afterSeq, oldest first. */
  peek(afterSeq: number, limit: number): SealedBatch[] {
    const out: SealedBatch[] = [];
    if (!this.batches) return out;
    // Batches above the durable reservation wait for it (retried at most once a second).
    if (this.state.nextSeq - 1 > this.reservedSeq && this.now() - this.lastReserveAttempt >= 1000)
      this.tryReserve(this.state.nextSeq - 1);
    const end = this.reservedSeq + 1;
    if (afterSeq + 1 >= end) return out;
    for (const { key, value } of this.batches.getRange({ start: afterSeq + 1, end, limit })) {
      out.push({ seq: key, events: value.events, payload: value.payload });
    }
    return out;
  }

  /**
   * Up to `limit` sealed alert batches with seq > afterSeq, oldest first: the uplink sends these
   * before any event batch. Held back above the durable reservation like event batches.
   */
  peekAlerts(afterSeq: number, limit: number): SealedAlertBatch[] {
    const out: SealedAlertBatch[] = [];
    if (!this.alertBatches || this.alertBatchesPending === 0) return out;
    if (this.state.nextSeq - 1 > this.reservedSeq && this.now() - this.lastReserveAttempt >= 1000)
      this.tryReserve(this.state.nextSeq - 1);
    const end = this.reservedSeq + 1;
    if (afterSeq + 1 >= end) return out;
    for (const { key, value } of this.alertBatches.getRange({ start: afterSeq + 1, end, limit })) {
      out.push({ seq: key, alerts: value.events, payload: value.payload });
    }
    return out;
  }

  /** The broker acknowledged this alerts batch: remove it for good. */
  async ackAlerts(seq: number): Promise<void> {
    const env = this.env;
    const alertBatches = this.alertBatches;
    const meta = this.meta;
    if (!env || !alertBatches || !meta) return;
    let removed: StoredBatch | undefined;
    await this.commit(env, () => {
      removed = alertBatches.get(seq);
      if (!removed) return;
      alertBatches.remove(seq);
      this.depthBytes -= removed.payload.length + BATCH_OVERHEAD_BYTES;
      const saved = (meta.get('state') as OutboxState | undefined) ?? this.state;
      meta.put('state', { ...saved, alertsAcked: (saved.alertsAcked ?? 0) + removed.events });
    });
    if (!removed) return;
    this.state.alertsAcked += removed.events;
    this.alertsPending -= removed.events;
    this.alertBatchesPending--;
  }

  /** Loss records waiting for central, each with the version the uplink hands back in `ackLoss`. */
  pendingLosses(): PendingLoss[] {
    return [...this.losses.values()];
  }

  /** Central acknowledged this version of a loss record: forget it unless it has grown since. */
  async ackLoss(reason: LossReason, version: number): Promise<void> {
    if (this.losses.get(reason)?.version !== version) return;
    this.losses.delete(reason);
    const meta = this.meta;
    if (!meta || !this.env) return;
    const records = [...this.losses.values()].map((l) => l.record);
    // If this fails the record is sent again after a restart: central keeps one row per record.
    await this.commit(this.env, () => meta.put('loss', records)).catch(() => undefined);
  }

  /** The broker acknowledged this batch: remove it for good. */
  async ack(seq: number): Promise<void> {
    const env = this.env;
    const batches = this.batches;
    const meta = this.meta;
    if (!env || !batches || !meta) return;
    let removed: StoredBatch | undefined;
    await this.commit(env, () => {
      removed = batches.get(seq); // read inside: an eviction queued before this may have taken it
      if (!removed) return;
      batches.remove(seq);
      this.depthBytes -= removed.payload.length + BATCH_OVERHEAD_BYTES;
      const saved = (meta.get('state') as OutboxState | undefined) ?? this.state;
      meta.put('state', {
        ...saved,
        ackedEvents: saved.ackedEvents + removed.events,
        ackedBatches: saved.ackedBatches + 1,
      });
    });
    if (!removed) return;
    this.state.ackedEvents += removed.events;
    this.state.ackedBatches++;
    this.depthBatches--;
    this.depthEvents -= removed.events;
  }

  stats(): OutboxStats {
    return {
      ...this.state,
      state: this.health,
      ...(this.healthMessage ? { stateMessage: this.healthMessage } : {}),
      pendingEvents: this.pendingRaw,
      depthBatches: this.depthBatches,
      depthEvents: this.depthEvents,
      depthBytes: this.depthBytes,
      maxOutboxBytes: this.maxBytes,
      evictedBatches: this.evictedBatches,
      evictedEvents: this.evictedEvents,
      writeErrors: this.writeErrors,
      ...(this.lastWriteError ? { lastWriteError: this.lastWriteError } : {}),
      refusedEvents: this.refusedEvents,
      refusedBatches: this.refusedBatches,
      diskFreeBytes: this.diskFreeBytes,
      minFreeDiskBytes: this.minFreeDiskBytes,
      reservedSeq: this.reservedSeq,
      ...(this.lastReserveError ? { lastReserveError: this.lastReserveError } : {}),
      lossRecordsPending: this.pendingLosses().map((l) => l.record),
      alertsPending: this.alertsPending,
      alertBatchesPending: this.alertBatchesPending,
      alertsQueued: this.pendingAlerts.length,
      alertsInvalid: this.alertsInvalid,
      alertsEvicted: this.alertsEvicted,
    };
  }

  async close(): Promise<void> {
    await this.flush();
    const env = this.env;
    if (!env) return;
    // Once every commit is on disk nothing above nextSeq - 1 was used: lower the reservation to
    // it, so a clean restart continues without a gap (a crash leaves the block's gap instead).
    let synced = false;
    try {
      await env.flushed;
      synced = true;
    } catch {
      /* the commits are not known to be on disk: keep the reservation */
    }
    await env.close();
    if (synced && this.state.nextSeq - 1 < this.reservedSeq) {
      try {
        // Both slots: the higher one would win on reading. Torn between the two, the gap stays.
        writeSeqReservation(this.dir, this.state.nextSeq - 1, this.reservedSeq);
        writeSeqReservation(this.dir, this.state.nextSeq - 1, this.state.nextSeq - 1);
      } catch {
        /* the higher reservation stays: a gap, never a reuse */
      }
    }
  }
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 200);
}

/** ENOSPC and LMDB's MDB_MAP_FULL (-30792) are "full"; EROFS/EACCES/EPERM are "read-only". */
function diskErrorKind(err: unknown): 'full' | 'read-only' | 'other' {
  const e = err as { code?: string | number; message?: string } | undefined;
  const code = e?.code;
  const message = e?.message ?? '';
  if (code === 'ENOSPC' || code === -30792 || /MDB_MAP_FULL|ENOSPC|No space left/i.test(message))
    return 'full';
  if (
    code === 'EROFS' ||
    code === 'EACCES' ||
    code === 'EPERM' ||
    /EROFS|read-only|EACCES|permission denied/i.test(message)
  )
    return 'read-only';
  return 'other';
}

interface Lost {
  readonly seq: number;
  /** Raw events, or alerts when `kind` is 'alerts'. */
  readonly events: number;
  readonly created: number;
  readonly kind: StoredKind;
}

/** Thrown inside a write transaction to roll it back: a low disk has no room for the alert. */
class NoRoomForAlert extends Error {}

function evictionReason(lost: Lost): LossReason {
  return lost.kind === 'alerts' ? 'alerts evicted: outbox full' : 'evicted: outbox full';
}

function split(lost: readonly Lost[] | undefined): { events: Lost[]; alerts: Lost[] } {
  const out = { events: [] as Lost[], alerts: [] as Lost[] };
  for (const l of lost ?? []) out[l.kind].push(l);
  return out;
}

function sumEvents(lost: readonly Lost[] | undefined): number {
  let n = 0;
  for (const l of lost ?? []) n += l.events;
  return n;
}

/** Adds one lost batch to the record for its reason (creating it), under a new version. */
function mergeLoss(
  losses: Map<LossReason, PendingLoss>,
  reason: LossReason,
  lost: Lost,
  device: string,
  version: number,
): void {
  const existing = losses.get(reason)?.record;
  const record: LossRecord = existing
    ? {
        ...existing,
        events: existing.events + lost.events,
        batches: existing.batches + 1,
        first_seq: Math.min(existing.first_seq, lost.seq),
        last_seq: Math.max(existing.last_seq, lost.seq),
        first_ts: Math.min(existing.first_ts, lost.created),
        last_ts: Math.max(existing.last_ts, lost.created),
      }
    : {
        v: LOSS_VERSION,
        device,
        reason,
        events: lost.events,
        batches: 1,
        first_seq: lost.seq,
        last_seq: lost.seq,
        first_ts: lost.created,
        last_ts: lost.created,
      };
  losses.set(reason, { version, record });
}
