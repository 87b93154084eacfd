/**
 * Distinct source ports of one flow key in bounded memory: exact for up to `EXACT_PORTS` ports (the
 * common case is one), then linear counting (Whang et al., 1990) over a 4,096-bit bitmap. Its
 * standard error is about 1 % at 1,000 ports and 3 % at 16,000; past about 30,000 the bitmap fills
 * and the count saturates near 34,000 (m·ln m), which still reads "every port". A flow never costs
 * more than 512 bytes, so 50,000 open keys stay within 26 MB even if every one of them is a scan.
 */
export const EXACT_PORTS = 64;
const BITMAP_BITS = 4096;
const BITMAP_WORDS = BITMAP_BITS / 32;

/**
 * Linear counting needs buckets that look random: MurmurHash3's 32-bit finaliser, top 12 bits. (A
 * plain multiplicative hash spreads sequential ports too evenly, and the estimate then reads high.)
 */
function bucket(port: number): number {
  let h = port ^ 0x5bd1e995;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 20;
}

export class DistinctPorts {
  private first = -1;
  private exact: Uint16Array | undefined;
  private exactCount = 0;
  private bitmap: Uint32Array | undefined;

  add(port: number): void {
    const bitmap = this.bitmap;
    if (bitmap !== undefined) {
      const b = bucket(port);
      bitmap[b >>> 5]! |= 1 << (b & 31);
      return;
    }
    if (this.first < 0) {
      this.first = port;
      this.exactCount = 1;
      return;
    }
    if (port === this.first) return;
    let exact = this.exact;
    if (exact === undefined) {
      exact = new Uint16Array(EXACT_PORTS);
      exact[0] = this.first;
      this.exact = exact;
    }
    const n = this.exactCount;
    for (let i = 1; i < n; i++) if (exact[i] === port) return;
    if (n < EXACT_PORTS) {
      exact[n] = port;
      this.exactCount = n + 1;
      return;
    }
    const bits = new Uint32Array(BITMAP_WORDS);
    for (let i = 0; i < n; i++) {
      const b = bucket(exact[i]!);
      bits[b >>> 5]! |= 1 << (b & 31);
    }
    const b = bucket(port);
    bits[b >>> 5]! |= 1 << (b & 31);
    this.bitmap = bits;
    this.exact = undefined;
  }

  /** Whether `count()` is exact. */
  get exactCountKnown(): boolean {
    return this.bitmap === undefined;
  }

  count(): number {
    const bitmap = this.bitmap;
    if (bitmap === undefined) return this.exactCount;
    let zeros = 0;
    for (let w = 0; w < BITMAP_WORDS; w++) zeros += 32 - popcount(bitmap[w]!);
    // A full bitmap says "at least m·ln m"; past the exact cap the estimate never reads lower.
    const estimate =
      zeros === 0 ? BITMAP_BITS * Math.log(BITMAP_BITS) : -BITMAP_BITS * Math.log(zeros / BITMAP_BITS);
    return Math.min(65536, Math.max(EXACT_PORTS + 1, Math.round(estimate)));
  }
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) as number;
}
