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

export const AddressSide = { Neither: 0, Internal: 1, External: 2 } as const;
export type AddressSide = (typeof AddressSide)[keyof typeof AddressSide];

export interface AddressClassifier {
  /** Internal, external or neither, from one parse (the engine asks once per address per event). */
  side(address: string | undefined): AddressSide;
  isInternal(address: string | undefined): boolean;
  isExternal(address: string | undefined): boolean;
}

export function addressClassifier(internalNetworks: NetworkSet = INTERNAL_NETWORKS): AddressClassifier {
  function side(address: string | undefined): AddressSide {
    if (address === undefined) return AddressSide.Neither;
    if (address.startsWith(PSEUDONYM_PREFIX)) return AddressSide.Internal;
    const kind = parseAddress(address, words);
    if (kind === AddressKind.Invalid) return AddressSide.Neither;
    return internalNetworks.contains(kind, words) ? AddressSide.Internal : AddressSide.External;
  }
  return {
    side,
    isInternal: (address) => side(address) === AddressSide.Internal,
    isExternal: (address) => side(address) === AddressSide.External,
  };
}

const builtIn = addressClassifier();
/** With the built-in ranges only. */
export const isInternal = builtIn.isInternal;
export const isExternal = builtIn.isExternal;
