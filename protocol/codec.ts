import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Decoder, Encoder } from 'cbor-x';
import { BATCH_VERSION, type Batch, BatchSchema } from './batch.js';
import { scanCbor } from './cbor-scan.js';
import { limits } from './limits.js';
import { isValidDeviceId } from './topics.js';

/**
 * The batch codec: CBOR (RFC 8949) on the wire, validated against `BatchSchema` on the way in.
 *
 * Encoding emits plain definite-length maps, arrays, text strings, integers and floats — no tags,
 * no cbor-x records or bundled strings — which is exactly the subset `scanCbor` accepts. (cbor-x
 * 1.6 writes integers beyond 32 bits, e.g. epoch milliseconds, as float64; they decode to the
 * same safe integer.)
 */
const encoder = new Encoder({
  useRecords: false,
  variableMapSize: true, // preferred serialisation (§4.1): a5 rather than b9 0005 for a 5-key map
  structuredClone: false,
  pack: false,
  bundleStrings: false,
  tagUint8Array: false,
  useFloat32: 0,
});

/**
 * Decoding never builds anything but plain objects, arrays and primitives: the scanner has already
 * refused every tag, and these options disable records and structured clones besides. cbor-x maps a
 * `__proto__` key to an own `__proto_` property, which the schema then rejects as unknown.
 */
const decoder = new Decoder({
  mapsAsObjects: true,
  useRecords: false,
  structuredClone: false,
  pack: false,
  bundleStrings: false,
  copyBuffers: false,
});

const batchChecker = TypeCompiler.Compile(BatchSchema);

export type DecodeResult =
  | { readonly ok: true; readonly batch: Batch }
  | { readonly ok: false; readonly reason: string };

const MAX_REASON_CHARS = 200;
const NOT_BYTES: DecodeResult = Object.freeze({ ok: false, reason: 'payload not bytes' });
const TOO_LARGE: DecodeResult = Object.freeze({ ok: false, reason: 'payload too large' });
const DECODE_FAILED: DecodeResult = Object.freeze({ ok: false, reason: 'cbor: decode failed' });
const INTERNAL: DecodeResult = Object.freeze({ ok: false, reason: 'decode: internal error' });

/**
 * Encodes a batch for the uplink. The result may exceed `limits.maxPayloadBytes`: the outbox
 * checks the length and splits the batch in halves (a decoder rejects oversize payloads). Throws a
 * RangeError only for a batch no caller should build (wrong version, bad device id, more than
 * `limits.maxEventsPerBatch` events). Event contents are not re-validated here — the privacy
 * boundary (minimise) owns that — so a string over `limits.maxStringBytes` UTF-8 bytes would make
 * central reject the batch.
 */
export function encodeBatch(batch: Batch): Uint8Array {
  if (batch.v !== BATCH_VERSION) throw new RangeError(`batch version must be ${BATCH_VERSION}`);
  if (!isValidDeviceId(batch.device)) throw new RangeError('batch device id is not valid');
  if (batch.events.length > limits.maxEventsPerBatch) {
    throw new RangeError(`batch has ${batch.events.length} events, more than ${limits.maxEventsPerBatch}`);
  }
  return encoder.encode(batch);
}

/**
 * Decodes an untrusted payload: size limit, structural scan (before anything is allocated), CBOR
 * decode, then the compiled schema. Never throws; a failure carries a short reason suitable as a
 * counter label (schema reasons include the path of the first error).
 */
export function decodeBatch(payload: Uint8Array): DecodeResult {
  try {
    if (!(payload instanceof Uint8Array)) return NOT_BYTES;
    if (payload.length > limits.maxPayloadBytes) return TOO_LARGE;
    const scan = scanCbor(payload);
    if (!scan.ok) return scan;
    let value: unknown;
    try {
      value = decoder.decode(payload);
    } catch {
      return DECODE_FAILED;
    }
    if (!batchChecker.Check(value)) return { ok: false, reason: schemaReason(value) };
    return { ok: true, batch: value };
  } catch {
    return INTERNAL;
  }
}

function schemaReason(value: unknown): string {
  const first = batchChecker.Errors(value).First();
  const reason = first === undefined ? 'schema: invalid' : `schema: ${first.path || '/'} ${first.message}`;
  return reason.length > MAX_REASON_CHARS ? reason.slice(0, MAX_REASON_CHARS) : reason;
}

/** Raw events a batch stands for: a summary record counts as its `count`. */
export function batchEventCount(batch: Batch): number {
  let total = 0;
  for (const event of batch.events) total += event.count ?? 1;
  return total;
}
