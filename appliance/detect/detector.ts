/**
 * The fixed shape of a detector, the same small shape as a parser family: a name, a description,
 * documented default settings, and `create`, which returns the running state. Detectors are pure:
 * time is the event's own (`tMs`, from its `ts`, or the caller's clock when it has none), never
 * `Date.now()`, so a log file replays on its own timestamps and tests need no sleeps.
 */
import type { ConnectionEvent } from '../../protocol/event.js';
import type { Alert } from './alert.js';
import type { IntelLookup } from './intel-lookup.js';

/** Settings every detector has besides its own thresholds. */
export interface CommonSettings {
  /** Keys (sources, hosts, pairs) tracked at once; the least recently active is evicted and counted. */
  readonly maxTrackedKeys: number;
  /** An alert closes after this long without activity; until then the same source updates it. */
  readonly cooldownS: number;
}

export interface DetectorContext {
  isInternal(address: string | undefined): boolean;
  isExternal(address: string | undefined): boolean;
  /** Never alert on this address (the `detectIgnore` list). */
  ignored(address: string): boolean;
  /** Central's intelligence marks it as a mass scanner: the alert is labelled `background`. */
  background(address: string): boolean;
  readonly intel: IntelLookup;
}

export interface DetectorCounters {
  /** Tracked keys (or open alerts) evicted to stay within the caps. */
  evicted: number;
  raised: number;
  updated: number;
  /** Alerts not raised because their source is on the ignore list. */
  suppressed: number;
}

/**
 * What the engine works out once per event for every detector, so that ten detectors do not each
 * parse the same two addresses again. One object, overwritten for each event: read it during
 * `observe`, never keep it.
 */
export interface EventFacts {
  /** Sides of `src_ip` and `dst_ip` (see address-class.ts); all false for a missing or invalid one. */
  readonly srcInternal: boolean;
  readonly srcExternal: boolean;
  readonly dstInternal: boolean;
  readonly dstExternal: boolean;
  /** Raw events the record stands for (`weightOf`). */
  readonly weight: number;
}

export interface DetectorState {
  /**
   * Takes one (possibly summarised) event at time `tMs`; pushes alerts raised or meaningfully updated
   * onto `out` (the engine's, shared by all detectors: no array per detector per event).
   */
  observe(event: ConnectionEvent, tMs: number, facts: EventFacts, out: Alert[]): void;
  /** A clock tick: expires windows and closes quiet alerts (returned with `status: 'final'`). */
  flush(tMs: number): readonly Alert[];
  /** Keys tracked now (for the caps and the status page). */
  size(): number;
  readonly counters: DetectorCounters;
}

export interface Detector<S extends CommonSettings = CommonSettings> {
  readonly name: string;
  /** One sentence: what it detects. */
  readonly description: string;
  /** Every setting with its default; each is documented where the detector declares it. */
  readonly defaults: S;
  create(settings: S, context: DetectorContext): DetectorState;
}
