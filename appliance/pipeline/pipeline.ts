/**
 * The stages, per message: parse → minimise → summarise → outbox, counting each source's outcome.
 * Pure stages, no I/O but the outbox append (an in-memory push; LMDB writes are batched by the
 * outbox). Runs on the main thread or in each parse worker; messages reach it already admitted by
 * the socket thread's intake (`ingest/intake.ts`: bytes, truncation, rate limit).
 *
 * Durability: an event is accepted when the outbox commits the record that carries it. With
 * summarising on, events wait in memory for up to one window (`summaryWindowS`) before their summary
 * reaches the outbox, so a kill -9 loses at most that window, and none of it was ever counted as
 * accepted (`summarise.heldEvents` shows how many raw events are waiting).
 */
import type { ConnectionEvent } from '../../protocol/event.js';
import type { Transport } from '../ingest/types.js';
import { type MinimisePolicy, minimise } from '../minimise/minimise.js';
import type { Outbox } from '../outbox/outbox.js';
import { parseMessage, SourceFormatTracker } from '../parse/registry.js';
import { type FlowSummariser, summaryWireEvent } from '../summarise/summarise.js';
import { newPipelineCounters, type PipelineCounters } from './counters.js';
import { type SourceOutcome, SourceOutcomes } from './outcomes.js';

/** The stages between parsing and the outbox. */
export interface PipelineStages {
  readonly privacy: MinimisePolicy;
  /** Absent: every event goes to the outbox on its own (`summaryWindowS` 0). */
  readonly summariser?: FlowSummariser;
  /** Appliance clock for summary windows (tests pass a fake). */
  readonly now?: () => number;
  /**
   * Detection's tap: every minimised event, before summarising (an alert must not wait for a
   * summary window). Absent: detection off.
   */
  readonly detect?: (event: ConnectionEvent) => void;
}

/** Where events go: the outbox, or a parse worker's collector that posts them to the main thread. */
export type EventSink = Pick<Outbox, 'append'>;

export type { PipelineCounters };

export class Pipeline {
  readonly counters: PipelineCounters = newPipelineCounters();
  private readonly outcomes = new SourceOutcomes();
  private readonly tracker: SourceFormatTracker;
  /** Swapped whole by `setPrivacy` (the member's page): the hot path reads one property per event. */
  private privacy: MinimisePolicy;
  private now = new Date();
  private readonly clock: NodeJS.Timeout;
  private readonly summariser: FlowSummariser | undefined;
  private readonly nowMs: () => number;
  private readonly detect: ((event: ConnectionEvent) => void) | undefined;

  constructor(
    private readonly outbox: EventSink,
    stages: PipelineStages,
    /** Source key → family name (`formatOverrides`), already validated against the registry. */
    formatOverrides: ReadonlyMap<string, string> = new Map(),
  ) {
    this.tracker = new SourceFormatTracker(formatOverrides);
    this.privacy = stages.privacy;
    this.summariser = stages.summariser;
    this.nowMs = stages.now ?? Date.now;
    this.detect = stages.detect;
    if (this.summariser) this.counters.summarise = this.summariser.counters;
    // Year inference for year-less dates needs "now" only to the day: refresh it once a second.
    // The same tick hands windows that have ended to the outbox.
    this.clock = setInterval(() => {
      this.now = new Date();
      this.flushDue();
    }, 1000);
    this.clock.unref();
  }

  /** One admitted message; `source` is the key the intake counted it under. */
  readonly accept = (raw: string, source: string, transport: Transport): void => {
    const c = this.counters;
    c.received++;
    c.byTransport[transport]++;
    const result = parseMessage(raw, this.now, this.tracker, source);
    if (result.ok) {
      c.parsed++;
      c.byFamily[result.family] = (c.byFamily[result.family] ?? 0) + 1;
      this.outcomes.parsed(source, result.family, result.confidence);
      const event = minimise(result.event, this.privacy, c.minimise);
      this.detect?.(event);
      if (this.summariser === undefined) this.outbox.append(event);
      else if (this.summariser.add(event, this.nowMs())) this.flushDue();
    } else {
      c.unparsed++;
      // Reasons are short fixed strings; cap the map anyway so no parser bug can grow it per line.
      const reason =
        result.reason in c.unparsedReasons || Object.keys(c.unparsedReasons).length < 64
          ? result.reason
          : 'other';
      c.unparsedReasons[reason] = (c.unparsedReasons[reason] ?? 0) + 1;
      this.outcomes.unparsed(source, raw);
    }
  };

  /**
   * Per-source outcomes with the format the tracker holds for each source (sticky detection, or
   * the configured override even before anything parsed). Copies: the caller may serialise at leisure.
   * `only`: just these sources (a parse worker reports the ones a batch touched).
   */
  sources(only?: ReadonlySet<string>): SourceOutcome[] {
    return this.outcomes.list(only).map((copy) => {
      const known = this.tracker.format(copy.source);
      if (known !== undefined) {
        copy.format = known.family;
        copy.confidence = known.confidence;
        copy.formatFrom = this.tracker.override(copy.source) === undefined ? 'detection' : 'override';
      } else if (copy.format !== undefined) {
        copy.formatFrom = 'detection';
      }
      return copy;
    });
  }

  /** A new privacy policy for every event parsed from now on (events already summarised keep theirs). */
  setPrivacy(policy: MinimisePolicy): void {
    this.privacy = policy;
  }

  /** New pinned formats (source key → family name, validated against the registry) from the next message. */
  setFormatOverrides(overrides: ReadonlyMap<string, string>): void {
    this.tracker.setOverrides(overrides);
  }

  /** Hands the summaries of ended windows to the outbox. */
  flushDue(): void {
    if (this.summariser === undefined) return;
    for (const record of this.summariser.flushDue(this.nowMs())) this.outbox.append(summaryWireEvent(record));
  }

  /** Hands every summary, open windows included, to the outbox (shutdown; before `outbox.flush()`). */
  flushAll(): void {
    if (this.summariser === undefined) return;
    for (const record of this.summariser.flushAll()) this.outbox.append(summaryWireEvent(record));
  }

  close(): void {
    clearInterval(this.clock);
  }
}
