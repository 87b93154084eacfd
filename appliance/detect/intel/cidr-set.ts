import {
  type CidrSink,
  FAMILY_V4,
  FAMILY_V6,
  type Family,
  formatCidr,
  INTEL_TAGS,
  type IntelTag,
  parseAddressInto,
  parseCidr,
  tagCode,
  tagFromCode,
} from '../../../protocol/intel-cidr.js';

/**
 * A set of IPv4 and IPv6 CIDRs, each with an optional tag, answering "is this address listed, and
 * how" at millions of lookups a second in a few bytes per entry (docs/PERFORMANCE.md, "Intel list
 * matching").
 *
 * Two layers, both typed arrays, both immutable once built:
 * - the entries, sorted by (network, prefix) with duplicates removed: what a delta edits
 *   (`withChanges` merges sorted runs, no hash map of a million keys) and what `entries()` lists.
 *   IPv4: one float64 key (network × 64 + prefix) and a tag byte, 9 bytes an entry.
 * - the index: the address space cut into disjoint ranges, each labelled with the tag of the most
 *   specific CIDR covering it, adjacent ranges with the same label merged. A lookup is one binary
 *   search: IPv4 over two Uint32Arrays, narrowed first by a 65,536-slot table on the top 16 bits;
 *   IPv6 over 4×32-bit words.
 *
 * Address text is parsed without allocating or a regex (protocol/intel-cidr.ts); an IPv4-mapped
 * IPv6 address (`::ffff:a.b.c.d`) is looked up as the IPv4 address, and an IPv4-mapped CIDR of /96
 * or longer is stored as the IPv4 CIDR. Invalid text is simply not listed.
 *
 * Overlaps: the most specific CIDR decides the tag (`10.0.0.0/8` scanner with `10.1.0.0/16`
 * untagged inside gives `listed` for 10.1.x.x). The same CIDR listed twice keeps the tag that comes
 * later in INTEL_TAGS order.
 */

/** What a lookup says: the entry's tag, or `listed` for an untagged entry. */
export type IntelMatch = IntelTag | 'listed';

const MATCH_BY_CODE: readonly IntelMatch[] = ['listed', ...INTEL_TAGS];
export const NOT_LISTED = -1;

const TWO_32 = 0x100000000;
const scratch = new Uint32Array(4);

/** Collects CIDRs for a set or a change to one; a `CidrSink` for protocol/intel-cidr.ts readers. */
export class CidrListBuilder implements CidrSink {
  v4Keys = new Float64Array(1024);
  v4Count = 0;
  v6Words = new Uint32Array(4 * 64);
  v6Prefix = new Uint8Array(64);
  v6Tag = new Uint8Array(64);
  v6Count = 0;

  add(family: Family, words: ArrayLike<number>, prefix: number, tag: number): void {
    if (family === FAMILY_V4) {
      if (this.v4Count === this.v4Keys.length) this.v4Keys = grow(this.v4Keys, this.v4Count * 2);
      // Network, prefix and tag in one number below 2^40 (exact in a double): sorting the keys
      // orders by network, then prefix (wider first), then tag.
      this.v4Keys[this.v4Count++] = (words[0]! * 64 + prefix) * 4 + tag;
      return;
    }
    if (this.v6Count === this.v6Prefix.length) {
      const capacity = this.v6Count * 2;
      this.v6Words = grow(this.v6Words, capacity * 4);
      this.v6Prefix = grow(this.v6Prefix, capacity);
      this.v6Tag = grow(this.v6Tag, capacity);
    }
    const at = this.v6Count * 4;
    this.v6Words[at] = words[0]!;
    this.v6Words[at + 1] = words[1]!;
    this.v6Words[at + 2] = words[2]!;
    this.v6Words[at + 3] = words[3]!;
    this.v6Prefix[this.v6Count] = prefix;
    this.v6Tag[this.v6Count] = tag;
    this.v6Count++;
  }

  /** Adds a CIDR text (a bare address is a /32 or /128); false when it is not one. */
  addText(text: string, tag?: IntelTag): boolean {
    const cidr = parseCidr(text);
    if (cidr === undefined) return false;
    this.add(cidr.family, cidr.words, cidr.prefix, tagCode(tag));
    return true;
  }

  get size(): number {
    return this.v4Count + this.v6Count;
  }
}

