import { limits } from './limits.js';

/**
 * A strict structural pre-scan of untrusted CBOR (RFC 8949) that runs before any decoder touches
 * the bytes. It walks item headers without decoding values, so a hostile payload is rejected
 * before it can make a decoder allocate (a 9-byte header declaring a 2 GiB string or 2^32 array
 * items), recurse (thousands of nested arrays) or run extension code (cbor-x records, shared
 * references, structured clones — all of them tags).
 *
 * Accepted is the subset our encoder emits (see codec.ts): definite-length items only, no tags,
 * text-string map keys, simple values false/true/null/undefined and floats. It is deliberately
 * stricter than RFC 8949 "well-formed": everything outside that subset is a reason, not a value.
 *
 * The scan is iterative with an explicit stack of at most `bounds.maxDepth` frames, touches each
 * byte at most twice (header walk, UTF-8 check) and allocates nothing: the stack is preallocated
 * and results are frozen constants.
 */

export const CBOR_REASONS = {
  truncated: 'cbor: truncated',
  trailingBytes: 'cbor: trailing bytes',
  indefiniteLength: 'cbor: indefinite length',
  unexpectedBreak: 'cbor: unexpected break',
  reservedInfo: 'cbor: reserved additional info',
  malformed: 'cbor: malformed',
  tag: 'cbor: tag',
  simpleValue: 'cbor: unsupported simple value',
  stringTooLong: 'cbor: string too long',
  invalidUtf8: 'cbor: invalid utf-8',
  nulInText: 'cbor: NUL in text',
  arrayTooLong: 'cbor: array too long',
  mapTooLarge: 'cbor: map too large',
  nonTextKey: 'cbor: non-text key',
  tooDeep: 'cbor: too deep',
} as const;

export type CborReason = (typeof CBOR_REASONS)[keyof typeof CBOR_REASONS];

export type ScanResult = { readonly ok: true } | { readonly ok: false; readonly reason: CborReason };

/**
 * The bounds one scan enforces. Batches use the defaults (`limits`); a payload with another shape
 * passes its own (protocol/intel.ts: few, large byte strings). Depth is capped by the preallocated
 * stack (`MAX_SCAN_DEPTH`).
 */
export interface CborScanLimits {
  /** Longest text string, in UTF-8 bytes. */
  readonly maxTextBytes: number;
  /** Longest byte string. */
  readonly maxByteStringBytes: number;
  readonly maxArrayItems: number;
  readonly maxMapKeys: number;
  readonly maxDepth: number;
}

export const DEFAULT_SCAN_LIMITS: CborScanLimits = Object.freeze({
  maxTextBytes: limits.maxStringBytes,
  maxByteStringBytes: limits.maxStringBytes,
  maxArrayItems: limits.maxEventsPerBatch,
  maxMapKeys: limits.maxMapKeys,
  maxDepth: limits.maxDepth,
});

/** Deepest nesting any caller may ask for (the size of the preallocated stack). */
export const MAX_SCAN_DEPTH = 8;

const OK: ScanResult = Object.freeze({ ok: true });
const failures = {} as { -readonly [K in keyof typeof CBOR_REASONS]: ScanResult };
for (const key of Object.keys(CBOR_REASONS) as (keyof typeof CBOR_REASONS)[]) {
  failures[key] = Object.freeze({ ok: false, reason: CBOR_REASONS[key] });
}

// Major types (RFC 8949 §3.1).
const UINT = 0;
const NINT = 1;
const BYTES = 2;
const TEXT = 3;
const ARRAY = 4;
const MAP = 5;
const TAG = 6;

// Frame 0 is a virtual root holding the one top-level item; frames 1..maxDepth are containers.
// `pending` counts the items still expected in the frame: a map of n pairs expects 2n items, and
// the next item is a key exactly when that count is even before it is taken. Counts are capped by
// the limits before they are pushed, so 32 bits suffice.
const pending = new Int32Array(MAX_SCAN_DEPTH + 1);
const isMap = new Uint8Array(MAX_SCAN_DEPTH + 1);

/**
 * Scans one complete CBOR item filling all of `bytes`; never throws for any Uint8Array. Throws a
 * RangeError only for `bounds` deeper than `MAX_SCAN_DEPTH` (a programmer error).
 */
