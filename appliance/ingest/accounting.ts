/** Per-source accounting: what each sender (firewall) sent us and how much of it we understood. */
export interface SourceStats {
  readonly source: string;
  messages: number;
  bytes: number;
  parsed: number;
  unparsed: number;
  format?: string;
  confidence?: number;
  firstSeen: string;
  lastSeen: string;
  /** The last few lines no parser understood, cut short, for the status page. */
  unparsedSamples: string[];
}

const MAX_SOURCES = 1024;
const MAX_SAMPLES = 5;
const SAMPLE_CHARS = 300;
/** Senders beyond MAX_SOURCES are pooled here so a spoofed-source flood cannot grow memory. */
const OVERFLOW_SOURCE = 'other';

export class SourceAccounting {
  private readonly sources = new Map<string, SourceStats>();
  private nowIso = new Date().toISOString();
  private clock: NodeJS.Timeout;

  constructor() {
    // One Date per second, not per message: the hot path only reads the cached string.
    this.clock = setInterval(() => {
      this.nowIso = new Date().toISOString();
    }, 1000);
    this.clock.unref();
  }

  private entry(source: string): SourceStats {
    let stats = this.sources.get(source);
    if (stats === undefined) {
      if (this.sources.size >= MAX_SOURCES) return this.entry(OVERFLOW_SOURCE);
      stats = {
        source,
        messages: 0,
        bytes: 0,
        parsed: 0,
        unparsed: 0,
        firstSeen: this.nowIso,
        lastSeen: this.nowIso,
        unparsedSamples: [],
      };
      this.sources.set(source, stats);
    }
    return stats;
  }

  recordParsed(source: string, bytes: number, format: string, confidence: number): void {
    const stats = this.entry(source);
    stats.messages++;
    stats.bytes += bytes;
    stats.parsed++;
    stats.format = format;
    stats.confidence = confidence;
    stats.lastSeen = this.nowIso;
  }

  recordUnparsed(source: string, raw: string): void {
    const stats = this.entry(source);
    stats.messages++;
    stats.bytes += raw.length;
    stats.unparsed++;
    stats.lastSeen = this.nowIso;
    if (stats.unparsedSamples.length >= MAX_SAMPLES) stats.unparsedSamples.shift();
    stats.unparsedSamples.push(raw.length > SAMPLE_CHARS ? `${raw.slice(0, SAMPLE_CHARS)}…` : raw);
  }

  list(): SourceStats[] {
    return [...this.sources.values()];
  }

  close(): void {
    clearInterval(this.clock);
  }
}