function grow<T extends Float64Array | Uint32Array | Uint8Array>(array: T, length: number): T {
  const next = new (array.constructor as new (n: number) => T)(Math.max(length, 16));
  next.set(array.subarray(0, Math.min(array.length, length)) as never);
  return next;
}

/** Sorted, de-duplicated entries (see the file comment). */
interface Entries {
  /** network × 64 + prefix, ascending. */
  readonly v4Keys: Float64Array;
  readonly v4Tags: Uint8Array;
  /** 4 words per entry, ascending by (words, prefix). */
  readonly v6Words: Uint32Array;
  readonly v6Prefix: Uint8Array;
  readonly v6Tags: Uint8Array;
}

/** Disjoint labelled ranges (see the file comment). */
interface Index {
  readonly v4Starts: Uint32Array;
  readonly v4Ends: Uint32Array;
  readonly v4Labels: Uint8Array;
  /** v4Bucket[b] = how many ranges start below b << 16; 65,537 slots. */
  readonly v4Bucket: Uint32Array;
  readonly v6Starts: Uint32Array;
  readonly v6Ends: Uint32Array;
  readonly v6Labels: Uint8Array;
}

export class CidrSet {
  private constructor(
    private readonly list: Entries,
    private readonly index: Index,
  ) {}

  static empty(): CidrSet {
    return CidrSet.build(new CidrListBuilder());
  }

  static build(builder: CidrListBuilder): CidrSet {
    return CidrSet.fromEntries(sortedEntries(builder));
  }

  /** A set from CIDR texts; texts that are not CIDRs are counted, not thrown. */
  static fromTexts(entries: Iterable<string | { cidr: string; tag?: IntelTag }>): {
    set: CidrSet;
    invalid: number;
  } {
    const builder = new CidrListBuilder();
    let invalid = 0;
    for (const entry of entries) {
      const ok = typeof entry === 'string' ? builder.addText(entry) : builder.addText(entry.cidr, entry.tag);
      if (!ok) invalid++;
    }
    return { set: CidrSet.build(builder), invalid };
  }

  private static fromEntries(list: Entries): CidrSet {
    return new CidrSet(list, { ...buildV4Index(list), ...buildV6Index(list) });
  }

  /**
   * This set with `remove` taken out and `add` put in (an add replaces the tag of an entry already
   * present). Entries are matched exactly: removing 10.0.0.0/8 does not touch 10.1.0.0/16.
   */
  withChanges(add: CidrListBuilder, remove: CidrListBuilder): CidrSet {
    const adds = sortedEntries(add);
    const removes = sortedEntries(remove);
    return CidrSet.fromEntries({
      ...mergeV4(this.list, adds, removes),
      ...mergeV6(this.list, adds, removes),
    });
  }

  /** Entries held (IPv4 + IPv6). */
  get size(): number {
    return this.list.v4Keys.length + this.list.v6Prefix.length;
  }

  get v4Size(): number {
    return this.list.v4Keys.length;
  }

  get v6Size(): number {
    return this.list.v6Prefix.length;
  }

  has(address: string): boolean {
    return this.lookupCode(address) !== NOT_LISTED;
  }

  lookup(address: string): IntelMatch | undefined {
    const code = this.lookupCode(address);
    return code === NOT_LISTED ? undefined : MATCH_BY_CODE[code];
  }

  /** The matching entry's tag code (0 = untagged), or NOT_LISTED. */
  lookupCode(address: string): number {
    const family = parseAddressInto(address, scratch);
    if (family === FAMILY_V4) return this.lookupV4(scratch[0]!);
    if (family === FAMILY_V6) return this.lookupV6(scratch);
    return NOT_LISTED;
  }

