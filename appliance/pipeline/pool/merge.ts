/**
 * Pure merging of what the parse workers report: their counters add up, and each source's stats
 * combine the main thread's (messages, bytes, rate limit) with every worker's (parsed, format).
 */
import { MAX_UNPARSED_SAMPLES, type SourceStats } from '../../ingest/accounting.js';

type Counters = { [key: string]: number | Counters | undefined };

/** Adds every number in `from` into `into`, recursing into nested records (byFamily, minimise…). */
export function addCounters<T extends object>(into: T, from: T): T {
  const target = into as Counters;
  for (const [key, value] of Object.entries(from as Counters)) {
    if (typeof value === 'number') target[key] = ((target[key] as number | undefined) ?? 0) + value;
    else if (value !== undefined && typeof value === 'object') {
      const inner = target[key];
      target[key] = addCounters(inner !== undefined && typeof inner === 'object' ? inner : {}, value);
    }
  }
  return into;
}

/** A deep copy of a counters record (so adding to it leaves the original alone). */
export function copyCounters<T extends object>(counters: T): T {
  return addCounters({} as T, counters);
}

/** What the workers know of one source: parsed/unparsed summed, the freshest format, the last samples. */
export interface WorkerSourceView {
  parsed: number;
  unparsed: number;
  format?: string;
  confidence?: number;
  formatFrom?: 'detection' | 'override';
  unparsedSamples: string[];
}

/**
 * Combines the reports of several workers (freshest last) for one source. Samples from different
 * workers interleave in time; the last ones reported are kept.
 */
export function combineWorkerSources(reports: readonly SourceStats[]): WorkerSourceView {
  const view: WorkerSourceView = { parsed: 0, unparsed: 0, unparsedSamples: [] };
  for (const r of reports) {
    view.parsed += r.parsed;
    view.unparsed += r.unparsed;
    if (r.format !== undefined) {
      view.format = r.format;
      if (r.confidence !== undefined) view.confidence = r.confidence;
      if (r.formatFrom !== undefined) view.formatFrom = r.formatFrom;
    }
    view.unparsedSamples.push(...r.unparsedSamples);
  }
  view.unparsedSamples = view.unparsedSamples.slice(-MAX_UNPARSED_SAMPLES);
  return view;
}

/** Adds a dead worker's last report of a source into the running total kept for it. */
export function retireSource(into: SourceStats | undefined, last: SourceStats): SourceStats {
  return { ...last, ...combineWorkerSources(into === undefined ? [last] : [into, last]) };
}
