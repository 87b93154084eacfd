/**
 * Which side of the member's network an address in a minimised event is on. After the privacy
 * boundary an internal address is normally a pseudonym (`p:` + 12 base32 characters); a member can
 * switch pseudonymisation off, so private, CGNAT, link-local, ULA and loopback addresses in clear are
 * internal too (the same built-in ranges minimise uses, plus the member's `privacyNetworks`).
 * External means a valid address in clear that is not internal; anything else (a dropped field, a
 * host name that slipped through) is neither, and detectors skip it.
 */
import { AddressKind, INTERNAL_NETWORKS, type NetworkSet, parseAddress } from '../minimise/address.js';
import { PSEUDONYM_PREFIX } from '../minimise/pseudonym.js';

const words = new Uint32Array(4); // scratch: detection is synchronous and never re-entered

export interface AddressClassifier {
  isInternal(address: string | undefined): boolean;
  isExternal(address: string | undefined): boolean;
}

export function addressClassifier(internalNetworks: NetworkSet = INTERNAL_NETWORKS): AddressClassifier {
  return {
    isInternal(address) {
      if (address === undefined) return false;
      if (address.startsWith(PSEUDONYM_PREFIX)) return true;
      const kind = parseAddress(address, words);
      return kind !== AddressKind.Invalid && internalNetworks.contains(kind, words);
    },
    isExternal(address) {
      if (address === undefined || address.startsWith(PSEUDONYM_PREFIX)) return false;
      const kind = parseAddress(address, words);
      return kind !== AddressKind.Invalid && !internalNetworks.contains(kind, words);
    },
  };
}

const builtIn = addressClassifier();
/** With the built-in ranges only. */
export const isInternal = builtIn.isInternal;
export const isExternal = builtIn.isExternal;
