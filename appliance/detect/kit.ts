/**
 * The pieces every detector is built from: bounded maps and sets (so a spoofed-source flood cannot
 * grow memory), event weights, and `AlertBook`, the one place that decides when an alert is raised,
 * updated and closed.
 */
import type { ConnectionEvent } from '../../protocol/event.js';
import {
  type Alert,
  type AlertStatus,
  MAX_SAMPLED_PORTS,
  MAX_SAMPLED_TARGETS,
  SEVERITY_RANK,
  type Severity,
} from './alert.js';
import type { DetectorContext, DetectorCounters } from './detector.js';

/** Raw events a record stands for: summaries carry `count`. */
export function weightOf(event: ConnectionEvent): number {
  return event.count ?? 1;
}

export function isDenied(event: ConnectionEvent): boolean {
  return event.action === 'deny' || event.action === 'drop' || event.action === 'reject';
}

/**
 * A packet from a well-known service port to a high port is the answer half of a connection: the
 * late FIN or RST of a web download that a stateful firewall drops after the flow has timed out is
 * logged as `DROP SRC=<cdn> SPT=443 DPT=51234`. Counting those would make every CDN a port scanner.
 * Trade-off: a scan that forges source port 53 or 80 (nmap -g) towards high ports is not counted.
 */
export function looksLikeReply(event: ConnectionEvent): boolean {
  const sport = event.src_port;
  const dport = event.dst_port;
  return sport !== undefined && dport !== undefined && sport < 1024 && dport >= 1024;
}

export function newCounters(): DetectorCounters {
  return { evicted: 0, raised: 0, updated: 0, suppressed: 0 };
}

/** Values a `CappedSet` keeps in an array before it needs a `Set`. */
const SMALL_SET = 8;

/**
 * Distinct values, exact up to `cap`; past it nothing more is stored and `capped` says the size is a
 * lower bound. Insertion-ordered, so the first few are the alert's examples. The first few values
 * live in a small array and a `Set` is made only past `SMALL_SET`: most sets (a source that probes
 * once) never grow, and thousands of tracked sources each holding `Set`s were most of detection's
 * garbage.
 */
export class CappedSet<T> {
  private small: T[] | undefined;
  private items: Set<T> | undefined;
  capped = false;
  constructor(private readonly cap: number) {}

  /** True when the value was new and stored. */
  add(value: T): boolean {
    const items = this.items;
    if (items !== undefined) {
      const n = items.size;
      if (n < this.cap) return items.add(value).size > n; // one hash lookup, not has() then add()
      if (!items.has(value)) this.capped = true;
      return false;
    }
    const small = this.small;
    if (small === undefined) {
      if (this.cap <= 0) {
        this.capped = true;
        return false;
      }
      this.small = [value];
      return true;
    }
    if (small.includes(value)) return false; // SameValueZero, as a Set compares
    if (small.length >= this.cap) {
      this.capped = true;
      return false;
    }
    if (small.length < SMALL_SET) small.push(value);
    else {
      this.items = new Set(small).add(value);
      this.small = undefined;
    }
    return true;
  }

  has(value: T): boolean {
    return this.items !== undefined ? this.items.has(value) : (this.small?.includes(value) ?? false);
  }

  get size(): number {
    return this.items !== undefined ? this.items.size : this.small !== undefined ? this.small.length : 0;
  }

  sample(n: number): T[] {
    const out: T[] = [];
    for (const v of this.values()) {
      if (out.length >= n) break;
      out.push(v);
    }
    return out;
  }

  values(): IterableIterator<T> {
    return this.items !== undefined ? this.items.values() : (this.small ?? EMPTY).values();
  }
}

const EMPTY: readonly never[] = Object.freeze([]);

/** A key's entry: its place in the recency list (see `BoundedMap`). */
interface Slot<V> {
  readonly key: string;
  readonly value: V;
  seq: number;
  older: Slot<V> | undefined;
  newer: Slot<V> | undefined;
}

/**
 * A map holding at most `cap` keys, roughly least recently touched first: `touch` moves a key that
 * has drifted into the older half to the fresh end. Reaching the cap evicts the oldest key and
 * counts it. The order is a linked list through the entries, not the `Map`'s own insertion order:
 * finding a `Map`'s first key walks over the holes its deletions left (V8 compacts only when the
 * table fills), which made every eviction cost thousands of steps.
 */
export class BoundedMap<V extends { lastMs: number }> {
  private readonly map = new Map<string, Slot<V>>();
  private oldest: Slot<V> | undefined;
  private newest: Slot<V> | undefined;
  /** Insertions so far: a key's `seq` says how far from the fresh end it sits, at most. */
  private seq = 0;
  private readonly keepFor: number;
  constructor(
    private readonly cap: number,
    private readonly counters: DetectorCounters,
  ) {
    this.keepFor = Math.max(1, cap >> 1);
  }

