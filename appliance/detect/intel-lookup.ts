/**
 * The threat-intelligence look-up the `intel-hit` detector is given. Another stage builds it (a CIDR
 * set from central's blocklists); the detectors only call it, once per external address of an event,
 * so it must be cheap and must not allocate on a miss.
 */

/** A hit names the list it came from, so the alert can say why. */
export interface IntelHit {
  readonly list: string;
}

/** `false` (or undefined) for no hit; `true` for a hit from an unnamed list. */
export type IntelLookup = (address: string) => boolean | IntelHit | undefined;

/** No intelligence loaded: nothing is ever a hit. */
export const NO_INTEL: IntelLookup = () => false;

/** The list name of a hit, or undefined for a miss. */
export function intelListOf(result: boolean | IntelHit | undefined): string | undefined {
  if (result === undefined || result === false) return undefined;
  return result === true ? 'blocklist' : result.list;
}
