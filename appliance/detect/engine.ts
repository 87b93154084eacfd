/**
 * The detection engine: every enabled detector over the minimised event stream. Pure: the caller
 * passes each event with its clock (`nowMs`, used only when the event has no `ts`) and ticks it; the
 * engine never reads the clock itself, so `cyberalarm-agent detect FILE` replays a log on the log's
 * own timestamps.
 *
 * Suppression happens here once, for every detector: events from or to an ignored address are
 * skipped (counted), and the detectors' `AlertBook`s refuse to raise alerts about one.
 */
import type { ConnectionEvent } from '../../protocol/event.js';
import { INTERNAL_NETWORKS, type NetworkSet } from '../minimise/address.js';
import { AddressSide, addressClassifier } from './address-class.js';
import type { Alert } from './alert.js';
import type {
  CommonSettings,
  DetectorContext,
  DetectorCounters,
  DetectorState,
  EventFacts,
} from './detector.js';
import { DETECTORS } from './detectors/index.js';
import { EMPTY_IGNORE_LIST, type IgnoreList } from './ignore-list.js';
import { type IntelLookup, NO_INTEL } from './intel-lookup.js';

export interface EngineOptions {
  /** Detector names to run; default: all (`DETECTOR_NAMES`). */
  readonly enabled?: readonly string[];
  /** Per-detector overrides of their `defaults`, by detector name. */
  readonly settings?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Overrides every detector's `maxTrackedKeys` (the `detectMaxTrackedSources` setting). */
  readonly maxTrackedSources?: number;
  readonly ignore?: IgnoreList;
  /** Central's mass-scanner intelligence: alerts about these sources are labelled `background`. */
  readonly background?: (address: string) => boolean;
  readonly intel?: IntelLookup;
  /** Built-in internal ranges plus the member's own networks (`privacyNetworks`). */
  readonly internalNetworks?: NetworkSet;
  /** Alerts kept for `alerts()` (the status page), newest last. */
  readonly recentAlerts?: number;
}

export interface DetectorStatus extends DetectorCounters {
  readonly name: string;
  /** Keys tracked now. */
  readonly tracked: number;
}

export interface EngineCounters {
  /** Events observed (records, not count-weighted). */
  events: number;
  /** Raw events they stand for (count-weighted). */
  rawEvents: number;
  /** Events skipped because an address is on the ignore list. */
  ignored: number;
  /** Events whose `ts` did not parse (the caller's clock was used). */
  badTimestamps: number;
  raised: number;
  updated: number;
  closed: number;
}

export interface DetectionEngine {
  /** One minimised event; returns alerts raised or meaningfully updated. */
  observe(event: ConnectionEvent, nowMs: number): readonly Alert[];
  /** Expire windows and close quiet alerts; returns the closed alerts (`status: 'final'`). */
  tick(nowMs: number): readonly Alert[];
  /** Close every open alert (end of a replay); returns them as final. */
  finish(): readonly Alert[];
  /** Recent alerts, newest last (each alert's latest report only). */
  alerts(): readonly Alert[];
  readonly counters: Readonly<EngineCounters>;
  detectors(): readonly DetectorStatus[];
}

/** Two decimal digits at `i`, or -1. */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

// The day `parseTimestamp` last saw (`YYYY-MM-DDT`) and its midnight, from `Date.parse`.
let cachedDay = '\0';
let cachedDayMs = Number.NaN;

/**
 * `Date.parse(ts)`, faster for the forms events carry (`2026-03-10T08:00:00Z` and
 * `2026-03-10T08:00:00.003Z`): the day's midnight comes from `Date.parse` once per day, the time
 * of day is read digit by digit; any other form, or a field out of range, goes to `Date.parse`.
 * About every second event has a new `ts`, and `Date.parse` was 5 % of detection's time.
 */
export function parseTimestamp(ts: string): number {
  const n = ts.length;
  if (
    (n === 20 || (n === 24 && ts.charCodeAt(19) === 46)) /* . */ &&
    ts.charCodeAt(n - 1) === 90 /* Z */ &&
    ts.charCodeAt(10) === 84 /* T */ &&
    ts.charCodeAt(13) === 58 /* : */ &&
    ts.charCodeAt(16) === 58
  ) {
    const h = twoDigits(ts, 11);
    const m = twoDigits(ts, 14);
    const sec = twoDigits(ts, 17);
    let ms = 0;
    if (n === 24) {
      const hi = twoDigits(ts, 20);
      const lo = ts.charCodeAt(22) - 48;
      ms = hi >= 0 && lo >= 0 && lo <= 9 ? hi * 10 + lo : -1;
    }
    if (h >= 0 && h <= 23 && m >= 0 && m <= 59 && sec >= 0 && sec <= 59 && ms >= 0) {
      if (!ts.startsWith(cachedDay)) {
        cachedDay = ts.slice(0, 11);
        cachedDayMs = Date.parse(`${cachedDay}00:00:00Z`);
      }
      if (Number.isFinite(cachedDayMs)) return cachedDayMs + ((h * 60 + m) * 60 + sec) * 1000 + ms;
    }
  }
  return Date.parse(ts);
}