  get(key: string): V | undefined {
    return this.map.get(key)?.value;
  }

  /**
   * The value for `key` (undefined when absent, then `add` it), marked as recently used. A key is
   * moved to the fresh end only once it has drifted into the older half (more than cap/2 insertions
   * since it was last moved), so a busy key costs a lookup, not a move per event. A key is evicted
   * only after about cap/2 insertions without being touched: an approximate LRU.
   */
  touch(key: string): V | undefined {
    const slot = this.map.get(key);
    if (slot === undefined) return undefined;
    if (this.seq - slot.seq > this.keepFor) {
      this.unlink(slot);
      slot.seq = ++this.seq;
      this.append(slot);
    }
    return slot.value;
  }

  /**
   * As `touch`, but only for a value active within `withinMs` before `tMs` (`tMs - lastMs <
   * withinMs`); an older one is left where it is and undefined returned. One lookup where `get`
   * then `touch` took two.
   */
  touchRecent(key: string, tMs: number, withinMs: number): V | undefined {
    const slot = this.map.get(key);
    if (slot === undefined || tMs - slot.value.lastMs >= withinMs) return undefined;
    if (this.seq - slot.seq > this.keepFor) {
      this.unlink(slot);
      slot.seq = ++this.seq;
      this.append(slot);
    }
    return slot.value;
  }

  /** Adds an absent `key` at the fresh end (evicting the oldest key if full); returns `value`. */
  add(key: string, value: V): V {
    if (this.map.size >= this.cap) {
      const oldest = this.oldest;
      if (oldest !== undefined) {
        this.unlink(oldest);
        this.map.delete(oldest.key);
      }
      this.counters.evicted++;
    }
    const slot: Slot<V> = { key, value, seq: ++this.seq, older: undefined, newer: undefined };
    this.map.set(key, slot);
    this.append(slot);
    return value;
  }

  delete(key: string): void {
    const slot = this.map.get(key);
    if (slot === undefined) return;
    this.unlink(slot);
    this.map.delete(key);
  }

  /**
   * Removes keys idle since before `beforeMs`, oldest first; calls `onExpire` for each. A whole
   * pass: keys are not kept in order of last use (see `touch`), so a fresh key may sit before a
   * stale one. Called on the clock tick, not per event.
   */
  expire(beforeMs: number, onExpire?: (key: string, value: V) => void): void {
    for (let slot = this.oldest; slot !== undefined; ) {
      const next = slot.newer;
      if (slot.value.lastMs < beforeMs) {
        this.unlink(slot);
        this.map.delete(slot.key);
        onExpire?.(slot.key, slot.value);
      }
      slot = next;
    }
  }

  get size(): number {
    return this.map.size;
  }

  /** Oldest first. */
  *entries(): IterableIterator<[string, V]> {
    for (let slot = this.oldest; slot !== undefined; slot = slot.newer) yield [slot.key, slot.value];
  }

  private unlink(slot: Slot<V>): void {
    if (slot.older === undefined) this.oldest = slot.newer;
    else slot.older.newer = slot.newer;
    if (slot.newer === undefined) this.newest = slot.older;
    else slot.newer.older = slot.older;
    slot.older = undefined;
    slot.newer = undefined;
  }

  private append(slot: Slot<V>): void {
    slot.older = this.newest;
    if (this.newest === undefined) this.oldest = slot;
    else this.newest.newer = slot;
    this.newest = slot;
  }
}

/** What a detector found when a threshold was crossed: the window's evidence. */
export interface Finding {
  readonly severity: Severity;
  readonly kind: string;
  readonly keyRole?: 'source' | 'destination';
  readonly thresholds: Readonly<Record<string, number>>;
  readonly firstMs: number;
  readonly events: number;
  readonly targets?: Iterable<string>;
  readonly ports?: Iterable<number>;
  readonly protocols?: Iterable<string>;
  /** An open alert takes this finding's `kind` (what it turned out to be: a spray, not one host). */
  readonly renames?: boolean;
  /** Detector-specific words for the text (e.g. the service name); not part of the alert. */
  readonly detail?: string;
}

/** The fields an alert's text is written from. */
export type AlertFacts = Omit<Alert, 'summary' | 'advice'> & { readonly detail: string };

export type Describe = (facts: AlertFacts) => { summary: string; advice: string };

