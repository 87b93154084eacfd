/**
 * The store-and-forward queue between parsing and the uplink, in LMDB in the agent's data
 * directory. Accepted events are sealed into numbered batches (already CBOR-encoded, so a
 * redelivered batch is byte-for-byte the one sent before and (device, seq) makes it harmless) and a
 * batch is deleted only when the broker has acknowledged it.
 *
 * An event counts as accepted once the LMDB transaction that wrote its batch has committed: that
 * is the promise "nothing accepted is lost", and it survives kill -9 (the commit is in the OS page
 * cache) and power loss (lmdb-js syncs on commit by default).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Database, open, type RootDatabase } from 'lmdb';
import { encodeBatch } from '../../protocol/codec.js';
import type { ConnectionEvent } from '../../protocol/event.js';
import { limits } from '../../protocol/limits.js';

export interface OutboxOptions {
  readonly dataDir: string;
  readonly deviceId: string;
  readonly batchMaxEvents: number;
  readonly batchMaxDelayMs: number;
  /** Clock for batch creation times (tests pass a fake). */
  readonly now?: () => number;
}

interface StoredBatch {
  /** Raw events the batch stands for (the sum of its records' `count`). */
  readonly events: number;
  readonly payload: Uint8Array;
}

interface OutboxState {
  nextSeq: number;
  acceptedEvents: number;
  acceptedBatches: number;
  ackedEvents: number;
  ackedBatches: number;
}

export interface SealedBatch {
  readonly seq: number;
  /** Raw events the batch stands for (the sum of its records' `count`). */
  readonly events: number;
  readonly payload: Uint8Array;
}

export interface OutboxStats extends OutboxState {
  /** Raw events appended but not yet committed to LMDB (lost on kill -9: never counted as accepted). */
  pendingEvents: number;
  depthBatches: number;
  depthEvents: number;
  writeErrors: number;
  lastWriteError?: string;
}

export class Outbox {
  private readonly env: RootDatabase;
  private readonly batches: Database<StoredBatch, number>;
  private readonly meta: Database<OutboxState, string>;
  private readonly state: OutboxState;
  private pending: ConnectionEvent[] = [];
  private pendingRaw = 0;
  private timer: NodeJS.Timeout | undefined;
  private depthEvents = 0;
  private depthBatches = 0;
  private writeErrors = 0;
  private lastWriteError: string | undefined;
  private writes: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly options: OutboxOptions) {
    const dir = join(options.dataDir, 'outbox');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.env = open({ path: dir, compression: false });
    this.batches = this.env.openDB<StoredBatch, number>({ name: 'batches' });
    this.meta = this.env.openDB<OutboxState, string>({ name: 'meta' });
    this.now = options.now ?? Date.now;
    const saved = this.meta.get('state');
    // A fresh outbox starts its sequence at the clock in ms, so a device whose data directory was
    // wiped never reuses a sequence number central has already stored (which would read as a duplicate).
    this.state = saved
      ? { ...saved }
      : { nextSeq: this.now(), acceptedEvents: 0, acceptedBatches: 0, ackedEvents: 0, ackedBatches: 0 };
    for (const { value } of this.batches.getRange({})) {
      this.depthBatches++;
      this.depthEvents += value.events;
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

  /** Seals what is pending now; resolves when it has been committed. */
  flush(): Promise<unknown> {
    this.seal();
    return this.writes;
  }

  /** Called after each committed batch (the uplink listens to wake up). */
  onSealed(listener: () => void): void {
    this.listeners.add(listener);
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
    const payload = encodeBatch({ v: 1, device: this.options.deviceId, seq, created: this.now(), events });
    if (payload.length > limits.maxPayloadBytes && events.length > 1) {
      const half = Math.ceil(events.length / 2);
      this.sealEvents(events.slice(0, half));
      this.sealEvents(events.slice(half));
      return;
    }
    this.state.nextSeq = seq + 1;
    // Counted in raw events (a summary stands for `count` of them), as central counts what it stores.
    let raw = 0;
    for (const event of events) raw += event.count ?? 1;
    this.writeBatch(seq, raw, payload);
  }

  private writeBatch(seq: number, count: number, payload: Uint8Array): void {
    const write = this.env
      .transaction(() => {
        this.batches.put(seq, { events: count, payload });
        const saved = this.meta.get('state') ?? this.state;
        this.meta.put('state', {
          ...saved,
          nextSeq: Math.max(saved.nextSeq, seq + 1),
          acceptedEvents: saved.acceptedEvents + count,
          acceptedBatches: saved.acceptedBatches + 1,
        });
      })
      .then(
        () => {
          this.state.acceptedEvents += count;
          this.state.acceptedBatches++;
          this.depthBatches++;
          this.depthEvents += count;
          for (const listener of this.listeners) listener();
        },
        (err: Error) => {
          // Disk full or read-only: the events are lost and counted; the agent keeps running.
          this.writeErrors++;
          this.lastWriteError = err.message;
        },
      );
    this.writes = Promise.all([this.writes, write]);
  }

  /** Up to `limit` sealed batches with seq > afterSeq, oldest first. */
  peek(afterSeq: number, limit: number): SealedBatch[] {
    const out: SealedBatch[] = [];
    for (const { key, value } of this.batches.getRange({ start: afterSeq + 1, limit })) {
      out.push({ seq: key, events: value.events, payload: value.payload });
    }
    return out;
  }

  /** The broker acknowledged this batch: remove it for good. */
  async ack(seq: number): Promise<void> {
    const stored = this.batches.get(seq);
    if (!stored) return;
    await this.env.transaction(() => {
      this.batches.remove(seq);
      const saved = this.meta.get('state') ?? this.state;
      this.meta.put('state', {
        ...saved,
        ackedEvents: saved.ackedEvents + stored.events,
        ackedBatches: saved.ackedBatches + 1,
      });
    });
    this.state.ackedEvents += stored.events;
    this.state.ackedBatches++;
    this.depthBatches--;
    this.depthEvents -= stored.events;
  }

  stats(): OutboxStats {
    return {
      ...this.state,
      pendingEvents: this.pendingRaw,
      depthBatches: this.depthBatches,
      depthEvents: this.depthEvents,
      writeErrors: this.writeErrors,
      ...(this.lastWriteError ? { lastWriteError: this.lastWriteError } : {}),
    };
  }

  async close(): Promise<void> {
    await this.flush();
    await this.env.close();
  }
}
