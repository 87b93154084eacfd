import { createHash, type KeyObject, sign, verify } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { type CborScanLimits, scanCbor } from './cbor-scan.js';
import {
  type CidrSink,
  INTEL_TAGS,
  type IntelTag,
  PackedCidrWriter,
  readPackedCidrs,
  tagCode,
} from './intel-cidr.js';
import { limits } from './limits.js';
import { plainDecoder, plainEncoder } from './strict-cbor.js';
import { INTEL_LIST_NAME_PATTERN } from './topics.js';

export { INTEL_LIST_NAME_PATTERN };

/**
 * The threat-intel blocklists central pushes to every appliance on `ca/v1/intel/<list>/<kind>`
 * (topics.ts `intelTopic`), retained, so a device that connects gets the current list at once.
 *
 * Two kinds of payload, both CBOR maps (the encoder and decoder options of codec.ts):
 *   full  { v, kind:'full',  list, version, issued, expires, entries: Section[] }
 *   delta { v, kind:'delta', list, fromVersion, version, issued, expires, add: Section[], remove }
 * where a Section is `{ tag?, cidrs }`: one tag and a packed byte string of CIDRs
 * (intel-cidr.ts: 4 bytes for a /24, 5 for a /32), and `remove` is one packed byte string.
 *
 * A delta is relative to the last *full* snapshot (`fromVersion` = that snapshot's version), not to
 * the previous version. With both kinds retained, any device — new, or back after a week offline —
 * converges from exactly the two retained messages, and a delta lost in transit costs nothing: the
 * next one carries all changes since the snapshot. Central sends a new full snapshot when a delta
 * would be no smaller, every N versions, and before the snapshot grows old (central/intel/).
 *
 * Authenticity: central signs the exact payload bytes with Ed25519 (RFC 8032) and sends the
 * envelope `{ v, keyId, payload, sig }`. The signature covers `INTEL_SIGNING_CONTEXT` + payload, so
 * no signature this key makes for another purpose can be replayed as a list. The receiver checks
 * the signature before the payload reaches any decoder; only the small envelope is parsed unsigned.
 */

export const INTEL_VERSION = 1;

export const INTEL_SIGNING_CONTEXT = new TextEncoder().encode('cyberalarm intel v1\n');

export const intelLimits = {
  /** Largest envelope, in bytes: the broker's packet limit (limits.maxPayloadBytes). */
  maxMessageBytes: limits.maxPayloadBytes,
  /**
   * Most CIDRs one message may carry (a delta counts adds and removes). At 4–5 bytes an entry, 1 MiB
   * holds about 220,000 IPv4 CIDRs; public lists are far smaller (Spamhaus DROP ≈ 1,500, FireHOL
   * level 1 ≈ 4,500).
   */
  maxEntries: 250_000,
  /** Longest list name (a topic segment and a file name on the appliance). */
  maxListNameChars: 32,
  /** A message issued longer ago than this is stale whatever its `expires` says. */
  maxAgeMs: 30 * 86_400_000,
  /** How far `issued` may be ahead of the receiver's clock. */
  maxClockSkewMs: 5 * 60_000,
} as const;

export function isValidIntelListName(name: string): boolean {
  return INTEL_LIST_NAME_PATTERN.test(name);
}

export type IntelKind = 'full' | 'delta';

const ISO_UTC = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z$';
const IsoTime = Type.String({ maxLength: 24, pattern: ISO_UTC });
const Version = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
const ListName = Type.String({
  maxLength: intelLimits.maxListNameChars,
  pattern: INTEL_LIST_NAME_PATTERN.source,
});
const Packed = Type.Uint8Array({ maxByteLength: intelLimits.maxMessageBytes });

export const IntelSectionSchema = Type.Object(
  {
    tag: Type.Optional(Type.Union(INTEL_TAGS.map((t) => Type.Literal(t)))),
    cidrs: Packed,
  },
  { additionalProperties: false },
);
const Sections = Type.Array(IntelSectionSchema, { maxItems: INTEL_TAGS.length + 1 });

export const IntelFullSchema = Type.Object(
  {
    v: Type.Literal(INTEL_VERSION),
    kind: Type.Literal('full'),
    list: ListName,
    version: Version,
    issued: IsoTime,
    expires: IsoTime,
    entries: Sections,
  },
  { additionalProperties: false },
);

export const IntelDeltaSchema = Type.Object(
  {
    v: Type.Literal(INTEL_VERSION),
    kind: Type.Literal('delta'),
    list: ListName,
    /** The version of the full snapshot this delta applies to. */
    fromVersion: Version,
    version: Version,
    issued: IsoTime,
    expires: IsoTime,
    add: Sections,
    remove: Packed,
  },
  { additionalProperties: false },
);

