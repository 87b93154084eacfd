/**
 * The `alerts` uplink kind: a detector's report (appliance/detect/alert.ts) as it travels to
 * central, and the batch that carries a few of them. One definition gives the TypeScript type and
 * the validator central runs on untrusted input; the codec below is codec.ts's (plain CBOR, strict
 * pre-scan before anything is decoded, then the compiled schema) with bounds of its own.
 *
 * Addresses: internal ones are pseudonyms (`p:` + 12 base32 characters, appliance/minimise), external
 * ones in clear. The schema bounds their length and alphabet only; central checks each one is an
 * address or a pseudonym (`isIP`) before storing, as it does for events.
 *
 * Alerts carry sentences (`summary`, `advice`) longer than an event's fields ever are, so their text
 * bound is `MAX_ALERT_TEXT_BYTES` rather than `limits.maxStringBytes`; the appliance cuts a longer
 * sentence at a character boundary before sending (`fitAlertText`).
 */
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { CborScanLimits } from './cbor-scan.js';
import { limits } from './limits.js';
import { decodeStrict, plainEncoder } from './strict-cbor.js';
import { DEVICE_ID_PATTERN, isValidDeviceId } from './topics.js';

/** Wire version of the alerts batch; a decoder rejects any other value. */
export const ALERTS_VERSION = 1;
/** Most alerts one batch may carry (alerts are rare: a batch holds the few raised in one second). */
export const MAX_ALERTS_PER_BATCH = 64;
/** Longest `summary` / `advice`, in UTF-8 bytes. */
export const MAX_ALERT_TEXT_BYTES = 1024;
/** Sampled peers / ports / protocols per alert (appliance/detect/alert.ts samples 10 and 20). */
export const MAX_ALERT_TARGETS = 10;
export const MAX_ALERT_PORTS = 20;
export const MAX_ALERT_PROTOCOLS = 8;
export const MAX_ALERT_THRESHOLDS = 16;
/**
 * Largest alerts payload: 64 alerts of at most ~3.5 KiB each (two 1 KiB sentences, ten 45-byte
 * addresses, the rest small) fit in 256 KiB; anything larger is refused before it is scanned.
 */
export const MAX_ALERTS_PAYLOAD_BYTES = 256 * 1024;

const NO_NUL = '^[^\\u0000]*$';
/** A detector or variant name: `vertical-scan`, `allowed-inbound`. */
const NAME = Type.String({ maxLength: 48, pattern: '^[a-z0-9][a-z0-9_-]{0,47}$' });
/**
 * An IPv4/IPv6 address in clear (hex digits, `.`, `:`, an optional `%zone` is not sent) or a
 * pseudonym. Central still parses it (`isIP`): the pattern only keeps junk out of the text columns.
 */
export const ALERT_ADDRESS_PATTERN = '^(p:[a-z2-7]{12}|[0-9A-Fa-f:.]{2,45})$';
const Address = Type.String({ maxLength: 45, pattern: ALERT_ADDRESS_PATTERN });
/** ISO-8601 UTC as `Date.toISOString()` writes it (and the detectors copy from events). */
const ISO_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$';
const Time = Type.String({ maxLength: 40, pattern: ISO_TIME });
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Sentence = Type.String({ maxLength: MAX_ALERT_TEXT_BYTES, pattern: NO_NUL });

export const AlertRecordSchema = Type.Object(
  {
    /** `${detector}:${source}:${firstSeen}`: the same for the raise, every update and the final report. */
    id: Type.String({ minLength: 1, maxLength: 160, pattern: NO_NUL }),
    detector: NAME,
    kind: NAME,
    status: Type.Union([Type.Literal('new'), Type.Literal('update'), Type.Literal('final')]),
    severity: Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high')]),
    source: Address,
    keyRole: Type.Union([Type.Literal('source'), Type.Literal('destination')]),
    targets: Type.Array(Address, { maxItems: MAX_ALERT_TARGETS }),
    ports: Type.Array(Type.Integer({ minimum: 0, maximum: 65535 }), { maxItems: MAX_ALERT_PORTS }),
    protocols: Type.Array(Type.String({ maxLength: 16, pattern: '^[A-Za-z0-9_.-]{1,16}$' }), {
      maxItems: MAX_ALERT_PROTOCOLS,
    }),
    events: Count,
    distinctTargets: Count,
    distinctPorts: Count,
    distinctCapped: Type.Boolean(),
    firstSeen: Time,
    lastSeen: Time,
    thresholds: Type.Record(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,31}$' }), Type.Number(), {
      maxProperties: MAX_ALERT_THRESHOLDS,
    }),
    label: Type.Union([Type.Literal('targeted'), Type.Literal('background')]),
    summary: Sentence,
    advice: Sentence,
  },
  { additionalProperties: false },
);

