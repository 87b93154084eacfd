/**
 * Address parsing and network matching for the privacy boundary, built for the per-event hot path:
 * no regular expressions, no BigInt, no allocation per call. An address is parsed into a caller's
 * `Uint32Array(4)`: IPv4 as one uint32 in word 0, IPv6 as four big-endian uint32 words. An IPv4-mapped
 * IPv6 address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) is returned as the IPv4 address it carries, so a
 * host keeps one identity (and one pseudonym) whichever way the firewall wrote it.
 */

export const AddressKind = { Invalid: 0, V4: 4, V6: 6 } as const;
export type AddressKind = (typeof AddressKind)[keyof typeof AddressKind];

/** Parses `a.b.c.d` between `start` and `end`; -1 when not exactly four decimal octets (no leading zeros,
 * as `net.isIP` and RFC 6943 §3.1.1 advise: `010` would be octal to some readers). */
function parseV4Range(s: string, start: number, end: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let parts = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || parts === 3) return -1;
      value = value * 256 + octet;
      parts++;
      octet = 0;
      digits = 0;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9) return -1;
    if (digits > 0 && octet === 0) return -1; // leading zero
    octet = octet * 10 + d;
    if (octet > 255) return -1;
    digits++;
  }
  if (digits === 0 || parts !== 3) return -1;
  return value * 256 + octet; // < 2^32, exact in a double; `>>> 0` not needed
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

const groups = new Uint16Array(8); // scratch: parsing is synchronous and never re-entered

/** RFC 4291 §2.2 text forms: eight groups, one `::`, an optional trailing dotted IPv4. */
function parseV6(s: string, out: Uint32Array): AddressKind {
  let n = s.length;
  const zone = s.indexOf('%'); // RFC 4007 zone index: not part of the address
  if (zone >= 0) n = zone;
  if (n < 2 || n > 45) return AddressKind.Invalid;
  let count = 0;
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58 /* : */) {
    if (s.charCodeAt(1) !== 58) return AddressKind.Invalid;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    if (count === 8) return AddressKind.Invalid;
    const start = i;
    let value = 0;
    while (i < n) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      value = value * 16 + h;
      i++;
    }
    if (i < n && s.charCodeAt(i) === 46 /* . */) {
      if (count > 6) return AddressKind.Invalid;
      const v4 = parseV4Range(s, start, n);
      if (v4 < 0) return AddressKind.Invalid;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      i = n;
      break;
    }
    if (i === start || i - start > 4) return AddressKind.Invalid;
    groups[count++] = value;
    if (i === n) break;
    if (s.charCodeAt(i) !== 58) return AddressKind.Invalid;
    i++;
    if (i < n && s.charCodeAt(i) === 58) {
      if (gap >= 0) return AddressKind.Invalid;
      gap = count;
      i++;
    } else if (i === n) {
      return AddressKind.Invalid; // a single trailing colon
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return AddressKind.Invalid;
  const zeros = 8 - count;
  let w0 = 0;
  let w1 = 0;
  let w2 = 0;
  let w3 = 0;
  for (let g = 0, src = 0; g < 8; g++) {
    let v = 0;
    if (gap < 0 || g < gap) v = groups[src++]!;
    else if (g >= gap + zeros) v = groups[src++]!;
    if (g < 2) w0 = g === 0 ? v << 16 : w0 | v;
    else if (g < 4) w1 = g === 2 ? v << 16 : w1 | v;
    else if (g < 6) w2 = g === 4 ? v << 16 : w2 | v;
    else w3 = g === 6 ? v << 16 : w3 | v;
  }
  if (w0 === 0 && w1 === 0 && w2 >>> 0 === 0xffff) {
    out[0] = w3;
    return AddressKind.V4;
  }
  out[0] = w0;
  out[1] = w1;
  out[2] = w2;
  out[3] = w3;
  return AddressKind.V6;
}

/** `text` as a uint32 when it is exactly a dotted quad (as `parseAddress` accepts one), else -1. */
export function parseDottedQuad(text: string): number {
  return text.length <= 15 ? parseV4Range(text, 0, text.length) : -1;
}

/** Parses an IPv4 or IPv6 address (brackets and zone ids tolerated) into `out`. */
export function parseAddress(text: string, out: Uint32Array): AddressKind {
  const n = text.length;
  if (n === 0 || n > 64) return AddressKind.Invalid;
  if (text.charCodeAt(0) === 91 /* [ */) {
    if (text.charCodeAt(n - 1) !== 93) return AddressKind.Invalid;
    return parseAddress(text.slice(1, -1), out);
  }
  if (text.indexOf(':') >= 0) return parseV6(text, out);
  const v4 = parseV4Range(text, 0, n);
  if (v4 < 0) return AddressKind.Invalid;
  out[0] = v4;
  return AddressKind.V4;
}

interface V6Network {
  readonly words: Uint32Array;
  readonly masks: Uint32Array;
}

export type NetworksResult =
  | { readonly ok: true; readonly networks: NetworkSet }
  | { readonly ok: false; readonly reason: string };

