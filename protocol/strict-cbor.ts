/**
 * One way to read and write the small CBOR payloads besides event batches (alerts, heartbeats,
 * intel lists): the same cbor-x options as codec.ts, and one strict decode for untrusted bytes —
 * size, the structural pre-scan before anything is allocated (cbor-scan.ts), the CBOR decode, then
 * the schema. Never throws; a reason is short enough to be a counter label.
 */
import { Decoder, Encoder } from 'cbor-x';
import { type CborScanLimits, scanCbor } from './cbor-scan.js';

/** Plain definite-length items out: no records, no tags, no packing (codec.ts says why). */
export const plainEncoder = new Encoder({
  useRecords: false,
  variableMapSize: true,
  structuredClone: false,
  pack: false,
  bundleStrings: false,
  tagUint8Array: false,
  useFloat32: 0,
});

/** Nothing but plain objects, arrays and primitives back (the pre-scan has refused every tag). */
export const plainDecoder = new Decoder({
  mapsAsObjects: true,
  useRecords: false,
  structuredClone: false,
  pack: false,
  bundleStrings: false,
  copyBuffers: false,
});

export type StrictDecodeResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

const MAX_REASON_CHARS = 200;
const fail = (reason: string) => Object.freeze({ ok: false as const, reason });
const NOT_BYTES = fail('payload not bytes');
const TOO_LARGE = fail('payload too large');
const DECODE_FAILED = fail('cbor: decode failed');
const INTERNAL = fail('decode: internal error');

/** What decodeStrict needs of a compiled TypeBox schema (`TypeCompiler.Compile`). */
export interface SchemaChecker {
  Check(value: unknown): boolean;
  Errors(value: unknown): { First(): { readonly path: string; readonly message: string } | undefined };
}

export function decodeStrict<T>(
  payload: Uint8Array,
  bounds: { readonly maxBytes: number; readonly scan: CborScanLimits; readonly checker: SchemaChecker },
): StrictDecodeResult<T> {
  try {
    if (!(payload instanceof Uint8Array)) return NOT_BYTES;
    if (payload.length > bounds.maxBytes) return TOO_LARGE;
    const scan = scanCbor(payload, bounds.scan);
    if (!scan.ok) return scan;
    let value: unknown;
    try {
      value = plainDecoder.decode(payload);
    } catch {
      return DECODE_FAILED;
    }
    if (!bounds.checker.Check(value)) {
      const first = bounds.checker.Errors(value).First();
      const reason =
        first === undefined ? 'schema: invalid' : `schema: ${first.path || '/'} ${first.message}`;
      return fail(reason.slice(0, MAX_REASON_CHARS));
    }
    return { ok: true, value: value as T };
  } catch {
    return INTERNAL;
  }
}