  /** IPv4 as an unsigned 32-bit number. */
  lookupV4(address: number): number {
    const { v4Starts: starts, v4Bucket: bucket } = this.index;
    const b = address >>> 16;
    let lo = bucket[b]!;
    let hi = bucket[b + 1]!;
    // The last range starting at or below the address; ranges below bucket[b] all start earlier.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= address) lo = mid + 1;
      else hi = mid;
    }
    const i = lo - 1;
    if (i < 0 || address > this.index.v4Ends[i]!) return NOT_LISTED;
    return this.index.v4Labels[i]!;
  }

  /** IPv6 as four big-endian words (words[0..3]). */
  lookupV6(words: Uint32Array): number {
    const { v6Starts: starts, v6Ends: ends } = this.index;
    const w0 = words[0]!;
    const w1 = words[1]!;
    const w2 = words[2]!;
    const w3 = words[3]!;
    let lo = 0;
    let hi = this.index.v6Labels.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare4(starts, mid * 4, w0, w1, w2, w3) <= 0) lo = mid + 1;
      else hi = mid;
    }
    const i = lo - 1;
    if (i < 0 || compare4(ends, i * 4, w0, w1, w2, w3) < 0) return NOT_LISTED;
    return this.index.v6Labels[i]!;
  }

  /** Bytes held in typed arrays (entries + index). */
  byteSize(): number {
    let total = 0;
    for (const array of [...Object.values(this.list), ...Object.values(this.index)]) {
      total += (array as Uint8Array).byteLength;
    }
    return total;
  }

  /** Every entry as canonical text, IPv4 first (tests, the status page). */
  *entries(): Generator<{ cidr: string; tag?: IntelTag }> {
    const words = new Uint32Array(4);
    for (let i = 0; i < this.list.v4Keys.length; i++) {
      const key = this.list.v4Keys[i]!;
      words[0] = Math.floor(key / 64);
      const tag = tagFromCode(this.list.v4Tags[i]!);
      const cidr = formatCidr(FAMILY_V4, words, key % 64);
      yield tag === undefined ? { cidr } : { cidr, tag };
    }
    for (let i = 0; i < this.list.v6Prefix.length; i++) {
      const tag = tagFromCode(this.list.v6Tags[i]!);
      const cidr = formatCidr(
        FAMILY_V6,
        this.list.v6Words.subarray(i * 4, i * 4 + 4),
        this.list.v6Prefix[i]!,
      );
      yield tag === undefined ? { cidr } : { cidr, tag };
    }
  }
}

/** Compares the 128-bit value at words[at..at+3] with (w0..w3): negative, 0 or positive. */
function compare4(words: Uint32Array, at: number, w0: number, w1: number, w2: number, w3: number): number {
  let d = words[at]! - w0;
  if (d !== 0) return d;
  d = words[at + 1]! - w1;
  if (d !== 0) return d;
  d = words[at + 2]! - w2;
  if (d !== 0) return d;
  return words[at + 3]! - w3;
}

function sortedEntries(builder: CidrListBuilder): Entries {
  // IPv4: sort the combined keys, then keep the last of each CIDR (the highest tag).
  const keys = builder.v4Keys.slice(0, builder.v4Count).sort();
  let n = 0;
  for (let i = 0; i < keys.length; i++) {
    const cidr = Math.floor(keys[i]! / 4);
    if (i + 1 < keys.length && Math.floor(keys[i + 1]! / 4) === cidr) continue;
    keys[n++] = keys[i]!;
  }
  const v4Keys = new Float64Array(n);
  const v4Tags = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    v4Keys[i] = Math.floor(keys[i]! / 4);
    v4Tags[i] = keys[i]! % 4;
  }

  const count = builder.v6Count;
  const words = builder.v6Words;
  const prefix = builder.v6Prefix;
  const tags = builder.v6Tag;
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  order.sort((a, b) => {
    const d = compare4(words, a * 4, words[b * 4]!, words[b * 4 + 1]!, words[b * 4 + 2]!, words[b * 4 + 3]!);
    if (d !== 0) return d;
    return prefix[a]! - prefix[b]! || tags[a]! - tags[b]!;
  });
  let m = 0;
  const keep = new Uint32Array(count);
  for (let k = 0; k < count; k++) {
    const i = order[k]!;
    const next = k + 1 < count ? order[k + 1]! : -1;
    if (next >= 0 && sameV6(words, prefix, i, next)) continue;
    keep[m++] = i;
  }
  const v6Words = new Uint32Array(m * 4);
  const v6Prefix = new Uint8Array(m);
  const v6Tags = new Uint8Array(m);
  for (let k = 0; k < m; k++) {
    const i = keep[k]!;
    v6Words.set(words.subarray(i * 4, i * 4 + 4), k * 4);
    v6Prefix[k] = prefix[i]!;
    v6Tags[k] = tags[i]!;
  }
  return { v4Keys, v4Tags, v6Words, v6Prefix, v6Tags };
}

