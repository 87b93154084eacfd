/**
 * Messages between the agent's main thread and its parse workers (`worker_threads`). Everything here
 * crosses `postMessage`, so it is plain data: strings, numbers, arrays, typed arrays.
 */
import type { ConnectionEvent } from '../../../protocol/event.js';
import type { Transport } from '../../ingest/types.js';
import type { PrivacyRecipe } from '../../minimise/policy-config.js';
import type { SourceOutcome } from '../outcomes.js';
import type { PipelineCounters } from '../pipeline.js';
import type { PackedDetectEvents } from './detect-transfer.js';

export const TRANSPORTS: readonly Transport[] = ['udp', 'tcp', 'tls'];

export interface WorkerInit {
  readonly privacy: PrivacyRecipe;
  /** Source key → family name. */
  readonly formatOverrides: readonly (readonly [string, string])[];
  /** Absent: summaries off, every event is posted back on its own. */
  readonly summary?: { readonly windowMs: number; readonly maxOpenKeys: number };
  /**
   * Detection on: every minimised event also goes back to the main thread, packed with its batch
   * (detect-transfer.ts), where the one detection engine runs.
   */
  readonly detect?: boolean;
}

/** Main → worker. */
export type ToWorker =
  | {
      readonly type: 'batch';
      readonly seq: number;
      /** The messages' UTF-8 bytes back to back (its ArrayBuffer is transferred, not copied). */
      readonly bytes: Uint8Array;
      /** Where each message ends in `bytes`. */
      readonly ends: Uint32Array;
      /** The batch's distinct source keys (already pooled by the main thread's accounting). */
      readonly sourceKeys: readonly string[];
      /** Per message: index into sourceKeys, and into TRANSPORTS. */
      readonly sources: Uint16Array;
      readonly transports: Uint8Array;
    }
  | { readonly type: 'privacy'; readonly privacy: PrivacyRecipe }
  | { readonly type: 'overrides'; readonly formatOverrides: readonly (readonly [string, string])[] }
  /** Hand over every open summary window (shutdown). */
  | { readonly type: 'flushAll' };

/** A worker's counters and the outcomes of the sources that changed, as of the message carrying them. */
export interface WorkerSnapshot {
  readonly counters: PipelineCounters;
  readonly sources: readonly SourceOutcome[];
  /** The batch's events for detection, packed (absent: none, or detection off). */
  readonly detect?: PackedDetectEvents;
}

/** Worker → main. `ready` once set up; the others carry events for the outbox, in order, and a snapshot. */
export type FromWorker =
  | { readonly type: 'ready' }
  | ({ readonly type: 'batch'; readonly seq: number; readonly events: ConnectionEvent[] } & WorkerSnapshot)
  /** Summaries of windows that ended (the worker's clock), or of all windows on `flushAll`. */
  | ({ readonly type: 'windows' | 'flushed'; readonly events: ConnectionEvent[] } & WorkerSnapshot);