export type AlertRecord = Static<typeof AlertRecordSchema>;

/**
 * The alerts batch: sealed by the appliance's outbox under a sequence number from the same space as
 * its event batches (so (device, seq) names one payload whichever kind it is), acknowledged and
 * de-duplicated by central like an events batch.
 */
export const AlertsBatchSchema = Type.Object(
  {
    v: Type.Literal(ALERTS_VERSION),
    device: Type.String({ maxLength: 64, pattern: DEVICE_ID_PATTERN.source }),
    seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    /** When the batch was sealed, epoch ms by the device's clock. */
    created: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    alerts: Type.Array(AlertRecordSchema, { minItems: 1, maxItems: MAX_ALERTS_PER_BATCH }),
  },
  { additionalProperties: false },
);

export type AlertsBatch = Static<typeof AlertsBatchSchema>;

/** The pre-scan's bounds: batch → alerts → alert → targets/thresholds is 4 deep. */
const ALERTS_SCAN: CborScanLimits = Object.freeze({
  maxTextBytes: MAX_ALERT_TEXT_BYTES,
  maxByteStringBytes: 0,
  maxArrayItems: MAX_ALERTS_PER_BATCH,
  maxMapKeys: limits.maxMapKeys,
  maxDepth: 4,
});

const checker = TypeCompiler.Compile(AlertsBatchSchema);
const recordChecker = TypeCompiler.Compile(AlertRecordSchema);

/** Whether one alert record would pass central's schema (the outbox checks before it seals). */
export function isValidAlertRecord(value: unknown): value is AlertRecord {
  return recordChecker.Check(value);
}

export type DecodeAlertsResult =
  | { readonly ok: true; readonly batch: AlertsBatch }
  | { readonly ok: false; readonly reason: string };

/**
 * Encodes an alerts batch. Throws a RangeError only for a batch no caller should build (wrong
 * version, bad device id, no alerts or too many); the outbox fits each alert first (`fitAlertText`),
 * and checks the encoded size against MAX_ALERTS_PAYLOAD_BYTES itself.
 */
export function encodeAlertsBatch(batch: AlertsBatch): Uint8Array {
  if (batch.v !== ALERTS_VERSION) throw new RangeError(`alerts batch version must be ${ALERTS_VERSION}`);
  if (!isValidDeviceId(batch.device)) throw new RangeError('alerts batch device id is not valid');
  if (batch.alerts.length === 0 || batch.alerts.length > MAX_ALERTS_PER_BATCH)
    throw new RangeError(`alerts batch has ${batch.alerts.length} alerts, not 1-${MAX_ALERTS_PER_BATCH}`);
  return plainEncoder.encode(batch);
}

/**
 * Decodes an untrusted alerts payload: size, structural pre-scan (before any allocation), CBOR
 * decode, schema. Never throws; the reason is short enough to be a counter label.
 */
export function decodeAlertsBatch(payload: Uint8Array): DecodeAlertsResult {
  const decoded = decodeStrict<AlertsBatch>(payload, {
    maxBytes: MAX_ALERTS_PAYLOAD_BYTES,
    scan: ALERTS_SCAN,
    checker,
  });
  return decoded.ok ? { ok: true, batch: decoded.value } : decoded;
}

/**
 * `text` cut to at most `maxBytes` UTF-8 bytes at a character boundary (an ellipsis marks the cut),
 * so a long sentence (a summary listing ten IPv6 targets) still travels rather than failing the batch.
 */
export function fitAlertText(text: string, maxBytes = MAX_ALERT_TEXT_BYTES): string {
  const clean = text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
  if (Buffer.byteLength(clean) <= maxBytes) return clean;
  const budget = maxBytes - 3; // '…' is 3 bytes
  let used = 0;
  let end = 0;
  for (const ch of clean) {
    const size = Buffer.byteLength(ch);
    if (used + size > budget) break;
    used += size;
    end += ch.length;
  }
  return `${clean.slice(0, end)}…`;
}
