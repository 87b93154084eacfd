import { brotliCompressSync, brotliDecompressSync, constants as zlibConstants } from 'node:zlib';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { BATCH_VERSION, type Batch, BatchSchema } from './batch.js';
import { scanCbor } from './cbor-scan.js';
import { limits } from './limits.js';
import { type LossRecord, LossRecordSchema, MAX_LOSS_PAYLOAD_BYTES } from './loss.js';
import { plainDecoder, plainEncoder } from './strict-cbor.js';
import { isValidDeviceId } from './topics.js';

/**
 * The batch codec: CBOR (RFC 8949) on the wire, validated against `BatchSchema` on the way in.
 *
 * Encoding emits plain definite-length maps, arrays, text strings, integers and floats — no tags,
 * no cbor-x records or bundled strings — which is exactly the subset `scanCbor` accepts. (cbor-x
 * 1.6 writes integers beyond 32 bits, e.g. epoch milliseconds, as float64; they decode to the
 * same safe integer.) The encoder and decoder are strict-cbor.ts's, shared with every other payload.
 */

const batchChecker = TypeCompiler.Compile(BatchSchema);
const lossChecker = TypeCompiler.Compile(LossRecordSchema);

/**
 * Compressed batch payloads: `COMPRESSED_MARKER`, one algorithm byte, then the compressed CBOR
 * batch. 0xce is the CBOR initial byte of a tag (major type 6), which the strict pre-scan refuses,
 * so no plain batch ever starts with it and the marker cannot be confused with one; a compressed
 * payload inside a compressed payload is refused the same way. The inflated batch must meet the same
 * limits as a plain one (`limits.maxPayloadBytes`), and zlib stops inflating at that size
 * (`maxOutputLength`), so a zip bomb costs central at most 1 MiB and a few ms before quarantine.
 *
 * Brotli quality 5 was chosen by `npm run bench -- uplink` (docs/PERFORMANCE.md): on 2,000-record
 * batches it is as small as gzip -6 (≈ 5.4 % of the CBOR for summaries, 11 B per raw event) at
 * ~2.5 ms per batch, while quality 9+ saves another 10 % for 6-500× the CPU.
 */
export const COMPRESSED_MARKER = 0xce;
export const COMPRESSION_BROTLI = 0x01;
export const BROTLI_QUALITY = 5;
/** Below this a batch is sent plain: the header and dictionary-less start make compression not pay. */
export const COMPRESS_MIN_BYTES = 256;

const TOO_LARGE_INFLATED: DecodeFailure = Object.freeze({ ok: false, reason: 'compression: too large' });
const BAD_COMPRESSION: DecodeFailure = Object.freeze({ ok: false, reason: 'compression: corrupt' });
const UNKNOWN_COMPRESSION: DecodeFailure = Object.freeze({
  ok: false,
  reason: 'compression: unknown algorithm',
});

export type DecodeFailure = { readonly ok: false; readonly reason: string };
export type DecodeResult = { readonly ok: true; readonly batch: Batch } | DecodeFailure;

const MAX_REASON_CHARS = 200;
const NOT_BYTES: DecodeFailure = Object.freeze({ ok: false, reason: 'payload not bytes' });
const TOO_LARGE: DecodeFailure = Object.freeze({ ok: false, reason: 'payload too large' });
const DECODE_FAILED: DecodeFailure = Object.freeze({ ok: false, reason: 'cbor: decode failed' });
const INTERNAL: DecodeFailure = Object.freeze({ ok: false, reason: 'decode: internal error' });

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
  return plainEncoder.encode(batch);
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
    if (payload[0] === COMPRESSED_MARKER) {
      const inflated = inflate(payload);
      if (!(inflated instanceof Uint8Array)) return inflated;
      payload = inflated;
    }
    const scan = scanCbor(payload);
    if (!scan.ok) return scan;
    let value: unknown;
    try {
      value = plainDecoder.decode(payload);
    } catch {
      return DECODE_FAILED;
    }
    if (!batchChecker.Check(value)) return { ok: false, reason: schemaReason(value) };
    return { ok: true, batch: value };
  } catch {
    return INTERNAL;
  }
}

/**
 * Compresses an encoded batch when that pays: the result is either `cbor` itself or the compressed
 * envelope, whichever is smaller (`decodeBatch` reads both).
 */
export function compressBatchPayload(cbor: Uint8Array): Uint8Array {
  if (cbor.length < COMPRESS_MIN_BYTES) return cbor;
  const body = brotliCompressSync(cbor, {
    params: {
      [zlibConstants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [zlibConstants.BROTLI_PARAM_SIZE_HINT]: cbor.length,
    },
  });
  if (body.length + 2 >= cbor.length) return cbor;
  const out = new Uint8Array(body.length + 2);
  out[0] = COMPRESSED_MARKER;
  out[1] = COMPRESSION_BROTLI;
  out.set(body, 2);
  return out;
}

/** Inflates a compressed envelope to at most `limits.maxPayloadBytes`, or says why not. */
function inflate(payload: Uint8Array): Uint8Array | DecodeFailure {
  if (payload[1] !== COMPRESSION_BROTLI) return UNKNOWN_COMPRESSION;
  try {
    return brotliDecompressSync(payload.subarray(2), { maxOutputLength: limits.maxPayloadBytes });
  } catch (err) {
    // ERR_BUFFER_TOO_LARGE: the output would pass maxOutputLength (a zip bomb, or a batch the
    // device should have split); anything else is a corrupt or truncated stream.
    return (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? TOO_LARGE_INFLATED : BAD_COMPRESSION;
  }
}

export type DecodeLossResult = { readonly ok: true; readonly record: LossRecord } | DecodeFailure;

/** Encodes a loss record for the `loss` uplink kind (always plain CBOR: it is tiny). */
export function encodeLossRecord(record: LossRecord): Uint8Array {
  if (!isValidDeviceId(record.device)) throw new RangeError('loss record device id is not valid');
  return plainEncoder.encode(record);
}

/** Decodes an untrusted loss record with the same strictness as a batch. Never throws. */
export function decodeLossRecord(payload: Uint8Array): DecodeLossResult {
  try {
    if (!(payload instanceof Uint8Array)) return NOT_BYTES;
    if (payload.length > MAX_LOSS_PAYLOAD_BYTES) return TOO_LARGE;
    const scan = scanCbor(payload);
    if (!scan.ok) return scan;
    let value: unknown;
    try {
      value = plainDecoder.decode(payload);
    } catch {
      return DECODE_FAILED;
    }
    if (!lossChecker.Check(value)) {
      const first = lossChecker.Errors(value).First();
      const reason =
        first === undefined ? 'schema: invalid' : `schema: ${first.path || '/'} ${first.message}`;
      return { ok: false, reason: reason.slice(0, MAX_REASON_CHARS) };
    }
    if (value.last_seq < value.first_seq) return { ok: false, reason: 'loss: seq range reversed' };
    return { ok: true, record: value };
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