function sameV6(words: Uint32Array, prefix: Uint8Array, a: number, b: number): boolean {
  return (
    prefix[a] === prefix[b] &&
    words[a * 4] === words[b * 4] &&
    words[a * 4 + 1] === words[b * 4 + 1] &&
    words[a * 4 + 2] === words[b * 4 + 2] &&
    words[a * 4 + 3] === words[b * 4 + 3]
  );
}

/** Merges sorted runs: existing entries, minus `removes`, plus `adds` (which win on equal keys). */
function mergeV4(base: Entries, adds: Entries, removes: Entries): Pick<Entries, 'v4Keys' | 'v4Tags'> {
  const keys = new Float64Array(base.v4Keys.length + adds.v4Keys.length);
  const tags = new Uint8Array(keys.length);
  let n = 0;
  let i = 0;
  let j = 0;
  let r = 0;
  const bk = base.v4Keys;
  const ak = adds.v4Keys;
  const rk = removes.v4Keys;
  while (i < bk.length || j < ak.length) {
    const b = i < bk.length ? bk[i]! : Number.POSITIVE_INFINITY;
    const a = j < ak.length ? ak[j]! : Number.POSITIVE_INFINITY;
    if (a <= b) {
      keys[n] = a;
      tags[n++] = adds.v4Tags[j++]!;
      if (a === b) i++;
      continue;
    }
    while (r < rk.length && rk[r]! < b) r++;
    if (r < rk.length && rk[r] === b) {
      i++;
      continue;
    }
    keys[n] = b;
    tags[n++] = base.v4Tags[i++]!;
  }
  return { v4Keys: keys.slice(0, n), v4Tags: tags.slice(0, n) };
}

function compareV6Entry(x: Entries, i: number, y: Entries, j: number): number {
  const w = y.v6Words;
  const d = compare4(x.v6Words, i * 4, w[j * 4]!, w[j * 4 + 1]!, w[j * 4 + 2]!, w[j * 4 + 3]!);
  return d !== 0 ? d : x.v6Prefix[i]! - y.v6Prefix[j]!;
}

function mergeV6(
  base: Entries,
  adds: Entries,
  removes: Entries,
): Pick<Entries, 'v6Words' | 'v6Prefix' | 'v6Tags'> {
  const capacity = base.v6Prefix.length + adds.v6Prefix.length;
  const words = new Uint32Array(capacity * 4);
  const prefix = new Uint8Array(capacity);
  const tags = new Uint8Array(capacity);
  let n = 0;
  let i = 0;
  let j = 0;
  let r = 0;
  const take = (from: Entries, k: number) => {
    words.set(from.v6Words.subarray(k * 4, k * 4 + 4), n * 4);
    prefix[n] = from.v6Prefix[k]!;
    tags[n++] = from.v6Tags[k]!;
  };
  while (i < base.v6Prefix.length || j < adds.v6Prefix.length) {
    const order =
      i >= base.v6Prefix.length ? 1 : j >= adds.v6Prefix.length ? -1 : compareV6Entry(base, i, adds, j);
    if (order >= 0) {
      take(adds, j++);
      if (order === 0) i++;
      continue;
    }
    while (r < removes.v6Prefix.length && compareV6Entry(removes, r, base, i) < 0) r++;
    if (r < removes.v6Prefix.length && compareV6Entry(removes, r, base, i) === 0) {
      i++;
      continue;
    }
    take(base, i++);
  }
  return { v6Words: words.slice(0, n * 4), v6Prefix: prefix.slice(0, n), v6Tags: tags.slice(0, n) };
}

/**
 * Cuts the space into disjoint labelled ranges. Entries are sorted by (start, prefix), so CIDRs
 * either nest or are disjoint and a stack of the open ones (at most 33 deep) says which is most
 * specific at each point: the span before a nested CIDR and the span after it belong to the
 * enclosing one.
 */
