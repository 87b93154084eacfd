/**
 * The `detectIgnore` setting: addresses and networks never alerted on (the member's own vulnerability
 * scanner, central's scanner). Items are CIDRs or addresses in clear, or pseudonyms (`p:…`) as the
 * status page shows them. An internal scanner's address is a pseudonym by the time detection sees
 * it, so the caller may pass `pseudonymise` to turn listed internal addresses into their pseudonyms.
 */
import { AddressKind, NetworkSet, parseAddress } from '../minimise/address.js';
import { PSEUDONYM_PREFIX } from '../minimise/pseudonym.js';

export interface IgnoreList {
  has(address: string | undefined): boolean;
  readonly size: number;
}

export type IgnoreListResult =
  | { readonly ok: true; readonly list: IgnoreList }
  | { readonly ok: false; readonly reason: string };

const words = new Uint32Array(4);

export function parseIgnoreList(
  text: string,
  pseudonymise?: (address: string) => string | undefined,
): IgnoreListResult {
  const pseudonyms = new Set<string>();
  const networks: string[] = [];
  for (const item of text.split(/[\s,]+/)) {
    if (item === '') continue;
    if (item.startsWith(PSEUDONYM_PREFIX)) {
      pseudonyms.add(item);
      continue;
    }
    networks.push(item);
    if (pseudonymise !== undefined && !item.includes('/')) {
      const p = pseudonymise(item);
      if (p !== undefined) pseudonyms.add(p);
    }
  }
  const parsed = NetworkSet.parse(networks.join(','));
  if (!parsed.ok) return { ok: false, reason: parsed.reason };
  const set = parsed.networks;
  const size = pseudonyms.size + networks.length;
  return {
    ok: true,
    list: {
      size,
      has(address) {
        if (address === undefined || size === 0) return false;
        if (address.startsWith(PSEUDONYM_PREFIX)) return pseudonyms.has(address);
        const kind = parseAddress(address, words);
        return kind !== AddressKind.Invalid && set.contains(kind, words);
      },
    },
  };
}

export const EMPTY_IGNORE_LIST: IgnoreList = { size: 0, has: () => false };
