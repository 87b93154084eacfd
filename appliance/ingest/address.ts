import { isIP, SocketAddress } from 'node:net';

const MAPPED_PREFIX = '::ffff:';

/**
 * The accounting key for a peer address. A dual-stack (`::`) socket reports an IPv4 sender as
 * IPv4-mapped IPv6 (`::ffff:192.0.2.1`, RFC 4291 §2.5.5.2); we key it by the plain IPv4 address so a
 * firewall is one source whichever listener it reaches and however `listenHost` is set.
 */
export function sourceKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  // Node prints the mapped form in lower case with a dotted quad; anything else is kept as is.
  if (address.startsWith(MAPPED_PREFIX) && address.indexOf('.', MAPPED_PREFIX.length) > 0) {
    return address.slice(MAPPED_PREFIX.length);
  }
  return address;
}

/**
 * The source key an address written by a person (config) will have on the wire: canonical text form
 * (`0:0::1` → `::1`, upper → lower case) with IPv4-mapped addresses unwrapped. Undefined when the text
 * is not an IP address.
 */
export function canonicalSourceKey(text: string): string | undefined {
  const trimmed = text.trim();
  const family = isIP(trimmed);
  if (family === 0) return undefined;
  if (family === 4) return trimmed;
  const canonical = new SocketAddress({ address: trimmed, family: 'ipv6' }).address.toLowerCase();
  return sourceKey(canonical);
}
