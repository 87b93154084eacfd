/**
 * The pipeline spread over worker threads: the main thread reads the sockets, frames messages and
 * applies the per-source rate limits; parse workers run parse → minimise → summarise on batches of
 * messages; the main thread appends their events to the outbox in the order the messages arrived
 * (batches are numbered and applied strictly in sequence, whichever worker finishes first).
 *
 * Each worker keeps its own format tracker and summary windows, so a flow seen by two workers in
 * one window becomes two summary records (counts stay exact; central adds them up).
 *
 * Backpressure: while more than `maxQueuedMessages` wait for workers, `congested` is true and the
 * stream listeners pause their sockets (the sender's TCP window closes, nothing is lost); UDP cannot
 * be paused, so past `overloadMessages` datagrams are dropped and counted as `overloaded`.
 *
 * A worker that dies (a bug: parsers never throw by contract) is replaced; the messages it held are
 * counted in `workerLost`, never silently dropped.
 */

import { extname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { getAsset, isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ConnectionEvent } from '../../../protocol/event.js';
import type { SourceIntake } from '../../ingest/intake.js';
import type { IngestBackpressure, Transport } from '../../ingest/types.js';
import type { PrivacyRecipe } from '../../minimise/policy-config.js';
import {
  addCounters,
  copyCounters,
  countTurnedAway,
  newPipelineCounters,
  type PipelineCounters,
} from '../counters.js';
import type { SourceOutcome } from '../outcomes.js';
import type { EventSink } from '../pipeline.js';
import { combineOutcomes, joinSources, retireOutcome, type SourceStats } from '../sources.js';
import { type PackedDetectEvents, unpackDetectEvents } from './detect-transfer.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';

export interface PipelinePoolOptions {
  readonly workers: number;
  readonly privacy: PrivacyRecipe;
  readonly formatOverrides?: ReadonlyMap<string, string>;
  /** Absent: summaries off. `maxOpenKeys` is shared out between the workers (memory stays bounded). */
  readonly summary?: { readonly windowMs: number; readonly maxOpenKeys: number };
  /** Messages per batch handed to a worker (a batch also ends when the event loop turns). */
  readonly batchMessages?: number;
  /** Queued messages at which stream listeners pause. */
  readonly maxQueuedMessages?: number;
  /** Queued messages past which UDP datagrams are dropped and counted as `overloaded`. */
  readonly overloadMessages?: number;
  /** flushAll stops a worker that has not answered by then (a hung thread must not hang shutdown). */
  readonly flushTimeoutMs?: number;
  /** The worker script (tests substitute one that fails). */
  readonly workerUrl?: URL;
  /** Called after a worker died and was replaced, with what was lost with it. */
  readonly onWorkerFailure?: (error: Error, lostMessages: number) => void;
  /**
   * Detection on: the workers post every minimised event, packed with its batch, and it comes here,
   * on the main thread where the one detection engine runs, in batch order.
   */
  readonly detect?: (event: ConnectionEvent) => void;
}

/**
 * What `new Worker` runs: the compiled worker.js, or, when the agent runs from its TypeScript
 * sources (the tests, through tsx), a loader that registers tsx in the new thread first (a worker's
 * entry does not go through the parent's loader hooks).
 */
function workerEntry(url: URL): URL | string {
  if (!url.pathname.endsWith('.ts')) return url;
  return `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
}

const TRANSPORT_INDEX: Readonly<Record<Transport, number>> = { udp: 0, tcp: 1, tls: 2 };

/** The batch being filled: message bytes copied in as they arrive, per-message indexes beside them. */
class Batch {
  bytes: Buffer;
  length = 0;
  count = 0;
  ends: Uint32Array;
  sources: Uint16Array;
  transports: Uint8Array;
  readonly sourceKeys: string[] = [];
  private readonly sourceIndex = new Map<string, number>();
  private lastSource = '';
  private lastIndex = -1;

  constructor(
    readonly maxMessages: number,
    bytes: number,
  ) {
    // Not from Node's shared pool: the ArrayBuffer is transferred to the worker whole.
    this.bytes = Buffer.allocUnsafeSlow(bytes);
    this.ends = new Uint32Array(maxMessages);
    this.sources = new Uint16Array(maxMessages);
    this.transports = new Uint8Array(maxMessages);
  }

  add(frame: Buffer, source: string, transport: number): void {
    if (this.length + frame.length > this.bytes.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(2 * this.bytes.length, this.length + frame.length));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    this.length += frame.copy(this.bytes, this.length);
    if (source !== this.lastSource) {
      let index = this.sourceIndex.get(source);
      if (index === undefined) {
        index = this.sourceKeys.push(source) - 1;
        this.sourceIndex.set(source, index);
      }
      this.lastSource = source;
      this.lastIndex = index;
    }
    const i = this.count++;
    this.ends[i] = this.length;
    this.sources[i] = this.lastIndex;
    this.transports[i] = transport;
  }
}

/** Initial bytes of a batch (512 firewall lines of ~250 bytes); it grows for longer lines. */
const BATCH_BYTES = 128 * 1024;

interface Slot {
  readonly worker: Worker;
  /** Batches sent and not yet answered, oldest first: their sequence numbers and sizes. */
  readonly outstanding: { seq: number; messages: number }[];
  outstandingMessages: number;
  /** The worker's counters as of its last answer. */
  counters: PipelineCounters;
  /** Its last report of each source it has handled. */
  readonly sources: Map<string, SourceOutcome>;
  /** Set while a flushAll is out; called on the 'flushed' answer. */
  flushed?: () => void;
  failure?: Error;
  /** The worker said it is set up. */
  ready: boolean;
  /** Exited; waiting to be replaced (a worker that dies before it is ready is retried after a pause). */
  dead: boolean;
  closing: boolean;
}

/**
 * A parse worker's old-generation cap: its code and format trackers (~8 MB live) and its share of
 * the open summary flows (~0.7 KB each, measured), with room to spare. A worker that reaches it
 * (a bug) is ended by Node and replaced like any dead worker, what it held counted in
 * `workerLost`, instead of taking the box's memory with it.
 */
export function workerOldGenerationMb(openKeysPerWorker: number): number {
  return 48 + Math.ceil(openKeysPerWorker / 1024);
}

/** Pause before replacing a worker that died before it was ready (a broken install must not spin). */
const RESPAWN_DELAY_MS = 1000;

export class PipelinePool implements IngestBackpressure {
  private readonly slots: Slot[] = [];
  private privacy: PrivacyRecipe;
  private formatOverrides: [string, string][];
  private readonly summary: WorkerInit['summary'];
  private readonly detect: PipelinePoolOptions['detect'];
  private readonly batchMessages: number;
  private readonly maxQueued: number;
  private readonly overloadAt: number;
  private readonly workerUrl: URL;
  /** Inside the single executable (tools/sea/): the bundled worker's source, run with `eval`. */
  private readonly seaWorker: string | undefined;
  /** Counted on this thread: rate-limited, overloaded and lost messages. */
  private readonly own = newPipelineCounters();
  /** Counters and sources of workers that died, so totals never go backwards. */
  private readonly retired = newPipelineCounters();
  private readonly retiredSources = new Map<string, SourceOutcome>();
  private batch: Batch;
  private nextSeq = 0;
  private nextToApply = 0;
  /** Events of answered batches waiting for the answers to earlier batches. */
  private readonly waiting = new Map<
    number,
    { readonly events: ConnectionEvent[]; readonly detect?: PackedDetectEvents | undefined }
  >();
  private queuedMessages = 0;
  private dispatchScheduled = false;
  private readonly relieved: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly outbox: EventSink,
    private readonly intake: SourceIntake,
    private readonly options: PipelinePoolOptions,
  ) {
    if (!Number.isInteger(options.workers) || options.workers < 1) {
      throw new Error(`a pipeline pool needs at least one worker, got ${options.workers}`);
    }
    this.privacy = options.privacy;
    this.formatOverrides = [...(options.formatOverrides ?? new Map<string, string>())];
    this.summary = options.summary && {
      windowMs: options.summary.windowMs,
      maxOpenKeys: Math.max(100, Math.ceil(options.summary.maxOpenKeys / options.workers)),
    };
    this.detect = options.detect;
    this.batchMessages = Math.min(options.batchMessages ?? 512, 65_535);
    this.batch = new Batch(this.batchMessages, BATCH_BYTES);
    // Eight batches: enough to keep every worker busy, small enough that queued bytes stay a few MB.
    this.maxQueued = options.maxQueuedMessages ?? 8 * this.batchMessages;
    this.overloadAt = Math.max(this.maxQueued, options.overloadMessages ?? 4 * this.maxQueued);
    this.workerUrl =
      options.workerUrl ?? new URL(`./worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
    this.seaWorker = options.workerUrl === undefined && isSea() ? getAsset('worker.cjs', 'utf8') : undefined;
    for (let i = 0; i < options.workers; i++) this.slots.push(this.spawn());
  }

  /** A pool whose workers are all set up; rejects (and stops them) if one cannot start. */
  static async start(
    outbox: EventSink,
    intake: SourceIntake,
    options: PipelinePoolOptions,
  ): Promise<PipelinePool> {
    const pool = new PipelinePool(outbox, intake, options);
    try {
      await Promise.all(pool.slots.map((slot) => pool.whenReady(slot)));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  private whenReady(slot: Slot): Promise<void> {
    return new Promise((resolve, reject) => {
      if (slot.ready) return resolve();
      const onMessage = (message: FromWorker) => {
        if (message.type !== 'ready') return;
        slot.worker.off('exit', onExit);
        resolve();
      };
      const onExit = () => {
        slot.worker.off('message', onMessage);
        reject(new Error(`a parse worker could not start: ${slot.failure?.message ?? 'it exited'}`));
      };
      slot.worker.on('message', onMessage);
      slot.worker.once('exit', onExit);
    });
  }

  /** The listeners' message handler: counts and rate-limits here, parses in a worker. */
  readonly accept = (frame: Buffer, source: string, transport: Transport, truncated: boolean): void => {
    const key = this.intake.admit(source, frame.length, truncated, performance.now());
    if (key === undefined) {
      countTurnedAway(this.own, transport, 'rateLimited');
      return;
    }
    if (this.queuedMessages >= this.overloadAt || this.closed || !this.anyAlive()) {
      countTurnedAway(this.own, transport, 'overloaded');
      return;
    }
    const batch = this.batch;
    batch.add(frame, key, TRANSPORT_INDEX[transport]);
    this.queuedMessages++;
    if (batch.count >= this.batchMessages) this.dispatch();
    else if (!this.dispatchScheduled) {
      // What arrives in one turn of the event loop (a socket read, a burst of datagrams) goes together.
      this.dispatchScheduled = true;
      setImmediate(this.dispatchLater);
    }
  };

  get congested(): boolean {
    return this.queuedMessages >= this.maxQueued;
  }

  whenRelieved(callback: () => void): void {
    if (!this.congested || this.closed) callback();
    else this.relieved.push(callback);
  }

  get counters(): PipelineCounters {
    const total = copyCounters(this.own);
    addCounters(total, this.retired);
    for (const slot of this.slots) addCounters(total, slot.counters);
    total.queued = this.queuedMessages;
    return total;
  }

  /** Per-source stats: this thread's intake, with what every worker parsed of each source. */
  sources(): SourceStats[] {
    return joinSources(
      this.intake.list(),
      (source) => {
        const reports: SourceOutcome[] = [];
        const retired = this.retiredSources.get(source);
        if (retired) reports.push(retired);
        for (const slot of this.slots) {
          const report = slot.sources.get(source);
          if (report) reports.push(report);
        }
        return combineOutcomes(reports);
      },
      new Map(this.formatOverrides),
    );
  }

  setPrivacy(privacy: PrivacyRecipe): void {
    this.privacy = privacy;
    this.broadcast({ type: 'privacy', privacy });
  }

  setFormatOverrides(overrides: ReadonlyMap<string, string>): void {
    this.formatOverrides = [...overrides];
    this.broadcast({ type: 'overrides', formatOverrides: this.formatOverrides });
  }

  /**
   * Hands every queued message to the workers and has each hand over its open summary windows once
   * through them; resolves when all of it is in the outbox (shutdown, before `outbox.flush()`).
   */
  async flushAll(): Promise<void> {
    this.dispatch();
    // A worker that does not answer in time is ended: its 'exit' counts what it held as lost and
    // settles its part. One still starting up (a replacement) gets its time once it is ready.
    let timer: NodeJS.Timeout;
    const check = (): void => {
      for (const slot of this.slots) if (slot.flushed && slot.ready) void slot.worker.terminate();
      if (this.slots.some((slot) => slot.flushed))
        timer = setTimeout(check, this.options.flushTimeoutMs ?? 30_000);
    };
    timer = setTimeout(check, this.options.flushTimeoutMs ?? 30_000);
    await Promise.all(
      this.slots
        .filter((slot) => !slot.dead)
        .map(
          (slot) =>
            new Promise<void>((resolve) => {
              slot.flushed = resolve;
              slot.worker.postMessage({ type: 'flushAll' } satisfies ToWorker);
            }),
        ),
    );
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const slot of this.slots) slot.closing = true;
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
    for (const callback of this.relieved.splice(0)) callback();
  }

  private readonly dispatchLater = (): void => {
    this.dispatchScheduled = false;
    this.dispatch();
  };

  private anyAlive(): boolean {
    for (const slot of this.slots) if (!slot.dead) return true;
    return false;
  }

  /** Sends the batch being filled to the live worker with the fewest messages outstanding. */
  private dispatch(): void {
    const batch = this.batch;
    if (batch.count === 0) return;
    let slot: Slot | undefined;
    for (const s of this.slots) {
      if (!s.dead && (slot === undefined || s.outstandingMessages < slot.outstandingMessages)) slot = s;
    }
    if (slot === undefined) return; // every worker is being replaced: the batch waits (accept counts the overflow)
    this.batch = new Batch(this.batchMessages, BATCH_BYTES);
    const seq = this.nextSeq++;
    const n = batch.count;
    slot.outstanding.push({ seq, messages: n });
    slot.outstandingMessages += n;
    const bytes = new Uint8Array(batch.bytes.buffer, batch.bytes.byteOffset, batch.length);
    slot.worker.postMessage(
      {
        type: 'batch',
        seq,
        bytes,
        ends: batch.ends.subarray(0, n),
        sourceKeys: batch.sourceKeys,
        sources: batch.sources.subarray(0, n),
        transports: batch.transports.subarray(0, n),
      } satisfies ToWorker,
      [bytes.buffer, batch.ends.buffer, batch.sources.buffer, batch.transports.buffer] as ArrayBuffer[],
    );
  }

  private broadcast(message: ToWorker): void {
    for (const slot of this.slots) slot.worker.postMessage(message);
  }

  private spawn(): Slot {
    const worker = new Worker(this.seaWorker ?? workerEntry(this.workerUrl), {
      eval: this.seaWorker !== undefined || this.workerUrl.pathname.endsWith('.ts'),
      // Not the parent's Node options: a worker needs no `--import` hooks (a TypeScript entry
      // registers tsx itself, above), and under a test runner they loaded the runner's and tsx's
      // module hooks into every worker, which then sometimes ran out of its capped heap at start-up.
      execArgv: [],
      workerData: {
        privacy: this.privacy,
        formatOverrides: this.formatOverrides,
        ...(this.summary && { summary: this.summary }),
        ...(this.detect && { detect: true }),
      } satisfies WorkerInit,
      // Parsing makes short-lived garbage that dies young: a small young generation keeps each
      // thread's memory low (4 MB measured no slower than 16 MB by bench pipeline).
      resourceLimits: {
        maxYoungGenerationSizeMb: 4,
        maxOldGenerationSizeMb: workerOldGenerationMb(this.summary?.maxOpenKeys ?? 0),
      },
    });
    const slot: Slot = {
      worker,
      outstanding: [],
      outstandingMessages: 0,
      counters: newPipelineCounters(),
      sources: new Map(),
      ready: false,
      dead: false,
      closing: false,
    };
    worker.on('message', (message: FromWorker) => this.receive(slot, message));
    worker.on('error', (error) => {
      slot.failure = error;
    });
    worker.on('exit', (code) => {
      slot.dead = true;
      if (!slot.closing)
        this.replace(slot, slot.failure ?? new Error(`parse worker exited with code ${code}`));
    });
    return slot;
  }

  private receive(slot: Slot, message: FromWorker): void {
    if (message.type === 'ready') {
      slot.ready = true;
      this.dispatch(); // a batch may have waited while every worker was being replaced
      return;
    }
    // Counters move now (they describe what the worker has done); events (and detection's
    // summaries of the same lines) wait for their turn.
    slot.counters = message.counters;
    for (const stats of message.sources) slot.sources.set(stats.source, stats);
    if (message.type === 'batch') {
      const sent = slot.outstanding.shift();
      if (sent === undefined || sent.seq !== message.seq) {
        // A worker answers its batches in order; anything else is a bug to fail loudly over.
        throw new Error(`parse worker answered batch ${message.seq}, expected ${sent?.seq}`);
      }
      slot.outstandingMessages -= sent.messages;
      this.queuedMessages -= sent.messages;
      this.waiting.set(message.seq, { events: message.events, detect: message.detect });
      this.applyReady();
      return;
    }
    // Summaries of ended windows belong to no batch: they go to the outbox at once.
    for (const event of message.events) this.outbox.append(event);
    if (message.type === 'flushed') {
      const done = slot.flushed;
      slot.flushed = undefined;
      done?.();
    }
  }

  /** Appends the events of consecutive answered batches, oldest first. */
  private applyReady(): void {
    for (;;) {
      const answered = this.waiting.get(this.nextToApply);
      if (answered === undefined) break;
      this.waiting.delete(this.nextToApply);
      this.nextToApply++;
      for (const event of answered.events) this.outbox.append(event);
      if (answered.detect && this.detect) unpackDetectEvents(answered.detect, this.detect);
    }
    if (!this.congested && this.relieved.length > 0) {
      for (const callback of this.relieved.splice(0)) callback();
    }
  }

  /** A worker died: count what it held as lost, keep its totals, start another in its place. */
  private replace(dead: Slot, error: Error): void {
    let lost = 0;
    for (const sent of dead.outstanding) {
      lost += sent.messages;
      this.waiting.set(sent.seq, { events: [] }); // no answer will come: later batches must not wait for it
    }
    this.queuedMessages -= lost;
    const held = dead.counters.summarise?.heldEvents ?? 0;
    this.own.workerLost += lost + held;
    this.own.received += lost;
    const counters = copyCounters(dead.counters);
    if (counters.summarise) counters.summarise.heldEvents = 0;
    addCounters(this.retired, counters);
    for (const [source, stats] of dead.sources) {
      this.retiredSources.set(source, retireOutcome(this.retiredSources.get(source), stats));
    }
    dead.outstanding.length = 0;
    dead.outstandingMessages = 0;
    dead.counters = newPipelineCounters();
    dead.sources.clear();
    this.options.onWorkerFailure?.(error, lost + held);
    this.applyReady();
    // Its open summary windows died with it: a pending flushAll has nothing more to wait for there.
    const flushed = dead.flushed;
    dead.flushed = undefined;
    flushed?.();
    const respawn = () => {
      if (this.closed) return;
      this.slots[this.slots.indexOf(dead)] = this.spawn();
    };
    if (dead.ready) respawn();
    else setTimeout(respawn, RESPAWN_DELAY_MS).unref();
  }
}
