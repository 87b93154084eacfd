/**
 * Per-source intake, on the thread that reads the sockets: what each sender (firewall) sent us, in
 * messages and bytes, how much was cut to `maxMessageBytes`, and the per-source rate limit (the token
 * bucket lives beside the counters so both share one bounded map). What became of the messages
 * (parsed, unparsed, the format) is counted where parsing runs: `pipeline/outcomes.ts`.
 */
import { TokenBucket } from './rate-limit.js';

export interface SourceIntakeStats {
  readonly source: string;
  /** Every message received from the source, rate-limited ones included. */
  messages: number;
  bytes: number;
  /** Messages over `maxMessagesPerSourcePerS`: counted, not parsed, not forwarded. */
  rateLimited: number;
  /** Messages cut to `maxMessageBytes` by the listener (still parsed). */
  truncated: number;
  firstSeen: string;
  lastSeen: string;
}

interface SourceEntry {
  readonly stats: SourceIntakeStats;
  readonly bucket: TokenBucket | undefined;
}

export interface SourceIntakeOptions {
  /** Messages a second per source before the excess is counted as rateLimited; 0 = unlimited. */
  readonly maxMessagesPerSourcePerS?: number;
  /** Most distinct sources kept; the rest are pooled under `other`. */
  readonly maxSources?: number;
}

const DEFAULT_MAX_SOURCES = 1024;
/** Senders beyond maxSources are pooled here so a spoofed-source flood cannot grow memory. */
export const OVERFLOW_SOURCE = 'other';

export class SourceIntake {
  private readonly sources = new Map<string, SourceEntry>();
  private readonly ratePerS: number;
  private readonly maxSources: number;
  private nowIso = new Date().toISOString();
  private clock: NodeJS.Timeout;

  constructor(options: SourceIntakeOptions = {}) {
    this.ratePerS = options.maxMessagesPerSourcePerS ?? 0;
    this.maxSources = Math.max(1, options.maxSources ?? DEFAULT_MAX_SOURCES);
    // One Date per second, not per message: the hot path only reads the cached string.
    this.clock = setInterval(() => {
      this.nowIso = new Date().toISOString();
    }, 1000);
    this.clock.unref();
  }

  private entry(source: string, nowMs: number): SourceEntry {
    let entry = this.sources.get(source);
    if (entry === undefined) {
      if (this.sources.size >= this.maxSources && source !== OVERFLOW_SOURCE) {
        return this.entry(OVERFLOW_SOURCE, nowMs);
      }
      entry = {
        stats: {
          source,
          messages: 0,
          bytes: 0,
          rateLimited: 0,
          truncated: 0,
          firstSeen: this.nowIso,
          lastSeen: this.nowIso,
        },
        // One second's worth of burst: a firewall flushing a backlog after a link flap is not cut.
        bucket: this.ratePerS > 0 ? new TokenBucket(this.ratePerS, this.ratePerS, nowMs) : undefined,
      };
      this.sources.set(source, entry);
    }
    return entry;
  }

  /**
   * Counts one message from `source` (`nowMs` from a monotonic clock). Returns the key the source is
   * counted under (itself, or `other` past `maxSources`) for the parse stage, or undefined when the
   * source is over its rate limit: then the message is counted as rateLimited and must be dropped.
   */
  admit(source: string, bytes: number, truncated: boolean, nowMs: number): string | undefined {
    const entry = this.entry(source, nowMs);
    const stats = entry.stats;
    stats.messages++;
    stats.bytes += bytes;
    if (truncated) stats.truncated++;
    stats.lastSeen = this.nowIso;
    if (entry.bucket !== undefined && !entry.bucket.take(nowMs)) {
      stats.rateLimited++;
      return undefined;
    }
    return stats.source;
  }

  /** Copies of every source's counters. */
  list(): SourceIntakeStats[] {
    const out: SourceIntakeStats[] = [];
    for (const entry of this.sources.values()) out.push({ ...entry.stats });
    return out;
  }

  close(): void {
    clearInterval(this.clock);
  }
}