export const IntelPayloadSchema = Type.Union([IntelFullSchema, IntelDeltaSchema]);

export const IntelEnvelopeSchema = Type.Object(
  {
    v: Type.Literal(INTEL_VERSION),
    /** `intelKeyId` of the signing key: lets central rotate keys while devices hold both. */
    keyId: Type.String({ minLength: 1, maxLength: 32 }),
    payload: Type.Uint8Array({ minByteLength: 1, maxByteLength: intelLimits.maxMessageBytes }),
    sig: Type.Uint8Array({ minByteLength: 64, maxByteLength: 64 }),
  },
  { additionalProperties: false },
);

export type IntelSection = Static<typeof IntelSectionSchema>;
export type IntelFull = Static<typeof IntelFullSchema>;
export type IntelDelta = Static<typeof IntelDeltaSchema>;
export type IntelMessage = IntelFull | IntelDelta;
type IntelEnvelope = Static<typeof IntelEnvelopeSchema>;

const payloadChecker = TypeCompiler.Compile(IntelPayloadSchema);
const envelopeChecker = TypeCompiler.Compile(IntelEnvelopeSchema);

// Pre-scan bounds (cbor-scan.ts): the envelope is one flat map; a payload nests
// map → sections array → section map. Text is short everywhere; only the packed lists are large.
const ENVELOPE_SCAN: CborScanLimits = Object.freeze({
  maxTextBytes: 32,
  maxByteStringBytes: intelLimits.maxMessageBytes,
  maxArrayItems: 0,
  maxMapKeys: 4,
  maxDepth: 1,
});
const PAYLOAD_SCAN: CborScanLimits = Object.freeze({
  maxTextBytes: intelLimits.maxListNameChars,
  maxByteStringBytes: intelLimits.maxMessageBytes,
  maxArrayItems: INTEL_TAGS.length + 1,
  maxMapKeys: 9,
  maxDepth: 3,
});

// --- Keys ---------------------------------------------------------------------------------------

/** A short id for a public key: the first 8 bytes of SHA-256 over its SPKI DER, in hex. */
export function intelKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/** The public keys a receiver trusts, by id. Throws for a key that is not Ed25519 (a setup bug). */
export type IntelKeyRing = ReadonlyMap<string, KeyObject>;

export function intelKeyRing(publicKeys: readonly KeyObject[]): IntelKeyRing {
  const ring = new Map<string, KeyObject>();
  for (const key of publicKeys) {
    if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') {
      throw new TypeError('intel keys must be Ed25519 public keys');
    }
    ring.set(intelKeyId(key), key);
  }
  return ring;
}

// --- Building and signing (central) -------------------------------------------------------------

/** One list entry as central holds it: a CIDR text and an optional tag. */
export interface IntelEntry {
  readonly cidr: string;
  readonly tag?: IntelTag;
}

/**
 * Packs entries into sections, one per tag, in INTEL_TAGS order (untagged first). Throws a
 * RangeError for a CIDR that does not parse: central's importer hands over only parsed ones.
 */
export function packIntelEntries(entries: Iterable<IntelEntry>): IntelSection[] {
  const writers = new Map<number, PackedCidrWriter>();
  for (const entry of entries) {
    const code = tagCode(entry.tag);
    let writer = writers.get(code);
    if (writer === undefined) {
      writer = new PackedCidrWriter();
      writers.set(code, writer);
    }
    if (!writer.addText(entry.cidr)) throw new RangeError(`not a CIDR: ${entry.cidr.slice(0, 64)}`);
  }
  const sections: IntelSection[] = [];
  for (let code = 0; code <= INTEL_TAGS.length; code++) {
    const writer = writers.get(code);
    if (writer === undefined) continue;
    const tag = INTEL_TAGS[code - 1];
    sections.push(tag === undefined ? { cidrs: writer.finish() } : { tag, cidrs: writer.finish() });
  }
  return sections;
}

/** Packs CIDR texts with no tag (a delta's `remove`). Throws a RangeError like packIntelEntries. */
export function packCidrs(cidrs: Iterable<string>): Uint8Array {
  const writer = new PackedCidrWriter();
  for (const cidr of cidrs) {
    if (!writer.addText(cidr)) throw new RangeError(`not a CIDR: ${cidr.slice(0, 64)}`);
  }
  return writer.finish();
}

/** Encodes a payload; throws a RangeError for one no caller should build (schema, limits). */
export function encodeIntelPayload(message: IntelMessage): Uint8Array {
  if (!payloadChecker.Check(message)) {
    const first = payloadChecker.Errors(message).First();
    throw new RangeError(`intel message invalid: ${first?.path ?? '/'} ${first?.message ?? ''}`);
  }
  if (message.kind === 'delta' && message.fromVersion >= message.version) {
    throw new RangeError('intel delta fromVersion must be below version');
  }
  if (!(Date.parse(message.expires) > Date.parse(message.issued))) {
    throw new RangeError('intel message must expire after it is issued');
  }
  const entries = countEntries(message);
  if (!entries.ok) throw new RangeError(`intel message entries invalid: ${entries.detail}`);
  return plainEncoder.encode(message);
}

