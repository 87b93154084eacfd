/**
 * What the status page shows per source: the socket thread's intake (messages, bytes, rate limit)
 * joined with the parse stage's outcomes (parsed, format, samples), which may come from several
 * parse workers. Pure.
 */
import type { SourceIntakeStats } from '../ingest/intake.js';
import { MAX_UNPARSED_SAMPLES, type SourceOutcome } from './outcomes.js';

export type OutcomeView = Omit<SourceOutcome, 'source'>;

export type SourceStats = SourceIntakeStats & OutcomeView;

/** Several reports of one source's outcomes (freshest last) as one: counts summed, the freshest format, the last samples. */
export function combineOutcomes(reports: readonly OutcomeView[]): OutcomeView {
  const view: OutcomeView = { parsed: 0, unparsed: 0, unparsedSamples: [] };
  for (const r of reports) {
    view.parsed += r.parsed;
    view.unparsed += r.unparsed;
    if (r.format !== undefined) {
      view.format = r.format;
      if (r.confidence !== undefined) view.confidence = r.confidence;
      if (r.formatFrom !== undefined) view.formatFrom = r.formatFrom;
    }
    // Samples from different workers interleave in time; the last ones reported are kept.
    view.unparsedSamples.push(...r.unparsedSamples);
  }
  view.unparsedSamples = view.unparsedSamples.slice(-MAX_UNPARSED_SAMPLES);
  return view;
}

/** Adds a dead worker's last report of a source into the running total kept for it. */
export function retireOutcome(into: SourceOutcome | undefined, last: SourceOutcome): SourceOutcome {
  return { source: last.source, ...combineOutcomes(into === undefined ? [last] : [into, last]) };
}

/**
 * Every source the intake saw, with what the parse stage made of its messages (none yet: zeros).
 * A source pinned to a family (`formatOverrides`, source key → family) shows that family even before
 * anything parsed; one pinned before and no longer shows nothing until detection decides.
 */
export function joinSources(
  intake: readonly SourceIntakeStats[],
  outcomeOf: (source: string) => OutcomeView | undefined,
  pinned: ReadonlyMap<string, string>,
): SourceStats[] {
  return intake.map((stats) => {
    const joined: SourceStats = { ...stats, ...(outcomeOf(stats.source) ?? combineOutcomes([])) };
    const family = pinned.get(stats.source);
    if (family !== undefined) {
      joined.format = family;
      joined.confidence = 1;
      joined.formatFrom = 'override';
    } else if (joined.formatFrom === 'override') {
      delete joined.format;
      delete joined.confidence;
      delete joined.formatFrom;
    }
    return joined;
  });
}