interface OpenAlert {
  id: string;
  source: string;
  firstMs: number;
  lastMs: number;
  severity: Severity;
  kind: string;
  keyRole: 'source' | 'destination';
  thresholds: Readonly<Record<string, number>>;
  detail: string;
  label: 'targeted' | 'background';
  events: number;
  readonly targets: CappedSet<string>;
  readonly ports: CappedSet<number>;
  readonly protocols: CappedSet<string>;
  // What was last reported, for the doubling rule.
  reportedEvents: number;
  reportedTargets: number;
  reportedPorts: number;
  updates: number;
  changed: boolean;
}

export interface AlertBookOptions {
  readonly detector: string;
  readonly cooldownMs: number;
  readonly maxOpen: number;
  /** Distinct targets/ports an alert counts exactly. */
  readonly distinctCap?: number;
  readonly describe: Describe;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * The life of a detector's alerts, one per key: `raise` when a threshold is crossed, `extend` with
 * every later event of that key. An update is reported when the events or a distinct count has at
 * least doubled since the last report, or the severity rose: a scan of 60,000 ports yields about 13
 * reports, not 60,000. An alert closes when its key is quiet for the cool-down (`flush`), with one
 * final report.
 */
/**
 * What every detector starts with: its counters and the book of its open alerts, one per key per
 * cool-down, at most `maxTrackedKeys` open.
 */
export function alertBookFor(
  detector: string,
  settings: { readonly cooldownS: number; readonly maxTrackedKeys: number },
  context: DetectorContext,
  describe: Describe,
): { counters: DetectorCounters; book: AlertBook } {
  const counters = newCounters();
  const book = new AlertBook(
    { detector, cooldownMs: settings.cooldownS * 1000, maxOpen: settings.maxTrackedKeys, describe },
    context,
    counters,
  );
  return { counters, book };
}

export class AlertBook {
  private readonly open: BoundedMap<OpenAlert>;
  private readonly distinctCap: number;

  constructor(
    private readonly options: AlertBookOptions,
    private readonly context: DetectorContext,
    private readonly counters: DetectorCounters,
  ) {
    this.open = new BoundedMap(options.maxOpen, counters);
    this.distinctCap = options.distinctCap ?? 1024;
  }

  /** Whether `key` has an open alert at `tMs`. */
  isOpen(key: string, tMs: number): boolean {
    const a = this.open.get(key);
    return a !== undefined && tMs - a.lastMs < this.options.cooldownMs;
  }

  get size(): number {
    return this.open.size;
  }

  /**
   * A threshold was crossed for `key`: raises an alert with the window's evidence, or, when one is
   * open, raises its severity (its events are already counted by `extend`).
   */
  raise(key: string, tMs: number, finding: Finding): Alert | undefined {
    const existing = this.open.touchRecent(key, tMs, this.options.cooldownMs);
    if (existing !== undefined) {
      const renamed = finding.renames === true && finding.kind !== existing.kind;
      if (renamed) existing.kind = finding.kind;
      const rose = SEVERITY_RANK[finding.severity] > SEVERITY_RANK[existing.severity];
      if (rose) {
        existing.severity = finding.severity;
        existing.kind = finding.kind;
        existing.thresholds = finding.thresholds;
        if (finding.detail !== undefined) existing.detail = finding.detail;
      }
      // The events were counted by `extend` as they came; the finding only adds examples.
      this.merge(existing, finding, false);
      existing.lastMs = Math.max(existing.lastMs, tMs);
      return rose || renamed ? this.report(existing, 'update') : this.maybeUpdate(existing);
    }
    if (this.context.ignored(key)) {
      this.counters.suppressed++;
      return undefined;
    }
    const firstMs = Math.min(finding.firstMs, tMs);
    const cap = this.distinctCap;
    const created: OpenAlert = {
      id: `${this.options.detector}:${key}:${iso(firstMs)}`,
      source: key,
      firstMs,
      lastMs: tMs,
      severity: finding.severity,
      kind: finding.kind,
      keyRole: finding.keyRole ?? 'source',
      thresholds: finding.thresholds,
      detail: finding.detail ?? '',
      label: this.context.background(key) ? 'background' : 'targeted',
      events: 0,
      targets: new CappedSet(cap),
      ports: new CappedSet(cap),
      protocols: new CappedSet(64),
      reportedEvents: 0,
      reportedTargets: 0,
      reportedPorts: 0,
      updates: 0,
      changed: false,
    };
    this.merge(created, finding, true);
    this.open.delete(key);
    this.open.add(key, created);
    this.counters.raised++;
    return this.report(created, 'new');
  }