/** Signs payload bytes with central's Ed25519 key and wraps them in the envelope. */
export function signIntelPayload(payload: Uint8Array, privateKey: KeyObject, keyId: string): Uint8Array {
  const sig = sign(null, signedBytes(payload), privateKey);
  const envelope: IntelEnvelope = { v: INTEL_VERSION, keyId, payload, sig: new Uint8Array(sig) };
  const bytes: Uint8Array = plainEncoder.encode(envelope);
  if (bytes.length > intelLimits.maxMessageBytes) {
    throw new RangeError(`intel message is ${bytes.length} bytes, more than ${intelLimits.maxMessageBytes}`);
  }
  return bytes;
}

function signedBytes(payload: Uint8Array): Uint8Array {
  const data = new Uint8Array(INTEL_SIGNING_CONTEXT.length + payload.length);
  data.set(INTEL_SIGNING_CONTEXT, 0);
  data.set(payload, INTEL_SIGNING_CONTEXT.length);
  return data;
}

// --- Verifying (appliance) ----------------------------------------------------------------------

export const INTEL_VERIFY_REASONS = [
  'bad signature',
  'unknown key',
  'expired/stale',
  'version gap',
  'too large',
  'malformed',
] as const;
export type IntelVerifyReason = (typeof INTEL_VERIFY_REASONS)[number];

/** What a receiver holds for one list: the full snapshot's version and the version reached. */
export interface IntelHeld {
  readonly baseVersion: number;
  readonly version: number;
}

export interface IntelVerifyOptions {
  readonly keys: IntelKeyRing;
  /** The receiver's clock, epoch ms. */
  readonly now: number;
  /** What the receiver holds for a list; undefined when it holds nothing. */
  readonly heldFor?: (list: string) => IntelHeld | undefined;
  /** The list and kind the topic named: a message must agree with its topic. */
  readonly expect?: { readonly list?: string; readonly kind?: IntelKind };
  readonly maxAgeMs?: number;
}

export type IntelVerifyResult =
  | {
      readonly ok: true;
      readonly message: IntelMessage;
      readonly keyId: string;
      /** CIDRs carried (a delta: adds + removes). */
      readonly entries: number;
      /** `duplicate`: the receiver already holds exactly this (a retained message seen again). */
      readonly action: 'apply' | 'duplicate';
    }
  | {
      readonly ok: false;
      readonly reason: IntelVerifyReason;
      readonly detail: string;
      /** The list a signed message named, when the refusal came after its signature was checked. */
      readonly list?: string;
    };

type Failure = Extract<IntelVerifyResult, { ok: false }>;
const fail = (reason: IntelVerifyReason, detail: string): Failure => ({ ok: false, reason, detail });

/**
 * Verifies an envelope and the list it carries. Never throws; a failure is one of
 * INTEL_VERIFY_REASONS (a counter label) with a short detail for the log and the status page.
 *
 * Order: size; pre-scan and decode of the small envelope; key; signature; then, signed bytes only,
 * the payload's pre-scan, decode, schema and packed entries; freshness; versions against `heldFor`:
 * - full v: applies above what is held; a full equal to the held snapshot or version is a duplicate;
 *   anything older is stale (a replayed old list must not roll a device back).
 * - delta base→v: needs base = the held snapshot's version (else `version gap`); v above the held
 *   version applies, v equal is a duplicate, v below is stale.
 */
export function verifyIntelMessage(bytes: Uint8Array, options: IntelVerifyOptions): IntelVerifyResult {
  try {
    return verifyUnchecked(bytes, options);
  } catch (err) {
    return fail('malformed', `internal: ${(err as Error).name}`);
  }
}

