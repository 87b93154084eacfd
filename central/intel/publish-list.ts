import type { KeyObject } from 'node:crypto';
import {
  encodeIntelPayload,
  type IntelEntry,
  intelLimits,
  isValidIntelListName,
  packCidrs,
  packIntelEntries,
  signIntelPayload,
} from '../../protocol/intel.js';
import { canonicalCidr } from '../../protocol/intel-cidr.js';
import { intelTopic } from '../../protocol/topics.js';

/**
 * Turns a new version of a list into the signed messages central publishes (pure: no broker, no
 * clock, no disk; the caller persists `state` and publishes `messages` retained, in order).
 *
 * Deltas are relative to the last full snapshot (protocol/intel.ts explains why), so central keeps
 * that snapshot's entries in `state`. A full snapshot is sent when there is no previous one, when
 * the delta would be no smaller than the snapshot, every `fullEvery` versions, and when the
 * snapshot is older than `maxBaseAgeMs` (well inside its `validityMs`, so a device holding it
 * never sees it expire while deltas still build on it). With a full snapshot goes an empty retained
 * payload on the delta topic, which clears the old delta at the broker (MQTT 5 §3.3.1.3) so a
 * device that connects later is not handed a delta for a snapshot it will never get.
 */

export interface PublishedState {
  readonly list: string;
  readonly version: number;
  readonly baseVersion: number;
  /** ISO 8601: when the snapshot was issued. */
  readonly baseIssued: string;
  readonly baseEntries: readonly IntelEntry[];
}

export interface IntelSigner {
  readonly privateKey: KeyObject;
  readonly keyId: string;
}

export interface PublishOptions {
  readonly list: string;
  /** The complete new list (e.g. `importList(...).entries`). */
  readonly entries: readonly IntelEntry[];
  readonly previous?: PublishedState;
  readonly signer: IntelSigner;
  /** Epoch ms. */
  readonly now: number;
  readonly fullEvery?: number;
  readonly validityMs?: number;
  readonly maxBaseAgeMs?: number;
}

export interface IntelPublication {
  readonly topic: string;
  /** Signed envelope; empty = clear the retained message on this topic. */
  readonly payload: Uint8Array;
  readonly retain: true;
}

export type PublishResult =
  | {
      readonly ok: true;
      readonly kind: 'full' | 'delta';
      readonly version: number;
      readonly messages: IntelPublication[];
      readonly state: PublishedState;
      readonly fullBytes: number;
      /** Undefined when no delta was possible (no previous snapshot). */
      readonly deltaBytes: number | undefined;
      readonly added: number;
      readonly removed: number;
    }
  | { readonly ok: false; readonly reason: string };

export const DEFAULT_FULL_EVERY = 24;
export const DEFAULT_VALIDITY_MS = 14 * 86_400_000;
export const DEFAULT_MAX_BASE_AGE_MS = 7 * 86_400_000;

export function publishList(options: PublishOptions): PublishResult {
  try {
    return publishUnchecked(options);
  } catch (err) {
    // encode/sign refuse what cannot be sent (a list too large for one message) with a RangeError.
    if (err instanceof RangeError) return { ok: false, reason: err.message };
    throw err;
  }
}

function publishUnchecked(options: PublishOptions): PublishResult {
  const { list, previous, signer, now } = options;
  if (!isValidIntelListName(list))
    return { ok: false, reason: `list name ${JSON.stringify(list)} is not valid` };
  if (previous !== undefined && previous.list !== list)
    return { ok: false, reason: 'previous state is for another list' };
  const current = canonicalMap(options.entries);
  if (typeof current === 'string') return { ok: false, reason: current };
  if (current.size > intelLimits.maxEntries) {
    return { ok: false, reason: `${current.size} entries, more than ${intelLimits.maxEntries} per message` };
  }
  const version = (previous?.version ?? 0) + 1;
  const issued = new Date(now).toISOString();
  const expires = new Date(now + (options.validityMs ?? DEFAULT_VALIDITY_MS)).toISOString();
  const entries = [...current.values()];

  const sections = packIntelEntries(entries);
  const packedBytes = sections.reduce((sum, s) => sum + s.cidrs.length, 0);
  // The envelope, the map keys and the signature take well under 1 KiB.
  if (packedBytes > intelLimits.maxMessageBytes - 1024) {
    return {
      ok: false,
      reason: `the list packs to ${packedBytes} bytes, more than one message (${intelLimits.maxMessageBytes} bytes) can carry`,
    };
  }
  const fullPayload = encodeIntelPayload({
    v: 1,
    kind: 'full',
    list,
    version,
    issued,
    expires,
    entries: sections,
  });

  let deltaPayload: Uint8Array | undefined;
  let added = entries.length;
  let removed = 0;
  if (previous !== undefined) {
    const base = canonicalMap(previous.baseEntries);
    if (typeof base === 'string') return { ok: false, reason: `previous state: ${base}` };
    const add: IntelEntry[] = [];
    for (const [cidr, entry] of current)
      if (base.get(cidr)?.tag !== entry.tag || !base.has(cidr)) add.push(entry);
    const remove: string[] = [];
    for (const cidr of base.keys()) if (!current.has(cidr)) remove.push(cidr);
    added = add.length;
    removed = remove.length;
    if (add.length + remove.length <= intelLimits.maxEntries) {
      deltaPayload = encodeIntelPayload({
        v: 1,
        kind: 'delta',
        list,
        fromVersion: previous.baseVersion,
        version,
        issued,
        expires,
        add: packIntelEntries(add),
        remove: packCidrs(remove),
      });
    }
  }

  const baseAge = previous === undefined ? 0 : now - Date.parse(previous.baseIssued);
  const wantFull =
    previous === undefined ||
    deltaPayload === undefined ||
    deltaPayload.length >= fullPayload.length ||
    version - previous.baseVersion >= (options.fullEvery ?? DEFAULT_FULL_EVERY) ||
    !(baseAge < (options.maxBaseAgeMs ?? DEFAULT_MAX_BASE_AGE_MS));

  const sign = (payload: Uint8Array) => signIntelPayload(payload, signer.privateKey, signer.keyId);
  if (wantFull) {
    return {
      ok: true,
      kind: 'full',
      version,
      messages: [
        { topic: intelTopic(list, 'full'), payload: sign(fullPayload), retain: true },
        { topic: intelTopic(list, 'delta'), payload: new Uint8Array(0), retain: true },
      ],
      state: { list, version, baseVersion: version, baseIssued: issued, baseEntries: entries },
      fullBytes: fullPayload.length,
      deltaBytes: deltaPayload?.length,
      added,
      removed,
    };
  }
  return {
    ok: true,
    kind: 'delta',
    version,
    messages: [{ topic: intelTopic(list, 'delta'), payload: sign(deltaPayload!), retain: true }],
    state: { ...previous!, version },
    fullBytes: fullPayload.length,
    deltaBytes: deltaPayload!.length,
    added,
    removed,
  };
}

/** Canonical CIDR → entry (a later duplicate's tag wins), or the reason an entry is not a CIDR. */
function canonicalMap(entries: readonly IntelEntry[]): Map<string, IntelEntry> | string {
  const map = new Map<string, IntelEntry>();
  for (const entry of entries) {
    const cidr = canonicalCidr(entry.cidr);
    if (cidr === undefined) return `not a CIDR: ${entry.cidr.slice(0, 64)}`;
    map.set(cidr, entry.tag === undefined ? { cidr } : { cidr, tag: entry.tag });
  }
  return map;
}