  /** A later event of a key with an open alert; returns the alert when it grew meaningfully. */
  extend(
    key: string,
    tMs: number,
    weight: number,
    target?: string,
    port?: number,
    protocol?: string,
  ): Alert | undefined {
    const a = this.open.touchRecent(key, tMs, this.options.cooldownMs);
    if (a === undefined) return undefined;
    a.events += weight;
    if (target !== undefined) a.targets.add(target);
    if (port !== undefined) a.ports.add(port);
    if (protocol !== undefined) a.protocols.add(protocol);
    if (tMs > a.lastMs) a.lastMs = tMs;
    if (tMs < a.firstMs) a.firstMs = tMs;
    a.changed = true;
    return this.maybeUpdate(a);
  }

  /** Closes alerts quiet for the cool-down; each is reported once more as final. */
  flush(tMs: number): Alert[] {
    const out: Alert[] = [];
    this.open.expire(tMs - this.options.cooldownMs + 1, (_key, a) => {
      out.push(this.report(a, 'final'));
    });
    return out;
  }

  private merge(a: OpenAlert, f: Finding, withEvents: boolean): void {
    if (withEvents) a.events += f.events;
    if (f.targets) for (const t of f.targets) a.targets.add(t);
    if (f.ports) for (const p of f.ports) a.ports.add(p);
    if (f.protocols) for (const p of f.protocols) a.protocols.add(p);
    a.changed = true;
  }

  private maybeUpdate(a: OpenAlert): Alert | undefined {
    const grew =
      a.events >= 2 * a.reportedEvents ||
      (a.reportedTargets > 0 && a.targets.size >= 2 * a.reportedTargets) ||
      (a.reportedPorts > 0 && a.ports.size >= 2 * a.reportedPorts);
    return grew ? this.report(a, 'update') : undefined;
  }

