/**
 * Per-source outcomes, counted wherever parsing runs (the in-thread pipeline, or each parse worker):
 * how many of a source's messages parsed, the format detected, and the last few lines no parser
 * understood. The intake half (messages, bytes, rate limit) is counted on the socket thread:
 * `ingest/intake.ts`; `sources.ts` joins the two for the status page.
 */

export interface SourceOutcome {
  readonly source: string;
  parsed: number;
  unparsed: number;
  /** The family the source sends and the detection confidence (1 when pinned by `formatOverrides`). */
  format?: string;
  confidence?: number;
  formatFrom?: 'detection' | 'override';
  /** The last few lines no parser understood, cut short, for the status page. */
  unparsedSamples: string[];
}

export const MAX_UNPARSED_SAMPLES = 5;
export const UNPARSED_SAMPLE_CHARS = 512;

export class SourceOutcomes {
  /** Keys come from the intake, which pools sources past its cap: this map is bounded by it. */
  private readonly sources = new Map<string, SourceOutcome>();
  /** Consecutive messages mostly share a source: one lookup saved per message. */
  private last: SourceOutcome | undefined;

  private entry(source: string): SourceOutcome {
    const last = this.last;
    if (last !== undefined && last.source === source) return last;
    let outcome = this.sources.get(source);
    if (outcome === undefined) {
      outcome = { source, parsed: 0, unparsed: 0, unparsedSamples: [] };
      this.sources.set(source, outcome);
    }
    this.last = outcome;
    return outcome;
  }

  parsed(source: string, format: string, confidence: number): void {
    const outcome = this.entry(source);
    outcome.parsed++;
    outcome.format = format;
    outcome.confidence = confidence;
  }

  unparsed(source: string, raw: string): void {
    const outcome = this.entry(source);
    outcome.unparsed++;
    const samples = outcome.unparsedSamples;
    if (samples.length >= MAX_UNPARSED_SAMPLES) samples.shift();
    samples.push(raw.length > UNPARSED_SAMPLE_CHARS ? `${raw.slice(0, UNPARSED_SAMPLE_CHARS)}…` : raw);
  }

  /** Copies (the caller may serialise at leisure); `only`: just these sources. */
  list(only?: ReadonlySet<string>): SourceOutcome[] {
    const out: SourceOutcome[] = [];
    for (const outcome of this.sources.values()) {
      if (only === undefined || only.has(outcome.source))
        out.push({ ...outcome, unparsedSamples: [...outcome.unparsedSamples] });
    }
    return out;
  }
}
