/**
 * The core of `cyberalarm-agent detect FILE`: parse → minimise → detect over a log, on the log's own
 * timestamps, yielding each alert when raised and when closed (and, if asked, every update), then
 * one summary object. Year-less syslog dates are anchored in `year`. Internal addresses are
 * pseudonymised with the given key, or a throwaway random one (nothing is stored), so what the
 * command shows is what central would see.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createMinimisePolicy, minimise, newMinimiseCounters } from '../minimise/minimise.js';
import { parseMessage } from '../parse/registry.js';
import type { Alert } from './alert.js';
import { createDetectionEngine, type EngineOptions } from './engine.js';
import { parseIgnoreList } from './ignore-list.js';
import { internalPseudonym } from './live.js';

export interface DetectFileOptions {
  /** Year for dates without one (RFC 3164 stamps). */
  readonly year: number;
  /** Pseudonym key (≥ 16 bytes); default: random, for this run only. */
  readonly privacyKey?: Uint8Array;
  /** `detectIgnore` syntax. */
  readonly ignore?: string;
  readonly maxTrackedSources?: number;
  readonly enabled?: readonly string[];
  /** Also yield `status: 'update'` reports. */
  readonly updates?: boolean;
}

export interface DetectFileSummary {
  readonly summary: true;
  readonly lines: number;
  readonly parsed: number;
  readonly unparsed: number;
  readonly alerts: number;
  readonly byDetector: Record<string, number>;
  readonly evicted: number;
  readonly linesPerS: number;
}

/** Time between clock ticks (window expiry, closing quiet alerts), on the log's own clock. */
const TICK_MS = 60_000;

export async function* detectLines(
  lines: AsyncIterable<string>,
  options: DetectFileOptions,
): AsyncGenerator<Alert | DetectFileSummary> {
  const policy = createMinimisePolicy({ key: options.privacyKey ?? randomBytes(32) });
  const minimiseCounters = newMinimiseCounters();
  const ignore = parseIgnoreList(
    options.ignore ?? '',
    internalPseudonym(() => policy),
  );
  if (!ignore.ok) throw new RangeError(`ignore list: ${ignore.reason}`);
  const engineOptions: EngineOptions = {
    ignore: ignore.list,
    ...(options.maxTrackedSources !== undefined ? { maxTrackedSources: options.maxTrackedSources } : {}),
    ...(options.enabled !== undefined ? { enabled: options.enabled } : {}),
  };
  const engine = createDetectionEngine(engineOptions);
  // Mid-year: every year-less date then resolves into `year` (inferYear picks the closest year).
  const anchor = new Date(Date.UTC(options.year, 6, 2));
  // The log's clock: its latest timestamp so far; events without one happen "now" on it.
  let clockMs = Number.NEGATIVE_INFINITY;
  let lastTickMs = Number.NEGATIVE_INFINITY;
  let count = 0;
  let parsed = 0;
  const raised: Record<string, number> = {};
  const started = performance.now();
  const shown = (a: Alert) => options.updates === true || a.status !== 'update';

  for await (const line of lines) {
    if (line.trim() === '') continue;
    count++;
    const result = parseMessage(line, anchor);
    if (!result.ok) continue;
    parsed++;
    const event = minimise(result.event, policy, minimiseCounters);
    if (event.ts !== undefined) {
      const ms = Date.parse(event.ts);
      if (Number.isFinite(ms) && ms > clockMs) clockMs = ms;
    }
    for (const a of engine.observe(event, Number.isFinite(clockMs) ? clockMs : anchor.getTime())) {
      if (a.status === 'new') raised[a.detector] = (raised[a.detector] ?? 0) + 1;
      if (shown(a)) yield a;
    }
    if (Number.isFinite(clockMs) && clockMs - lastTickMs >= TICK_MS) {
      lastTickMs = clockMs;
      for (const a of engine.tick(clockMs)) yield a;
    }
  }
  for (const a of engine.finish()) yield a;
  const seconds = (performance.now() - started) / 1000;
  let total = 0;
  for (const n of Object.values(raised)) total += n;
  yield {
    summary: true,
    lines: count,
    parsed,
    unparsed: count - parsed,
    alerts: total,
    byDetector: raised,
    evicted: engine.detectors().reduce((sum, d) => sum + d.evicted, 0),
    linesPerS: seconds > 0 ? Math.round(count / seconds) : count,
  };
}
