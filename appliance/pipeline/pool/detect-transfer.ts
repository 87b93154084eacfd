/**
 * Detection's events from a parse worker to the main thread, packed. Posting the events as objects
 * cost the agent half its throughput (the structured clone of every object on both sides, measured
 * with every detector off), and summing them per batch first cost the workers as much. Packed, a
 * batch's events are one Uint32Array (transferred, not copied) and a table of the distinct strings
 * in it (addresses, times, protocol and action words: far fewer than the events), and the main
 * thread rebuilds exactly the fields detection reads, in order.
 */
import type { ConnectionEvent } from '../../../protocol/event.js';

/** The fields detection reads (appliance/detect): the rest of an event stays out of the transfer. */
const STRING_FIELDS = [
  'ts',
  'vendor',
  'src_ip',
  'dst_ip',
  'dst_nat_ip',
  'proto',
  'action',
  'last_seen',
] as const;
const NUMBER_FIELDS = ['src_port', 'dst_port', 'count'] as const;
const STRIDE = STRING_FIELDS.length + NUMBER_FIELDS.length;
/** "Absent" in a slot (string index or number): no port, count or index reaches it. */
const NONE = 0xffffffff;

export interface PackedDetectEvents {
  readonly words: Uint32Array;
  readonly strings: readonly string[];
}

export class DetectEventPacker {
  private words = new Uint32Array(STRIDE * 256);
  private length = 0;
  private readonly index = new Map<string, number>();
  private strings: string[] = [];

  add(event: ConnectionEvent): void {
    if (this.length + STRIDE > this.words.length) {
      const grown = new Uint32Array(this.words.length * 2);
      grown.set(this.words);
      this.words = grown;
    }
    const w = this.words;
    let at = this.length;
    for (const field of STRING_FIELDS) {
      const value = event[field] as string | undefined;
      w[at++] = value === undefined ? NONE : this.intern(value);
    }
    for (const field of NUMBER_FIELDS) {
      const value = event[field] as number | undefined;
      // Counts above 2^32 - 2 do not occur in one batch's events; clamp rather than wrap.
      w[at++] = value === undefined ? NONE : Math.min(value, NONE - 1);
    }
    this.length = at;
  }

  get size(): number {
    return this.length / STRIDE;
  }

  /** The packed batch (its buffer is the caller's to transfer); the packer starts empty. */
  take(): PackedDetectEvents | undefined {
    if (this.length === 0) return undefined;
    const packed = { words: this.words.slice(0, this.length), strings: this.strings };
    this.length = 0;
    this.index.clear();
    this.strings = [];
    return packed;
  }

  private intern(value: string): number {
    let i = this.index.get(value);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(value);
      this.index.set(value, i);
    }
    return i;
  }
}

/**
 * The events again, in order, with the fields detection reads. One object is filled for each event
 * in turn (absent fields are `undefined`), so a batch allocates nothing: valid only during `each`.
 * Detection reads events and keeps none of them (appliance/detect: it copies what it keeps).
 */
export function unpackDetectEvents(packed: PackedDetectEvents, each: (event: ConnectionEvent) => void): void {
  const { words, strings } = packed;
  const event: Record<string, unknown> = {};
  for (const field of STRING_FIELDS) event[field] = undefined;
  for (const field of NUMBER_FIELDS) event[field] = undefined;
  for (let at = 0; at + STRIDE <= words.length; at += STRIDE) {
    let i = at;
    for (const field of STRING_FIELDS) {
      const s = words[i++]!;
      event[field] = s === NONE ? undefined : strings[s];
    }
    for (const field of NUMBER_FIELDS) {
      const n = words[i++]!;
      event[field] = n === NONE ? undefined : n;
    }
    each(event as unknown as ConnectionEvent);
  }
}
