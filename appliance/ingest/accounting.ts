/**
 * Per-source accounting: what each sender (firewall) sent us, how much of it we understood, and the
 * per-source rate limit (the token bucket lives beside the counters so both share one bounded map).
 */
import { TokenBucket } from './rate-limit.js';

export interface SourceStats {
  readonly source: string;
  /**
   * Every message received from the source: parsed + unparsed + rateLimited once the parse workers
   * are through them (messages are counted on receipt, parsed/unparsed when a worker answers).
   */
  messages: number;
  bytes: number;
  parsed: number;
  unparsed: number;
  /** Messages over `maxMessagesPerSourcePerS`: counted, not parsed, not forwarded. */
  rateLimited: number;
  /** Messages cut to `maxMessageBytes` by the listener (still parsed). */
  truncated: number;
  /** The family the source sends and the detection confidence (1 when pinned by `formatOverrides`). */
  format?: string;
  confidence?: number;
  formatFrom?: 'detection' | 'override';
  firstSeen: string;
  lastSeen: string;
  /** The last few lines no parser understood, cut short, for the status page. */
  unparsedSamples: string[];
}

/** One source's counters and rate limiter; opaque to callers, passed back to the record methods. */
export interface SourceRecord {
  readonly stats: SourceStats;
  readonly bucket: TokenBucket | undefined;
}

export interface SourceAccountingOptions {
  /** Messages a second per source before the excess is counted as rateLimited; 0 = unlimited. */
  readonly maxMessagesPerSourcePerS?: number;
  /** Most distinct sources kept; the rest are pooled under `other`. */
  readonly maxSources?: number;
}

const DEFAULT_MAX_SOURCES = 1024;
export const MAX_UNPARSED_SAMPLES = 5;
export const UNPARSED_SAMPLE_CHARS = 512;
/** Senders beyond maxSources are pooled here so a spoofed-source flood cannot grow memory. */
export const OVERFLOW_SOURCE = 'other';

export class SourceAccounting {
  private readonly sources = new Map<string, SourceRecord>();
  private readonly ratePerS: number;
  private readonly maxSources: number;
  private nowIso = new Date().toISOString();
  private clock: NodeJS.Timeout;

  constructor(options: SourceAccountingOptions = {}) {
    this.ratePerS = options.maxMessagesPerSourcePerS ?? 0;
    this.maxSources = Math.max(1, options.maxSources ?? DEFAULT_MAX_SOURCES);
    // One Date per second, not per message: the hot path only reads the cached string.
    this.clock = setInterval(() => {
      this.nowIso = new Date().toISOString();
    }, 1000);
    this.clock.unref();
  }

  private entry(source: string, nowMs: number): SourceRecord {
    let record = this.sources.get(source);
    if (record === undefined) {
      if (this.sources.size >= this.maxSources && source !== OVERFLOW_SOURCE) {
        return this.entry(OVERFLOW_SOURCE, nowMs);
      }
      record = {
        stats: {
          source,
          messages: 0,
          bytes: 0,
          parsed: 0,
          unparsed: 0,
          rateLimited: 0,
          truncated: 0,
          firstSeen: this.nowIso,
          lastSeen: this.nowIso,
          unparsedSamples: [],
        },
        // One second's worth of burst: a firewall flushing a backlog after a link flap is not cut.
        bucket: this.ratePerS > 0 ? new TokenBucket(this.ratePerS, this.ratePerS, nowMs) : undefined,
      };
      this.sources.set(source, record);
    }
    return record;
  }

  /**
   * Counts one message from `source` (`nowMs` from a monotonic clock). Returns the source's record
   * for recordParsed/recordUnparsed, or undefined when the source is over its rate limit: then the
   * message is counted as rateLimited and the caller must drop it unparsed.
   */
  receive(source: string, bytes: number, truncated: boolean, nowMs: number): SourceRecord | undefined {
    const record = this.entry(source, nowMs);
    const stats = record.stats;
    stats.messages++;
    stats.bytes += bytes;
    if (truncated) stats.truncated++;
    stats.lastSeen = this.nowIso;
    if (record.bucket !== undefined && !record.bucket.take(nowMs)) {
      stats.rateLimited++;
      return undefined;
    }
    return record;
  }

  recordParsed(record: SourceRecord, format: string, confidence: number): void {
    const stats = record.stats;
    stats.parsed++;
    stats.format = format;
    stats.confidence = confidence;
  }

  recordUnparsed(record: SourceRecord, raw: string): void {
    const stats = record.stats;
    stats.unparsed++;
    const samples = stats.unparsedSamples;
    if (samples.length >= MAX_UNPARSED_SAMPLES) samples.shift();
    samples.push(raw.length > UNPARSED_SAMPLE_CHARS ? `${raw.slice(0, UNPARSED_SAMPLE_CHARS)}…` : raw);
  }

  list(): SourceStats[] {
    const out: SourceStats[] = [];
    for (const record of this.sources.values()) out.push(record.stats);
    return out;
  }

  close(): void {
    clearInterval(this.clock);
  }
}
