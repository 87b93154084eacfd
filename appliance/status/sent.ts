/**
 * "What leaves this box": a copy of the last batch the uplink published, decoded with the same codec
 * central uses, only when someone looks (the uplink's path pays for one reference and one copy).
 */
import { decodeBatch } from '../../protocol/codec.js';
import type { ConnectionEvent } from '../../protocol/event.js';

export interface SentSample {
  readonly topic: string;
  readonly seq: number;
  readonly sentAt: string;
  /** Bytes on the wire (after compression, if any). */
  readonly payloadBytes: number;
  /** Records in the batch and the raw events they stand for. */
  readonly records: number;
  readonly events: number;
  /** The first few records, exactly as central will read them. */
  readonly sample: readonly ConnectionEvent[];
  /** Set when the payload did not decode (it is then shown as a size only). */
  readonly decodeError?: string;
}

export const SENT_SAMPLE_RECORDS = 20;

export class LastSent {
  private last: { topic: string; seq: number; at: number; payload: Uint8Array } | undefined;
  private decoded: SentSample | undefined;

  /** The uplink's publish hook. */
  readonly record = (topic: string, seq: number, payload: Uint8Array): void => {
    // A copy: the payload may be a view into a buffer the outbox reuses.
    this.last = { topic, seq, at: Date.now(), payload: Uint8Array.prototype.slice.call(payload) };
    this.decoded = undefined;
  };

  view(): SentSample | null {
    const last = this.last;
    if (!last) return null;
    if (this.decoded) return this.decoded;
    const result = decodeBatch(last.payload);
    const base = {
      topic: last.topic,
      seq: last.seq,
      sentAt: new Date(last.at).toISOString(),
      payloadBytes: last.payload.length,
    };
    this.decoded = result.ok
      ? {
          ...base,
          records: result.batch.events.length,
          events: result.batch.events.reduce((n, e) => n + (e.count ?? 1), 0),
          sample: result.batch.events.slice(0, SENT_SAMPLE_RECORDS),
        }
      : { ...base, records: 0, events: 0, sample: [], decodeError: result.reason };
    return this.decoded;
  }
}
