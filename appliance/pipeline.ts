/**
 * The per-message hot path: parse → account → outbox. Pure stages, no I/O but the outbox append
 * (an in-memory push; LMDB writes are batched by the outbox).
 */
import type { SourceAccounting } from './ingest/accounting.js';
import type { Transport } from './ingest/types.js';
import type { Outbox } from './outbox/outbox.js';
import { parseMessage, SourceFormatTracker } from './parse/registry.js';

export interface PipelineCounters {
  received: number;
  parsed: number;
  unparsed: number;
  byTransport: Record<Transport, number>;
  byFamily: Record<string, number>;
  unparsedReasons: Record<string, number>;
}

export class Pipeline {
  readonly counters: PipelineCounters = {
    received: 0,
    parsed: 0,
    unparsed: 0,
    byTransport: { udp: 0, tcp: 0, tls: 0 },
    byFamily: {},
    unparsedReasons: {},
  };
  private readonly tracker = new SourceFormatTracker();
  private now = new Date();
  private readonly clock: NodeJS.Timeout;

  constructor(
    private readonly outbox: Outbox,
    private readonly accounting: SourceAccounting,
  ) {
    // Year inference for year-less dates needs "now" only to the day: refresh it once a second.
    this.clock = setInterval(() => {
      this.now = new Date();
    }, 1000);
    this.clock.unref();
  }

  readonly accept = (raw: string, source: string, transport: Transport): void => {
    const c = this.counters;
    c.received++;
    c.byTransport[transport]++;
    const result = parseMessage(raw, this.now, this.tracker, source);
    if (result.ok) {
      c.parsed++;
      c.byFamily[result.family] = (c.byFamily[result.family] ?? 0) + 1;
      this.accounting.recordParsed(source, raw.length, result.family, result.confidence);
      this.outbox.append(result.event);
    } else {
      c.unparsed++;
      // Reasons are short fixed strings; cap the map anyway so no parser bug can grow it per line.
      const reason =
        result.reason in c.unparsedReasons || Object.keys(c.unparsedReasons).length < 64
          ? result.reason
          : 'other';
      c.unparsedReasons[reason] = (c.unparsedReasons[reason] ?? 0) + 1;
      this.accounting.recordUnparsed(source, raw);
    }
  };

  close(): void {
    clearInterval(this.clock);
  }
}
