/**
 * Addresses and CIDRs for the threat-intel lists (protocol/intel.ts): one text parser shared by
 * central's importer, the wire encoding and the appliance's matcher, and the compact binary form
 * the lists travel in.
 *
 * Numeric form: an IPv4 address is one unsigned 32-bit number; an IPv6 address is four big-endian
 * 32-bit words (`out[0]` holds the first two groups). The parsers write into a caller's
 * `Uint32Array` and return the family, so the per-lookup path allocates nothing and runs no regex.
 *
 * Text accepted (RFC 4291 §2.2, RFC 6943 §3.1.1 for IPv4): dotted-quad IPv4 with no leading zeros
 * (`010.0.0.1` is octal to some parsers, decimal to others, so it is refused rather than guessed);
 * IPv6 in full, `::`-compressed or with a trailing dotted quad, hex in either case. Zone ids
 * (`fe80::1%eth0`), brackets, ports and whitespace are refused.
 */

/** Per-entry tags central may attach (e.g. its "mass scanner" marks); code 0 on the wire is "none". */
export const INTEL_TAGS = ['campaign', 'scanner', 'imported'] as const;
export type IntelTag = (typeof INTEL_TAGS)[number];

/** Tag code on the wire and in the matcher: 0 = untagged, then INTEL_TAGS in order from 1. */
export function tagCode(tag: IntelTag | undefined): number {
  return tag === undefined ? 0 : INTEL_TAGS.indexOf(tag) + 1;
}

export function tagFromCode(code: number): IntelTag | undefined {
  return code === 0 ? undefined : INTEL_TAGS[code - 1];
}

export const FAMILY_NONE = 0;
export const FAMILY_V4 = 4;
export const FAMILY_V6 = 6;
export type Family = typeof FAMILY_NONE | typeof FAMILY_V4 | typeof FAMILY_V6;

/** Returns the value of one hex digit, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

/** Parses a dotted quad in `text[start, end)`; the address as an unsigned number, or -1. */
export function parseIpv4(text: string, start: number, end: number): number {
  let value = 0;
  let octets = 0;
  let i = start;
  while (octets < 4) {
    const first = i;
    let octet = 0;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      i++;
      if (i - first > 3) return -1;
    }
    const digits = i - first;
    if (digits === 0 || octet > 255) return -1;
    if (digits > 1 && text.charCodeAt(first) === 48) return -1; // leading zero
    value = value * 256 + octet;
    octets++;
    if (octets < 4) {
      if (i >= end || text.charCodeAt(i) !== 46) return -1;
      i++;
    }
  }
  return i === end ? value : -1;
}

const groups = new Uint16Array(8);

/** Parses IPv6 text in `text[start, end)` into `out[0..3]`; false when it is not one. */
export function parseIpv6(text: string, start: number, end: number, out: Uint32Array): boolean {
  let i = start;
  let count = 0;
  let gap = -1;
  if (i < end && text.charCodeAt(i) === 58) {
    if (i + 1 >= end || text.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    if (count === 8) return false;
    const groupStart = i;
    let value = 0;
    while (i < end) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      value = value * 16 + h;
      i++;
      if (i - groupStart > 4) return false;
    }
    if (i < end && text.charCodeAt(i) === 46) {
      // A trailing dotted quad stands for the last two groups (RFC 4291 §2.2 item 3).
      if (count > 6) return false;
      const v4 = parseIpv4(text, groupStart, end);
      if (v4 < 0) return false;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (i === groupStart) return false;
    groups[count++] = value;
    if (i === end) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && text.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    } else if (i === end) {
      return false; // a single trailing colon
    }
  }
  if (gap < 0) {
    if (count !== 8) return false;
  } else {
    // `::` stands for one or more zero groups, so at most seven were written.
    if (count > 7) return false;
    const tail = count - gap;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[count - 1 - k]!;
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  }
  out[0] = ((groups[0]! << 16) | groups[1]!) >>> 0;
  out[1] = ((groups[2]! << 16) | groups[3]!) >>> 0;
  out[2] = ((groups[4]! << 16) | groups[5]!) >>> 0;
  out[3] = ((groups[6]! << 16) | groups[7]!) >>> 0;
  return true;
}