function verifyUnchecked(bytes: Uint8Array, options: IntelVerifyOptions): IntelVerifyResult {
  if (!(bytes instanceof Uint8Array)) return fail('malformed', 'not bytes');
  if (bytes.length > intelLimits.maxMessageBytes) return fail('too large', `${bytes.length} bytes`);

  const envelopeScan = scanCbor(bytes, ENVELOPE_SCAN);
  if (!envelopeScan.ok) return fail('malformed', `envelope ${envelopeScan.reason}`);
  let envelope: unknown;
  try {
    envelope = plainDecoder.decode(bytes);
  } catch {
    return fail('malformed', 'envelope: decode failed');
  }
  if (!envelopeChecker.Check(envelope))
    return fail('malformed', `envelope ${schemaDetail(envelopeChecker, envelope)}`);

  const key = options.keys.get(envelope.keyId);
  if (key === undefined) return fail('unknown key', `key ${envelope.keyId.replace(/[^0-9a-zA-Z]/g, '?')}`);
  let good = false;
  try {
    good = verify(null, signedBytes(envelope.payload), key, envelope.sig);
  } catch {
    good = false;
  }
  if (!good) return fail('bad signature', `key ${envelope.keyId}`);

  const payloadScan = scanCbor(envelope.payload, PAYLOAD_SCAN);
  if (!payloadScan.ok) return fail('malformed', `payload ${payloadScan.reason}`);
  let message: unknown;
  try {
    message = plainDecoder.decode(envelope.payload);
  } catch {
    return fail('malformed', 'payload: decode failed');
  }
  if (!payloadChecker.Check(message))
    return fail('malformed', `payload ${schemaDetail(payloadChecker, message)}`);
  // From here the message is signed and well-formed: refusals name its list.
  const failFor = (reason: IntelVerifyReason, detail: string): Failure => ({
    ok: false,
    reason,
    detail,
    list: message.list,
  });
  if (options.expect?.list !== undefined && options.expect.list !== message.list) {
    return failFor('malformed', `list ${message.list} on the topic of ${options.expect.list}`);
  }
  if (options.expect?.kind !== undefined && options.expect.kind !== message.kind) {
    return failFor('malformed', `${message.kind} on the ${options.expect.kind} topic`);
  }
  const counted = countEntries(message);
  if (!counted.ok) return failFor(counted.detail === 'too many' ? 'too large' : 'malformed', counted.detail);

  const issued = Date.parse(message.issued);
  const expires = Date.parse(message.expires);
  if (Number.isNaN(issued) || Number.isNaN(expires) || expires <= issued) {
    return failFor('malformed', 'issued/expires');
  }
  const maxAgeMs = options.maxAgeMs ?? intelLimits.maxAgeMs;
  if (expires <= options.now) return failFor('expired/stale', `expired ${message.expires}`);
  if (options.now - issued > maxAgeMs) return failFor('expired/stale', `issued ${message.issued}, too old`);
  if (issued - options.now > intelLimits.maxClockSkewMs) {
    return failFor('expired/stale', `issued ${message.issued}, in the future`);
  }

  const held = options.heldFor?.(message.list);
  const ok = (action: 'apply' | 'duplicate'): IntelVerifyResult => ({
    ok: true,
    message,
    keyId: envelope.keyId,
    entries: counted.count,
    action,
  });
  if (message.kind === 'full') {
    if (held === undefined || message.version > held.version) return ok('apply');
    if (message.version === held.version || message.version === held.baseVersion) return ok('duplicate');
    return failFor('expired/stale', `version ${message.version} older than held ${held.version}`);
  }
  if (message.fromVersion >= message.version)
    return failFor('malformed', 'delta fromVersion not below version');
  if (held === undefined || message.fromVersion !== held.baseVersion) {
    return failFor(
      'version gap',
      `delta from ${message.fromVersion}, holding ${held?.baseVersion ?? 'none'}`,
    );
  }
  if (message.version > held.version) return ok('apply');
  if (message.version === held.version) return ok('duplicate');
  return failFor('expired/stale', `version ${message.version} older than held ${held.version}`);
}

/** Walks every packed list in a message (validating it), handing entries to `sinks` when given. */
export function readIntelEntries(
  message: IntelMessage,
  sinks?: { readonly add: CidrSink; readonly remove?: CidrSink },
): { readonly ok: true; readonly count: number } | { readonly ok: false; readonly detail: string } {
  let count = 0;
  const sections = message.kind === 'full' ? message.entries : message.add;
  for (const section of sections) {
    const r = readPackedCidrs(
      section.cidrs,
      tagCode(section.tag),
      intelLimits.maxEntries - count,
      sinks?.add,
    );
    if (!r.ok) return { ok: false, detail: r.reason };
    count += r.count;
  }
  if (message.kind === 'delta') {
    const r = readPackedCidrs(message.remove, 0, intelLimits.maxEntries - count, sinks?.remove);
    if (!r.ok) return { ok: false, detail: r.reason };
    count += r.count;
  }
  return { ok: true, count };
}

function countEntries(message: IntelMessage) {
  return readIntelEntries(message);
}

function schemaDetail(
  checker: { Errors(value: unknown): { First(): { path: string; message: string } | undefined } },
  value: unknown,
): string {
  const first = checker.Errors(value).First();
  const detail = first === undefined ? 'schema: invalid' : `schema: ${first.path || '/'} ${first.message}`;
  return detail.slice(0, 200);
}
