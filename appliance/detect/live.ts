/**
 * Detection in the running agent: one engine on the main thread, fed every minimised event (one
 * thread) or each parse worker's packed events in batch order (agent-pipeline.ts), ticked once a
 * second on the appliance clock, each alert it raises, updates or closes handed to `onAlert` (the
 * outbox's alerts, the log). Pure detection lives in the engine; this file only holds the clock.
 */
import type { ConnectionEvent } from '../../protocol/event.js';
import { AddressKind, INTERNAL_NETWORKS, parseAddress } from '../minimise/address.js';
import type { MinimisePolicy } from '../minimise/minimise.js';
import type { Alert } from './alert.js';
import {
  createDetectionEngine,
  type DetectionEngine,
  type DetectorStatus,
  type EngineCounters,
  type EngineOptions,
} from './engine.js';
import { EMPTY_IGNORE_LIST, type IgnoreList } from './ignore-list.js';
import { type DetectSettings, detectOptions } from './settings.js';

/** What the status page and /metrics show of detection. */
export interface DetectionView {
  readonly enabled: boolean;
  /** Latest report of each recent alert, newest first. */
  readonly recent: readonly Alert[];
  readonly eventsSeen: number;
  readonly detectors: readonly DetectorStatus[];
  readonly counters: Readonly<EngineCounters>;
}

export const DETECTION_OFF: DetectionView = {
  enabled: false,
  recent: [],
  eventsSeen: 0,
  detectors: [],
  counters: { events: 0, rawEvents: 0, ignored: 0, badTimestamps: 0, raised: 0, updated: 0, closed: 0 },
};

export interface LiveDetection {
  readonly engine: DetectionEngine;
  view(): DetectionView;
  /** The pipeline's tap. */
  readonly observe: (event: ConnectionEvent) => void;
  /** Closes every open alert (shutdown) and stops the clock. */
  stop(): void;
}

export interface LiveDetectionOptions {
  readonly settings: DetectSettings;
  /** Turns a listed internal address into the pseudonym detection sees (the member's policy). */
  readonly privacy: () => MinimisePolicy;
  readonly onAlert: (alert: Alert) => void;
  /** Extra engine options (intel lookup, the background-scanner label). */
  readonly engine?: Pick<EngineOptions, 'intel' | 'background'>;
  /**
   * More addresses never alerted on besides `detectIgnore`: the scheme's own scanners from
   * central's lists, asked again on every event as lists change; undefined while there are none.
   */
  readonly alsoIgnore?: () => ((address: string) => boolean) | undefined;
  readonly now?: () => number;
  readonly tickMs?: number;
}

/**
 * The pseudonym detection sees for an internal address in clear (a member lists its own scanner by
 * address); undefined for anything else, which detection sees in clear.
 */
export function internalPseudonym(policy: () => MinimisePolicy): (address: string) => string | undefined {
  const words = new Uint32Array(4);
  return (address) => {
    const kind = parseAddress(address, words);
    if (kind === AddressKind.Invalid || !INTERNAL_NETWORKS.contains(kind, words)) return undefined;
    return policy().pseudonyms.address(kind, words, address);
  };
}

/** Undefined when detection is off (`detectEnabled` false). Throws a RangeError naming the bad key. */
export function startLiveDetection(options: LiveDetectionOptions): LiveDetection | undefined {
  const checked = detectOptions(options.settings, internalPseudonym(options.privacy));
  if (!checked.ok) throw new RangeError(`${checked.key}: ${checked.reason}`);
  if (!checked.enabled) return undefined;
  const base = checked.options.ignore ?? EMPTY_IGNORE_LIST;
  const alsoIgnore = options.alsoIgnore;
  const ignore: IgnoreList =
    alsoIgnore === undefined
      ? base
      : {
          // Non-zero while either list has entries: the engine skips the check when it is 0.
          get size() {
            return base.size + (alsoIgnore() === undefined ? 0 : 1);
          },
          has: (address) => base.has(address) || (address !== undefined && alsoIgnore()?.(address) === true),
        };
  const engine = createDetectionEngine({ ...checked.options, ...options.engine, ignore });
  const now = options.now ?? Date.now;
  const emit = (alerts: readonly Alert[]) => {
    for (const alert of alerts) options.onAlert(alert);
  };
  const clock = setInterval(() => emit(engine.tick(now())), options.tickMs ?? 1000);
  clock.unref();
  return {
    engine,
    view: () => ({
      enabled: true,
      recent: [...engine.alerts()].reverse(),
      eventsSeen: engine.counters.rawEvents,
      detectors: engine.detectors(),
      counters: { ...engine.counters },
    }),
    observe: (event) => {
      const alerts = engine.observe(event, now());
      if (alerts.length > 0) emit(alerts);
    },
    stop() {
      clearInterval(clock);
      emit(engine.finish());
    },
  };
}
