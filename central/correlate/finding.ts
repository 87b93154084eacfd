/**
 * What the correlation job finds and how a finding is scoped. Pure: no database here.
 *
 * A finding is about an attacker (a source address) or a destination port, with counts. It never
 * names a member or a device: the SQL of each finding kind groups members away and returns only
 * counts, and the force or region id in `scopeId` is the police organisation the finding belongs to.
 */
import { FAMILY_V4, FAMILY_V6, parseAddressInto } from '../../protocol/intel-cidr.js';

export const FINDING_KINDS = ['campaign', 'emerging-port', 'new-scanner'] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** Force: seen only within one force. Region: several forces, one region. Nation: anything wider. */
export type FindingScope = 'force' | 'region' | 'nation';

export interface Finding {
  readonly kind: FindingKind;
  readonly scope: FindingScope;
  /** The force or region id; null for the nation. */
  readonly scopeId: string | null;
  /** The source address (campaign, new-scanner). */
  readonly srcIp: string | null;
  /** The destination port and protocol (emerging-port). */
  readonly dstPort: number | null;
  readonly proto: string | null;
  /** Distinct members, forces that saw it (counts only). */
  readonly members: number;
  readonly forces: number;
  /** Events (a flow summary counts its `count`) and alerts behind it. */
  readonly events: number;
  /** ISO 8601. */
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** The window the finding was made over (ISO 8601, `to` exclusive). */
  readonly from: string;
  readonly to: string;
  /** Kind-specific numbers: `alerts`; for a port `sources`, `baselineSourcesPerDay`, `ratio`. */
  readonly detail: Readonly<Record<string, number>>;
}

/** The organisational spread of a finding, as the SQL returns it. */
export interface Spread {
  readonly forces: number;
  /** Distinct non-null regions of those forces. */
  readonly regions: number;
  /** Some force has no region yet. */
  readonly regionUnknown: boolean;
  /** One of the forces / regions (the only one when the count is 1). */
  readonly forceId: string | null;
  readonly regionId: string | null;
}

export function scopeOf(spread: Spread): { scope: FindingScope; scopeId: string | null } {
  if (spread.forces === 1 && spread.forceId !== null) return { scope: 'force', scopeId: spread.forceId };
  if (spread.regions === 1 && !spread.regionUnknown && spread.regionId !== null)
    return { scope: 'region', scopeId: spread.regionId };
  return { scope: 'nation', scopeId: null };
}

const SCOPE_RANK: Readonly<Record<FindingScope, number>> = { force: 0, region: 1, nation: 2 };

/**
 * The scope of two observations of one subject merged: the wider one; two different forces (or
 * regions) of the same rank widen to the nation, since which region both lie in is not known here.
 */
export function widerScope(
  a: { scope: FindingScope; scopeId: string | null },
  b: { scope: FindingScope; scopeId: string | null },
): { scope: FindingScope; scopeId: string | null } {
  if (a.scope === b.scope && a.scopeId === b.scopeId) return a;
  if (SCOPE_RANK[a.scope] !== SCOPE_RANK[b.scope]) return SCOPE_RANK[a.scope] > SCOPE_RANK[b.scope] ? a : b;
  return { scope: 'nation', scopeId: null };
}

// Not-routable and internal ranges (RFC 6890 special-purpose registries, the ranges minimise keeps
// internal): a source there is a member's own network in clear or a spoof, never a campaign to share.
const V4_NOT_PUBLIC: readonly (readonly [number, number])[] = [
  [0x00000000, 8], // "this network"
  [0x0a000000, 8], // RFC 1918
  [0x64400000, 10], // CGNAT, RFC 6598
  [0x7f000000, 8], // loopback
  [0xa9fe0000, 16], // link-local
  [0xac100000, 12], // RFC 1918
  [0xc0000000, 24], // IETF protocol assignments
  [0xc0a80000, 16], // RFC 1918
  [0xc6120000, 15], // benchmarking, RFC 2544
  [0xe0000000, 4], // multicast
  [0xf0000000, 4], // reserved, broadcast
];
const words = new Uint32Array(4);

/** True for an IPv4 or IPv6 address in clear that is globally routable (not a pseudonym). */
export function isPublicAddress(text: string): boolean {
  const family = parseAddressInto(text, words);
  if (family === FAMILY_V4) {
    const a = words[0]!;
    for (const [net, bits] of V4_NOT_PUBLIC) {
      if ((a ^ net) >>> (32 - bits) === 0) return false;
    }
    return true;
  }
  if (family !== FAMILY_V6) return false;
  const first = words[0]!;
  // Global unicast is 2000::/3; everything else (::, ::1, mapped, ULA, link-local, multicast) is not.
  return first >>> 29 === 0b001;
}