/**
 * Parses an address for matching. IPv4 lands in `out[0]`; IPv6 in `out[0..3]`, except an
 * IPv4-mapped address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2), which is what a dual-stack socket
 * reports for an IPv4 peer and is returned as that IPv4 address.
 */
export function parseAddressInto(text: string, out: Uint32Array): Family {
  const end = text.length;
  if (end < 2 || end > 45) return FAMILY_NONE; // the longest IPv6 text form is 45 characters
  if (text.indexOf(':') < 0) {
    const v4 = parseIpv4(text, 0, end);
    if (v4 < 0) return FAMILY_NONE;
    out[0] = v4;
    return FAMILY_V4;
  }
  if (!parseIpv6(text, 0, end, out)) return FAMILY_NONE;
  if (out[0] === 0 && out[1] === 0 && out[2] === 0xffff) {
    out[0] = out[3]!;
    return FAMILY_V4;
  }
  return FAMILY_V6;
}

/** A parsed CIDR: IPv4 uses `words[0]`; the network is masked to its prefix. */
export interface Cidr {
  readonly family: typeof FAMILY_V4 | typeof FAMILY_V6;
  readonly words: Uint32Array;
  readonly prefix: number;
  /** The text had host bits set below the prefix (`10.1.2.3/8`); they were cleared. */
  readonly hostBitsCleared: boolean;
}

/** 32-bit mask with the top `bits` bits set (0 ≤ bits ≤ 32). */
export function maskBits(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * Parses `a.b.c.d[/p]` or `ipv6[/p]` (a bare address is a /32 or /128). An IPv4-mapped IPv6 CIDR
 * of /96 or longer becomes the IPv4 CIDR it covers, so it matches the way mapped lookups do.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const end = slash < 0 ? text.length : slash;
  const words = new Uint32Array(4);
  let family: typeof FAMILY_V4 | typeof FAMILY_V6;
  if (text.lastIndexOf(':', end) < 0) {
    const v4 = parseIpv4(text, 0, end);
    if (v4 < 0) return undefined;
    words[0] = v4;
    family = FAMILY_V4;
  } else {
    if (!parseIpv6(text, 0, end, words)) return undefined;
    family = FAMILY_V6;
  }
  const maxPrefix = family === FAMILY_V4 ? 32 : 128;
  let prefix = maxPrefix;
  if (slash >= 0) {
    const digits = text.length - slash - 1;
    if (digits < 1 || digits > 3) return undefined;
    prefix = 0;
    for (let i = slash + 1; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
      prefix = prefix * 10 + (c - 48);
    }
    if (digits > 1 && text.charCodeAt(slash + 1) === 48) return undefined;
    if (prefix > maxPrefix) return undefined;
  }
  if (family === FAMILY_V6 && prefix >= 96 && words[0] === 0 && words[1] === 0 && words[2] === 0xffff) {
    words[0] = words[3]!;
    words[3] = 0;
    words[2] = 0;
    family = FAMILY_V4;
    prefix -= 96;
  }
  const hostBitsCleared = maskNetwork(family, words, prefix);
  return { family, words, prefix, hostBitsCleared };
}

/** Clears host bits below `prefix`; true when any were set. */
function maskNetwork(family: Family, words: Uint32Array, prefix: number): boolean {
  let changed = false;
  const wordCount = family === FAMILY_V4 ? 1 : 4;
  for (let w = 0; w < wordCount; w++) {
    const masked = (words[w]! & maskBits(prefix - w * 32)) >>> 0;
    if (masked !== words[w]) changed = true;
    words[w] = masked;
  }
  return changed;
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run compressed). */
export function formatCidr(family: Family, words: ArrayLike<number>, prefix: number): string {
  if (family === FAMILY_V4) return `${formatIpv4(words[0]!)}/${prefix}`;
  return `${formatIpv6(words)}/${prefix}`;
}

export function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