/**
 * A set of IPv4 and IPv6 networks. IPv4 networks are merged into sorted, disjoint [start, end] ranges
 * and searched by bisection, so a member may list hundreds; IPv6 networks are few in practice
 * (a ULA prefix, a delegated /48) and are scanned with four masked word compares each.
 */
export class NetworkSet {
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  private readonly v6: readonly V6Network[];

  private constructor(v4: [number, number][], v6: V6Network[]) {
    v4.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const range of v4) {
      const last = merged[merged.length - 1];
      if (last && range[0] <= last[1] + 1) last[1] = Math.max(last[1], range[1]);
      else merged.push([range[0], range[1]]);
    }
    this.starts = Float64Array.from(merged, (r) => r[0]);
    this.ends = Float64Array.from(merged, (r) => r[1]);
    this.v6 = v6;
  }

  /**
   * Parses a comma- or whitespace-separated list of `address/prefix` (a bare address is a host).
   * Host bits below the prefix are ignored, as routers do with `10.1.2.3/16`.
   */
  static parse(list: string): NetworksResult {
    const v4: [number, number][] = [];
    const v6: V6Network[] = [];
    const out = new Uint32Array(4);
    for (const item of list.split(/[\s,]+/)) {
      if (item === '') continue;
      const slash = item.indexOf('/');
      const addressText = slash < 0 ? item : item.slice(0, slash);
      const kind = parseAddress(addressText, out);
      if (kind === AddressKind.Invalid) return { ok: false, reason: `"${item}" is not an IP network` };
      // An IPv4-mapped network in IPv6 notation counts its prefix over 128 bits.
      const mapped = kind === AddressKind.V4 && addressText.indexOf(':') >= 0;
      const bits = kind === AddressKind.V4 && !mapped ? 32 : 128;
      const prefixText = slash < 0 ? String(bits) : item.slice(slash + 1);
      let prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : -1;
      if (prefix > bits || prefix < 0) return { ok: false, reason: `"${item}": prefix must be 0 to ${bits}` };
      if (mapped) {
        if (prefix < 96) return { ok: false, reason: `"${item}": IPv4-mapped prefix must be 96 to 128` };
        prefix -= 96;
      }
      if (kind === AddressKind.V4) {
        const size = 2 ** (32 - prefix);
        const start = Math.floor(out[0]! / size) * size;
        v4.push([start, start + size - 1]);
      } else {
        const masks = new Uint32Array(4);
        for (let w = 0; w < 4; w++) {
          const bitsInWord = Math.min(32, Math.max(0, prefix - w * 32));
          masks[w] = bitsInWord === 0 ? 0 : (0xffffffff << (32 - bitsInWord)) >>> 0;
        }
        const words = new Uint32Array(4);
        for (let w = 0; w < 4; w++) words[w] = (out[w]! & masks[w]!) >>> 0;
        v6.push({ words, masks });
      }
    }
    return { ok: true, networks: new NetworkSet(v4, v6) };
  }

  static union(...sets: readonly NetworkSet[]): NetworkSet {
    const v4: [number, number][] = [];
    const v6: V6Network[] = [];
    for (const set of sets) {
      for (let i = 0; i < set.starts.length; i++) v4.push([set.starts[i]!, set.ends[i]!]);
      v6.push(...set.v6);
    }
    return new NetworkSet(v4, v6);
  }

  containsV4(address: number): boolean {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    // The last range starting at or below the address is the only one that can hold it.
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= address) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && address <= this.ends[hi]!;
  }

  containsV6(words: Uint32Array): boolean {
    const w0 = words[0]!;
    const w1 = words[1]!;
    const w2 = words[2]!;
    const w3 = words[3]!;
    for (const net of this.v6) {
      const m = net.masks;
      const n = net.words;
      if (
        (w0 & m[0]!) >>> 0 === n[0] &&
        (w1 & m[1]!) >>> 0 === n[1] &&
        (w2 & m[2]!) >>> 0 === n[2] &&
        (w3 & m[3]!) >>> 0 === n[3]
      )
        return true;
    }
    return false;
  }

  /** Whether a parsed address (see `parseAddress`) lies in one of the networks. */
  contains(kind: AddressKind, words: Uint32Array): boolean {
    if (kind === AddressKind.V4) return this.containsV4(words[0]!);
    if (kind === AddressKind.V6) return this.containsV6(words);
    return false;
  }
}

/**
 * Addresses that name a host inside a member's own network, or the appliance itself: RFC 1918
 * private, RFC 6598 shared (CGNAT) 100.64/10, RFC 3927 / RFC 4291 link-local, RFC 4193 unique local
 * fc00::/7, loopback (127/8, ::1).
 */
export const INTERNAL_NETWORKS_TEXT =
  '10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 100.64.0.0/10 169.254.0.0/16 127.0.0.0/8 fe80::/10 fc00::/7 ::1/128';

function builtIn(): NetworkSet {
  const parsed = NetworkSet.parse(INTERNAL_NETWORKS_TEXT);
  if (!parsed.ok) throw new Error(`built-in networks: ${parsed.reason}`);
  return parsed.networks;
}

export const INTERNAL_NETWORKS: NetworkSet = builtIn();
