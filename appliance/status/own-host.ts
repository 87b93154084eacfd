/**
 * Is a request's Host header one of this box's own names? A DNS-rebinding page (attacker.example
 * re-resolved to the box's LAN address) reaches the status page with its own name in Host and a
 * matching Origin, so the Origin check alone lets it post; checking Host against the box's names
 * and addresses closes that.
 */
import { hostname, networkInterfaces } from 'node:os';

/** The box's names: loopback, its hostname (bare, `.local`, `.lan`, `.home.arpa`), every interface address, plus `extra`. */
export function ownHostNames(extra: readonly string[] = []): Set<string> {
  const names = new Set<string>(['localhost', '127.0.0.1', '::1']);
  const host = hostname().toLowerCase();
  if (host) for (const suffix of ['', '.local', '.lan', '.home.arpa']) names.add(`${host}${suffix}`);
  for (const list of Object.values(networkInterfaces()))
    for (const iface of list ?? []) names.add(iface.address.toLowerCase().replace(/%.*$/, ''));
  for (const name of extra) names.add(name.toLowerCase());
  return names;
}

/** The name in a Host header without the port (`[::1]:8080` → `::1`). */
export function hostWithoutPort(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') < 0 ? undefined : h.indexOf(']'));
  const colon = h.indexOf(':');
  return colon >= 0 && h.indexOf(':', colon + 1) < 0 ? h.slice(0, colon) : h;
}
