/**
 * Keyed pseudonyms: `p:` + 12 base32 characters (60 bits) of HMAC-SHA256(device secret, input).
 * Stable, so one internal host keeps one pseudonym in every record and every report; keyed, so
 * nobody without the device's secret can map a pseudonym back by hashing candidate addresses.
 * 60 bits keep the chance of two hosts of one member colliding below 1 in 10^9 for 50,000 hosts.
 *
 * Addresses are hashed over their canonical bytes (4 for IPv4, 16 for IPv6), so `fe80::1` and
 * `fe80:0:0:0::1`, or `10.0.0.1` and `::ffff:10.0.0.1`, are the same host. Free-text fields are
 * hashed with their field name in front, so a rule called `10.0.0.1` does not share the address's
 * pseudonym. An HMAC costs about a microsecond; a member has few internal hosts and rule names, so a
 * bounded cache makes the per-event cost a map lookup.
 */
import { createHmac } from 'node:crypto';
import { AddressKind } from './address.js';

export const PSEUDONYM_PREFIX = 'p:';
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'; // RFC 4648 §6 alphabet, lower-case

const ADDRESS_DOMAIN = 0x61; // 'a'
const TEXT_DOMAIN = 0x74; // 't'

export class Pseudonymiser {
  private readonly addresses = new Map<string, string>();
  // Per field, keyed by the value (no key string built per event). Values are up to 256 bytes
  // (clamped before they get here), so fewer of them are cached.
  private readonly texts = new Map<string, Map<string, string>>();
  private readonly input = Buffer.alloc(17);
  /** Times the cache filled up and was emptied (a sign of an address sweep or a huge network). */
  cacheResets = 0;

  constructor(
    private readonly key: Uint8Array,
    private readonly maxCacheEntries = 65_536,
  ) {
    if (key.length < 16) throw new RangeError('pseudonym key must be at least 16 bytes');
  }

  /** Pseudonym of a parsed address; `text` (the address as written) is only the cache key. */
  address(kind: AddressKind, words: Uint32Array, text: string): string {
    const cached = this.addresses.get(text);
    if (cached !== undefined) return cached;
    const input = this.input;
    input[0] = ADDRESS_DOMAIN;
    let length: number;
    if (kind === AddressKind.V4) {
      input.writeUInt32BE(words[0]!, 1);
      length = 5;
    } else {
      for (let w = 0; w < 4; w++) input.writeUInt32BE(words[w]!, 1 + w * 4);
      length = 17;
    }
    const pseudonym = this.digest(input.subarray(0, length));
    this.remember(this.addresses, this.maxCacheEntries, text, pseudonym);
    return pseudonym;
  }

  /** Pseudonym of a free-text value of field `field` (e.g. a rule or interface name). */
  text(field: string, value: string): string {
    let cache = this.texts.get(field);
    if (cache === undefined) {
      cache = new Map();
      this.texts.set(field, cache);
    }
    const cached = cache.get(value);
    if (cached !== undefined) return cached;
    const input = `${String.fromCharCode(TEXT_DOMAIN)}${field}\u0000${value}`;
    const pseudonym = this.digest(Buffer.from(input, 'utf8'));
    this.remember(cache, this.maxCacheEntries >>> 4, value, pseudonym);
    return pseudonym;
  }

  private digest(input: Uint8Array): string {
    const mac = createHmac('sha256', this.key).update(input).digest();
    // 60 bits: the first 7.5 bytes, read five bits at a time.
    let out = PSEUDONYM_PREFIX;
    let acc = 0;
    let bits = 0;
    let byte = 0;
    for (let i = 0; i < 12; i++) {
      if (bits < 5) {
        acc = ((acc << 8) | mac[byte++]!) & 0xffff;
        bits += 8;
      }
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    return out;
  }

  private remember(cache: Map<string, string>, maxEntries: number, key: string, pseudonym: string): void {
    if (cache.size >= maxEntries) {
      cache.clear();
      this.cacheResets++;
    }
    cache.set(key, pseudonym);
  }
}