export function scanCbor(bytes: Uint8Array, bounds: CborScanLimits = DEFAULT_SCAN_LIMITS): ScanResult {
  if (bounds.maxDepth > MAX_SCAN_DEPTH) throw new RangeError(`scan depth above ${MAX_SCAN_DEPTH}`);
  const end = bytes.length;
  let pos = 0;
  let depth = 0;
  pending[0] = 1;
  isMap[0] = 0;

  for (;;) {
    let left = pending[depth]!;
    while (left === 0) {
      if (depth === 0) return pos === end ? OK : failures.trailingBytes;
      depth--;
      left = pending[depth]!;
    }
    pending[depth] = left - 1;
    const isKey = isMap[depth] === 1 && (left & 1) === 0;

    if (pos >= end) return failures.truncated;
    const initial = bytes[pos++]!;
    const major = initial >>> 5;
    const info = initial & 0x1f;
    if (isKey && major !== TEXT) return major === TAG ? failures.tag : failures.nonTextKey;

    // The argument (§3): a count, a length, an integer value or a float's bits; only its size
    // matters for floats and integers. Eight-byte arguments above 2^53 lose precision, but any
    // such value is far beyond every limit it is compared with.
    let arg: number;
    if (info < 24) {
      arg = info;
    } else if (info === 24) {
      if (pos + 1 > end) return failures.truncated;
      arg = bytes[pos]!;
      pos += 1;
    } else if (info === 25) {
      if (pos + 2 > end) return failures.truncated;
      arg = (bytes[pos]! << 8) | bytes[pos + 1]!;
      pos += 2;
    } else if (info === 26) {
      if (pos + 4 > end) return failures.truncated;
      arg = bytes[pos]! * 0x1000000 + ((bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!);
      pos += 4;
    } else if (info === 27) {
      if (pos + 8 > end) return failures.truncated;
      const high =
        bytes[pos]! * 0x1000000 + ((bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!);
      const low =
        bytes[pos + 4]! * 0x1000000 + ((bytes[pos + 5]! << 16) | (bytes[pos + 6]! << 8) | bytes[pos + 7]!);
      arg = high * 0x100000000 + low;
      pos += 8;
    } else if (info === 31) {
      // §3.2: indefinite length for strings and containers, "break" for simple values; for the
      // other major types it is not well-formed. We never send indefinite lengths.
      if (major === 7) return failures.unexpectedBreak;
      if (major === UINT || major === NINT || major === TAG) return failures.malformed;
      return failures.indefiniteLength;
    } else {
      return failures.reservedInfo; // 28–30 (§3, reserved for future expansion)
    }

    switch (major) {
      case UINT:
      case NINT:
        break;
      case BYTES:
      case TEXT:
        if (arg > (major === TEXT ? bounds.maxTextBytes : bounds.maxByteStringBytes)) {
          return failures.stringTooLong;
        }
        if (arg > end - pos) return failures.truncated;
        // §3.1: text strings are UTF-8; a strict decoder rejects invalid sequences rather than
        // letting them turn into U+FFFD downstream.
        if (major === TEXT && !isValidUtf8(bytes, pos, pos + arg)) return failures.invalidUtf8;
        // PostgreSQL text cannot hold U+0000: refuse it here rather than fail the insert forever.
        if (major === TEXT && containsNul(bytes, pos, pos + arg)) return failures.nulInText;
        pos += arg;
        break;
      case ARRAY:
      case MAP: {
        let items: number;
        if (major === ARRAY) {
          if (arg > bounds.maxArrayItems) return failures.arrayTooLong;
          items = arg;
        } else {
          if (arg > bounds.maxMapKeys) return failures.mapTooLarge;
          items = arg * 2;
        }
        // Every item takes at least one byte, so a count beyond what remains can never be met.
        if (items > end - pos) return failures.truncated;
        if (depth === bounds.maxDepth) return failures.tooDeep;
        depth++;
        pending[depth] = items;
        isMap[depth] = major === MAP ? 1 : 0;
        break;
      }
      case TAG:
        return failures.tag;
      default:
        // Major 7 (§3.3): 20–23 are false, true, null, undefined; 25–27 are half, single and
        // double floats whose bits were skipped as the argument. One-byte simple values (24) and
        // the unassigned 0–19 are nothing we send.
        if (info < 20 || info === 24) return failures.simpleValue;
        break;
    }
  }
}

/**
 * RFC 3629 validation of `bytes[start, end)`: rejects overlong forms, UTF-16 surrogates, code
 * points above U+10FFFF and truncated sequences. ASCII, the common case, costs one compare a byte.
 */
function containsNul(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] === 0) return true;
  return false;
}

export function isValidUtf8(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const b0 = bytes[i]!;
    if (b0 < 0x80) {
      i++;
      continue;
    }
    if (b0 < 0xc2 || b0 > 0xf4) return false;
    if (b0 < 0xe0) {
      if (i + 1 >= end || (bytes[i + 1]! & 0xc0) !== 0x80) return false;
      i += 2;
      continue;
    }
    if (b0 < 0xf0) {
      if (i + 2 >= end) return false;
      const b1 = bytes[i + 1]!;
      if ((b1 & 0xc0) !== 0x80 || (bytes[i + 2]! & 0xc0) !== 0x80) return false;
      if (b0 === 0xe0 && b1 < 0xa0) return false; // overlong
      if (b0 === 0xed && b1 > 0x9f) return false; // surrogate half
      i += 3;
      continue;
    }
    if (i + 3 >= end) return false;
    const b1 = bytes[i + 1]!;
    if ((b1 & 0xc0) !== 0x80 || (bytes[i + 2]! & 0xc0) !== 0x80 || (bytes[i + 3]! & 0xc0) !== 0x80)
      return false;
    if (b0 === 0xf0 && b1 < 0x90) return false; // overlong
    if (b0 === 0xf4 && b1 > 0x8f) return false; // above U+10FFFF
    i += 4;
  }
  return true;
}