/** Returned when nothing was raised: most events raise nothing, and need not allocate. */
const NO_ALERTS: readonly Alert[] = Object.freeze([]);

interface Running {
  readonly name: string;
  readonly state: DetectorState;
}

export function createDetectionEngine(options: EngineOptions = {}): DetectionEngine {
  const ignore = options.ignore ?? EMPTY_IGNORE_LIST;
  const classifier = addressClassifier(options.internalNetworks ?? INTERNAL_NETWORKS);
  const background = options.background ?? (() => false);
  const context: DetectorContext = {
    isInternal: classifier.isInternal,
    isExternal: classifier.isExternal,
    ignored: (a) => ignore.has(a),
    background,
    intel: options.intel ?? NO_INTEL,
  };
  const enabled = options.enabled ? new Set(options.enabled) : undefined;
  const running: Running[] = [];
  for (const d of DETECTORS) {
    if (enabled && !enabled.has(d.name)) continue;
    const settings: CommonSettings = {
      ...d.defaults,
      ...(options.maxTrackedSources !== undefined ? { maxTrackedKeys: options.maxTrackedSources } : {}),
      ...(options.settings?.[d.name] ?? {}),
    };
    running.push({ name: d.name, state: d.create(settings, context) });
  }
  const counters: EngineCounters = {
    events: 0,
    rawEvents: 0,
    ignored: 0,
    badTimestamps: 0,
    raised: 0,
    updated: 0,
    closed: 0,
  };
  const recentMax = options.recentAlerts ?? 200;
  // Latest report per alert id; a Map keeps insertion order, so re-inserting moves it to the end.
  const recent = new Map<string, Alert>();
  let lastTs = '';
  let lastTsMs = 0;
  const states = running.map((r) => r.state);
  // Overwritten for each event (see `EventFacts`); `pending` collects every detector's alerts.
  const facts: { -readonly [K in keyof EventFacts]: EventFacts[K] } = {
    srcInternal: false,
    srcExternal: false,
    dstInternal: false,
    dstExternal: false,
    weight: 1,
  };
  const pending: Alert[] = [];

  function remember(alerts: readonly Alert[]): void {
    for (const a of alerts) {
      if (a.status === 'new') counters.raised++;
      else if (a.status === 'update') counters.updated++;
      else counters.closed++;
      recent.delete(a.id);
      recent.set(a.id, a);
      if (recent.size > recentMax) recent.delete(recent.keys().next().value as string);
    }
  }

  function timeOf(event: ConnectionEvent, nowMs: number): number {
    const ts = event.ts;
    if (ts === undefined) return nowMs;
    if (ts === lastTs) return lastTsMs; // firewalls log many events per second
    const ms = parseTimestamp(ts);
    if (!Number.isFinite(ms)) {
      counters.badTimestamps++;
      return nowMs;
    }
    lastTs = ts;
    lastTsMs = ms;
    return ms;
  }

  function collect(call: (s: DetectorState) => readonly Alert[]): readonly Alert[] {
    let out: Alert[] | undefined;
    for (const r of running) {
      const alerts = call(r.state);
      if (alerts.length === 0) continue;
      if (out === undefined) out = [];
      out.push(...alerts);
    }
    if (out === undefined) return NO_ALERTS;
    remember(out);
    return out;
  }

  return {
    counters,
    observe(event, nowMs) {
      counters.events++;
      const weight = event.count ?? 1;
      counters.rawEvents += weight;
      if (ignore.size > 0 && (ignore.has(event.src_ip) || ignore.has(event.dst_ip))) {
        counters.ignored++;
        return NO_ALERTS;
      }
      const tMs = timeOf(event, nowMs);
      const src = classifier.side(event.src_ip);
      const dst = classifier.side(event.dst_ip);
      facts.srcInternal = src === AddressSide.Internal;
      facts.srcExternal = src === AddressSide.External;
      facts.dstInternal = dst === AddressSide.Internal;
      facts.dstExternal = dst === AddressSide.External;
      facts.weight = weight;
      pending.length = 0; // (a detector that threw last time may have left some)
      for (const s of states) s.observe(event, tMs, facts, pending);
      if (pending.length === 0) return NO_ALERTS;
      const out = pending.slice();
      pending.length = 0;
      remember(out);
      return out;
    },
    tick(nowMs) {
      return collect((s) => s.flush(nowMs));
    },
    finish() {
      return collect((s) => s.flush(Number.MAX_SAFE_INTEGER));
    },
    alerts: () => [...recent.values()],
    detectors: () => running.map((r) => ({ name: r.name, tracked: r.state.size(), ...r.state.counters })),
  };
}