export function formatIpv6(words: ArrayLike<number>): string {
  const g: number[] = [];
  for (let w = 0; w < 4; w++) g.push(words[w]! >>> 16, words[w]! & 0xffff);
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first if tied.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/** Canonical text of a CIDR string, or undefined when it is not one. */
export function canonicalCidr(text: string): string | undefined {
  const cidr = parseCidr(text);
  return cidr === undefined ? undefined : formatCidr(cidr.family, cidr.words, cidr.prefix);
}

// --- The compact binary form ------------------------------------------------------------------
//
// A packed list is a byte string of entries, each one header byte then the network's significant
// bytes: header 0–32 is an IPv4 prefix length followed by ceil(p/8) bytes; header 64–192 is an
// IPv6 prefix length + 64 followed by ceil((p)/8) bytes. Host bits must be zero, so every CIDR has
// exactly one encoding (a delta's "remove" matches byte for byte). A /24 costs 4 bytes, a /32 5,
// a /48 7: about a quarter of the CBOR text form.

const V6_HEADER_BASE = 64;

/** Receives each entry of a packed list; IPv4 uses `words[0]`. `words` is reused between calls. */
export interface CidrSink {
  add(family: typeof FAMILY_V4 | typeof FAMILY_V6, words: Uint32Array, prefix: number, tag: number): void;
}

export class PackedCidrWriter {
  private buffer = new Uint8Array(256);
  private length = 0;
  count = 0;

  add(family: Family, words: ArrayLike<number>, prefix: number): void {
    const bytes = Math.ceil(prefix / 8);
    this.reserve(1 + bytes);
    this.buffer[this.length++] = family === FAMILY_V4 ? prefix : V6_HEADER_BASE + prefix;
    for (let b = 0; b < bytes; b++) {
      this.buffer[this.length++] = (words[b >> 2]! >>> (24 - 8 * (b & 3))) & 0xff;
    }
    this.count++;
  }

  /** Adds a CIDR text; false (and nothing added) when it is not one. */
  addText(text: string): boolean {
    const cidr = parseCidr(text);
    if (cidr === undefined) return false;
    this.add(cidr.family, cidr.words, cidr.prefix);
    return true;
  }

  get byteLength(): number {
    return this.length;
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  private reserve(more: number): void {
    if (this.length + more <= this.buffer.length) return;
    const next = new Uint8Array(Math.max(this.buffer.length * 2, this.length + more));
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }
}

export type PackedReadResult =
  | { readonly ok: true; readonly count: number }
  | { readonly ok: false; readonly reason: 'truncated' | 'bad header' | 'host bits set' | 'too many' };

const readWords = new Uint32Array(4);

/**
 * Walks a packed list, handing each entry to `sink` (which may be undefined: validate and count
 * only). Stops with a reason at the first bad entry or once more than `maxEntries` are seen;
 * never throws for any input (a sink may).
 */
export function readPackedCidrs(
  bytes: Uint8Array,
  tag: number,
  maxEntries: number,
  sink: CidrSink | undefined,
): PackedReadResult {
  let pos = 0;
  let count = 0;
  const end = bytes.length;
  while (pos < end) {
    const header = bytes[pos++]!;
    let family: typeof FAMILY_V4 | typeof FAMILY_V6;
    let prefix: number;
    if (header <= 32) {
      family = FAMILY_V4;
      prefix = header;
    } else if (header >= V6_HEADER_BASE && header <= V6_HEADER_BASE + 128) {
      family = FAMILY_V6;
      prefix = header - V6_HEADER_BASE;
    } else {
      return { ok: false, reason: 'bad header' };
    }
    const length = (prefix + 7) >> 3;
    if (pos + length > end) return { ok: false, reason: 'truncated' };
    readWords[0] = 0;
    readWords[1] = 0;
    readWords[2] = 0;
    readWords[3] = 0;
    for (let b = 0; b < length; b++) {
      readWords[b >> 2] = (readWords[b >> 2]! | (bytes[pos + b]! << (24 - 8 * (b & 3)))) >>> 0;
    }
    if ((prefix & 7) !== 0 && (bytes[pos + length - 1]! & (0xff >> (prefix & 7))) !== 0) {
      return { ok: false, reason: 'host bits set' };
    }
    pos += length;
    if (++count > maxEntries) return { ok: false, reason: 'too many' };
    sink?.add(family, readWords, prefix, tag);
  }
  return { ok: true, count };
}

/** The CIDR texts of a packed list (tests, logs, the portal); undefined when it is malformed. */
export function unpackCidrTexts(bytes: Uint8Array): string[] | undefined {
  const out: string[] = [];
  const r = readPackedCidrs(bytes, 0, Number.POSITIVE_INFINITY, {
    add: (family, words, prefix) => out.push(formatCidr(family, words, prefix)),
  });
  return r.ok ? out : undefined;
}