  private report(a: OpenAlert, status: AlertStatus): Alert {
    if (status === 'update') {
      a.updates++;
      this.counters.updated++;
    }
    a.reportedEvents = a.events;
    a.reportedTargets = a.targets.size;
    a.reportedPorts = a.ports.size;
    a.changed = false;
    const facts: AlertFacts = {
      id: a.id,
      detector: this.options.detector,
      kind: a.kind,
      status,
      severity: a.severity,
      source: a.source,
      keyRole: a.keyRole,
      targets: a.targets.sample(MAX_SAMPLED_TARGETS),
      ports: a.ports.sample(MAX_SAMPLED_PORTS),
      protocols: a.protocols.sample(MAX_SAMPLED_PORTS),
      events: a.events,
      distinctTargets: a.targets.size,
      distinctPorts: a.ports.size,
      distinctCapped: a.targets.capped || a.ports.capped,
      firstSeen: iso(a.firstMs),
      lastSeen: iso(a.lastMs),
      thresholds: a.thresholds,
      label: a.label,
      detail: a.detail,
    };
    const { detail: _detail, ...alert } = facts;
    return { ...alert, ...this.options.describe(facts) };
  }
}

/** `n` with its noun, plural when needed: `plural(1, 'port')` → `1 port`. */
export function plural(n: number, noun: string, capped = false): string {
  return `${capped ? 'at least ' : ''}${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** A short duration in words: `45 seconds`, `12 minutes`, `3 hours`. */
export function span(facts: { firstSeen: string; lastSeen: string }): string {
  const s = Math.round((Date.parse(facts.lastSeen) - Date.parse(facts.firstSeen)) / 1000);
  if (s < 120) return plural(s, 'second');
  if (s < 7200) return plural(Math.round(s / 60), 'minute');
  return plural(Math.round(s / 3600), 'hour');
}

export function labelNote(facts: AlertFacts): string {
  return facts.label === 'background'
    ? ' Central knows this source as a mass scanner of the whole internet, so this is background noise rather than an attack aimed at you.'
    : '';
}

/**
 * A tumbling window of distinct values per sub-key (ports per host, hosts per port): it starts at a
 * key's first event and restarts at the first event after `windowMs`. Cheaper than a sliding window
 * and the same on raw events and on their summaries; a scan split across two windows is caught by
 * the slower, longer window where a detector has one.
 */
export class DistinctWindow<T> {
  startMs: number;
  events = 0;
  // The first sub-key's set sits outside the map: most windows (a source's one probe) see one sub-key.
  private firstSub: string | undefined;
  private firstSet: CappedSet<T> | undefined;
  private more: Map<string, CappedSet<T>> | undefined;
  private subKeys = 0;
  constructor(
    tMs: number,
    private readonly windowMs: number,
    private readonly maxSubKeys: number,
    private readonly cap: number,
  ) {
    this.startMs = tMs;
  }

  /**
   * Counts `weight` events at `tMs` and adds `value` under `sub`. Returns the sub-key's distinct count
   * when `value` was new, else 0 (so a threshold is crossed exactly once per window).
   */
  add(tMs: number, weight: number, sub: string, value: T): number {
    if (tMs - this.startMs >= this.windowMs) {
      this.startMs = tMs;
      this.events = 0;
      this.firstSub = undefined;
      this.firstSet = undefined;
      this.more = undefined;
      this.subKeys = 0;
    }
    this.events += weight;
    let set = this.get(sub);
    if (set === undefined) {
      if (this.subKeys >= this.maxSubKeys) return 0;
      set = new CappedSet<T>(this.cap);
      if (this.firstSet === undefined) {
        this.firstSub = sub;
        this.firstSet = set;
      } else {
        if (this.more === undefined) this.more = new Map();
        this.more.set(sub, set);
      }
      this.subKeys++;
    }
    return set.add(value) ? set.size : 0;
  }

  get(sub: string): CappedSet<T> | undefined {
    return sub === this.firstSub ? this.firstSet : this.more?.get(sub);
  }
}

/**
 * Two `DistinctWindow`s of `windowMs` that hop by half a window (window k covers
 * [origin + k·W/2, origin + k·W/2 + W), origin being the key's first event): every stretch of W/2
 * lies whole in one of them, so a burst no longer than half a window is never split across a
 * boundary the way a lone tumbling window can split it. Twice the state of one window, and like it
 * the same on raw events and their summaries (each record lands in the windows its time falls in).
 */
export class HoppingDistinctWindow<T> {
  private readonly windows: [DistinctWindow<T> | undefined, DistinctWindow<T> | undefined] = [
    undefined,
    undefined,
  ];
  private readonly index: [number, number] = [-1, -1];
  private readonly halfMs: number;
  /** The window whose count `add` returned (the evidence for a finding). */
  crossed: DistinctWindow<T> | undefined;

  constructor(
    private readonly originMs: number,
    private readonly windowMs: number,
    private readonly maxSubKeys: number,
    private readonly cap: number,
  ) {
    this.halfMs = Math.max(1, Math.floor(windowMs / 2));
  }

  /**
   * Adds to both windows `tMs` falls in; returns the larger sub-key distinct count among those where
   * `value` was new, else 0 (a threshold is crossed once per window, so at most twice per burst).
   */
  add(tMs: number, weight: number, sub: string, value: T): number {
    const k = Math.max(0, Math.floor((tMs - this.originMs) / this.halfMs));
    let best = 0;
    this.crossed = undefined;
    for (let j = Math.max(0, k - 1); j <= k; j++) {
      const slot = j & 1;
      if (this.index[slot]! < j) {
        // A new window starts with this event (a late, older event never reopens a dropped one).
        this.index[slot] = j;
        this.windows[slot] = new DistinctWindow<T>(tMs, this.windowMs, this.maxSubKeys, this.cap);
      }
      if (this.index[slot] !== j) continue;
      const n = this.windows[slot]!.add(tMs, weight, sub, value);
      if (n > best) {
        best = n;
        this.crossed = this.windows[slot];
      }
    }
    return best;
  }
}

/**
 * A weighted event count over the last `windowMs`, sliding in `buckets` steps (a ring of sub-window
 * buckets on the events' clock): a burst is counted whole wherever it starts, where a tumbling window
 * opened by an earlier, unrelated event can cut it in two. Fixed state: two small arrays.
 */
export class SlidingCount {
  private readonly counts: Float64Array;
  private readonly index: Float64Array;
  private readonly bucketMs: number;

  constructor(
    windowMs: number,
    private readonly buckets = 10,
  ) {
    this.bucketMs = Math.max(1, windowMs / buckets);
    this.counts = new Float64Array(buckets);
    this.index = new Float64Array(buckets).fill(Number.NEGATIVE_INFINITY);
  }

  /** Counts `weight` at `tMs`; returns the total of the window ending with `tMs`'s bucket. */
  add(tMs: number, weight: number): number {
    const n = this.buckets;
    const b = Math.floor(tMs / this.bucketMs);
    const slot = ((b % n) + n) % n;
    if (this.index[slot]! < b) {
      this.index[slot] = b;
      this.counts[slot] = 0;
    }
    // A late event whose bucket has already been reused is counted in the current one.
    this.counts[slot]! += weight;
    let newest = b;
    for (let i = 0; i < n; i++) if (this.index[i]! > newest) newest = this.index[i]!;
    let sum = 0;
    for (let i = 0; i < n; i++) if (this.index[i]! > newest - n) sum += this.counts[i]!;
    return sum;
  }
}
