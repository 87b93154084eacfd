/**
 * The pipeline's totals, shared by the one-thread pipeline and the worker pool, and how they add up.
 * Apart from `pipeline.ts` so the socket thread can build them without loading the parsers.
 */
import type { Transport } from '../ingest/types.js';
import { type MinimiseCounters, newMinimiseCounters } from '../minimise/minimise.js';
import type { SummariserCounters } from '../summarise/summarise.js';

export interface PipelineCounters {
  /** Through the pipeline: parsed + unparsed + rateLimited + overloaded + the messages in workerLost. */
  received: number;
  parsed: number;
  unparsed: number;
  /** Over a source's maxMessagesPerSourcePerS: counted, not parsed. */
  rateLimited: number;
  /** Handed to a parse worker and not yet through it (`pipelineWorkers` > 0). */
  queued: number;
  /** Dropped because the parse workers were this far behind (UDP only: TCP and TLS senders are paused instead). */
  overloaded: number;
  /**
   * Lost in a parse worker that died: the messages queued to it (counted as received) and the raw
   * events its open summary window held (already counted as parsed, never accepted).
   */
  workerLost: number;
  byTransport: Record<Transport, number>;
  byFamily: Record<string, number>;
  unparsedReasons: Record<string, number>;
  minimise: MinimiseCounters;
  summarise?: SummariserCounters;
}

export function newPipelineCounters(): PipelineCounters {
  return {
    received: 0,
    parsed: 0,
    unparsed: 0,
    rateLimited: 0,
    queued: 0,
    overloaded: 0,
    workerLost: 0,
    byTransport: { udp: 0, tcp: 0, tls: 0 },
    byFamily: {},
    unparsedReasons: {},
    minimise: newMinimiseCounters(),
  };
}

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

/** Counts a message the socket thread turned away before any parse stage saw it. */
export function countTurnedAway(
  counters: PipelineCounters,
  transport: Transport,
  why: 'rateLimited' | 'overloaded',
): void {
  counters.received++;
  counters.byTransport[transport]++;
  counters[why]++;
}