function buildV4Index(list: Entries): Pick<Index, 'v4Starts' | 'v4Ends' | 'v4Labels' | 'v4Bucket'> {
  const n = list.v4Keys.length;
  const starts = new Uint32Array(2 * n + 1);
  const ends = new Uint32Array(2 * n + 1);
  const labels = new Uint8Array(2 * n + 1);
  let m = 0;
  const emit = (s: number, e: number, label: number) => {
    if (s > e) return;
    if (m > 0 && labels[m - 1] === label && ends[m - 1]! + 1 === s) {
      ends[m - 1] = e;
      return;
    }
    starts[m] = s;
    ends[m] = e;
    labels[m++] = label;
  };
  const stackEnd = new Float64Array(34);
  const stackLabel = new Uint8Array(34);
  let depth = 0;
  let cursor = 0;
  for (let i = 0; i < n; i++) {
    const key = list.v4Keys[i]!;
    const prefix = key % 64;
    const start = (key - prefix) / 64;
    const end = start + TWO_32 / 2 ** prefix - 1;
    while (depth > 0 && stackEnd[depth - 1]! < start) {
      depth--;
      emit(cursor, stackEnd[depth]!, stackLabel[depth]!);
      cursor = Math.max(cursor, stackEnd[depth]! + 1);
    }
    if (depth > 0) emit(cursor, start - 1, stackLabel[depth - 1]!);
    cursor = start;
    stackEnd[depth] = end;
    stackLabel[depth++] = list.v4Tags[i]!;
  }
  while (depth > 0) {
    depth--;
    emit(cursor, stackEnd[depth]!, stackLabel[depth]!);
    cursor = Math.max(cursor, stackEnd[depth]! + 1);
  }
  const bucket = new Uint32Array(65537);
  let k = 0;
  for (let b = 0; b <= 65536; b++) {
    const bucketStart = b * 65536;
    while (k < m && starts[k]! < bucketStart) k++;
    bucket[b] = k;
  }
  return {
    v4Starts: starts.slice(0, m),
    v4Ends: ends.slice(0, m),
    v4Labels: labels.slice(0, m),
    v4Bucket: bucket,
  };
}

/** The same sweep over 128-bit values; BigInt is fine here (build time only, IPv6 lists are short). */
function buildV6Index(list: Entries): Pick<Index, 'v6Starts' | 'v6Ends' | 'v6Labels'> {
  const n = list.v6Prefix.length;
  const starts: bigint[] = [];
  const ends: bigint[] = [];
  const labels: number[] = [];
  const emit = (s: bigint, e: bigint, label: number) => {
    if (s > e) return;
    const m = labels.length;
    if (m > 0 && labels[m - 1] === label && ends[m - 1]! + 1n === s) {
      ends[m - 1] = e;
      return;
    }
    starts.push(s);
    ends.push(e);
    labels.push(label);
  };
  const stackEnd: bigint[] = [];
  const stackLabel: number[] = [];
  let cursor = 0n;
  const w = list.v6Words;
  for (let i = 0; i < n; i++) {
    const start =
      (BigInt(w[i * 4]!) << 96n) |
      (BigInt(w[i * 4 + 1]!) << 64n) |
      (BigInt(w[i * 4 + 2]!) << 32n) |
      BigInt(w[i * 4 + 3]!);
    const end = start | ((1n << BigInt(128 - list.v6Prefix[i]!)) - 1n);
    while (stackEnd.length > 0 && stackEnd[stackEnd.length - 1]! < start) {
      const e = stackEnd.pop()!;
      emit(cursor, e, stackLabel.pop()!);
      if (e + 1n > cursor) cursor = e + 1n;
    }
    if (stackEnd.length > 0) emit(cursor, start - 1n, stackLabel[stackLabel.length - 1]!);
    cursor = start;
    stackEnd.push(end);
    stackLabel.push(list.v6Tags[i]!);
  }
  while (stackEnd.length > 0) {
    const e = stackEnd.pop()!;
    emit(cursor, e, stackLabel.pop()!);
    if (e + 1n > cursor) cursor = e + 1n;
  }
  const m = labels.length;
  const v6Starts = new Uint32Array(m * 4);
  const v6Ends = new Uint32Array(m * 4);
  const mask = 0xffffffffn;
  for (let k = 0; k < m; k++) {
    for (let q = 0; q < 4; q++) {
      const shift = BigInt(96 - 32 * q);
      v6Starts[k * 4 + q] = Number((starts[k]! >> shift) & mask);
      v6Ends[k * 4 + q] = Number((ends[k]! >> shift) & mask);
    }
  }
  return { v6Starts, v6Ends, v6Labels: Uint8Array.from(labels) };
}
