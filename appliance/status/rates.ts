/**
 * Messages per minute per source for the status page: the message counters are snapshotted every
 * 10 s in the background and the rate is the difference over the last minute (or over as long as the
 * agent has run, when that is shorter). Bounded by the accounting's own source limit.
 */
export const RATE_SNAPSHOT_MS = 10_000;
const WINDOW_SNAPSHOTS = 6;

interface Snapshot {
  readonly at: number;
  readonly counts: ReadonlyMap<string, number>;
}

export class SourceRates {
  private readonly snapshots: Snapshot[] = [];

  /** `now` and `counts`: the moment and each source's message counter at it. */
  record(now: number, counts: Iterable<readonly [string, number]>): void {
    this.snapshots.push({ at: now, counts: new Map(counts) });
    if (this.snapshots.length > WINDOW_SNAPSHOTS + 1) this.snapshots.shift();
  }

  /** Messages a minute of `source` between the oldest kept snapshot and `(now, count)`. */
  perMinute(source: string, now: number, count: number): number | null {
    const oldest = this.snapshots[0];
    if (!oldest || now - oldest.at < 1000) return null;
    const before = oldest.counts.get(source) ?? 0;
    return Math.max(0, Math.round(((count - before) * 60_000) / (now - oldest.at)));
  }
}
