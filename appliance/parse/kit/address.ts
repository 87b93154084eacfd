/**
 * Addresses, ports and endpoints as vendors write them (`ip`, `ip:port`, `[v6]:port`,
 * `iface:ip/port`, an address somewhere in free text). Per line, linear, no node regex per address.
 */
import { isIP, isIPv6 } from 'node:net';
import { parsePort } from './number.js';

/**
 * True when `v` is a dotted quad exactly as `net.isIPv4` accepts it: four decimal parts 0-255, no
 * leading zeros, nothing else. Node's check is a regular expression; this runs on every address.
 */
export function isDottedQuad(v: string): boolean {
  const n = v.length;
  if (n < 7 || n > 15) return false;
  let parts = 0;
  let i = 0;
  for (;;) {
    const start = i;
    let value = 0;
    while (i < n) {
      const c = v.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      value = value * 10 + c;
      i++;
    }
    const len = i - start;
    const leadingZero = len > 1 && v.charCodeAt(start) === 48 /* 0 */;
    if (len === 0 || len > 3 || value > 255 || leadingZero) return false;
    if (++parts === 4) return i === n;
    if (i >= n || v.charCodeAt(i) !== 46 /* . */) return false;
    i++;
  }
}

/** The address itself when `value` is an IPv4 or IPv6 address (brackets and zone ids removed). */
export function parseIp(value: string | undefined): string | undefined {
  if (value === undefined || value.length === 0 || value.length > 64) return undefined;
  let v = value;
  if (v.charCodeAt(0) === 91 /* [ */ && v.endsWith(']')) v = v.slice(1, -1);
  const zone = v.indexOf('%');
  if (zone > 0) v = v.slice(0, zone);
  // `net.isIP` tries IPv4 first, then IPv6; a dotted quad has no letters to lower-case.
  if (isDottedQuad(v)) return v;
  return mayBeIPv6(v) && isIPv6(v) ? v.toLowerCase() : undefined;
}

/**
 * False when `net.isIPv6` must refuse `v`: an address holds a `:` and only hex digits, `:` and `.`
 * (a `%zone` aside, left to node). Endpoint text like `outside:10.0.0.1` then skips node's regex.
 */
function mayBeIPv6(v: string): boolean {
  let colon = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 58 /* : */) {
      colon = true;
      continue;
    }
    // 0-9, a-f, A-F, `.`; a `%` starts a zone, which node's expression allows.
    const hexOrDot = (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) || c === 46;
    if (!hexOrDot) return c === 37;
  }
  return colon;
}
/** Endpoint text as vendors write it: `[iface:]ip[/port]`, IPv6 allowed in the ip part. */
export interface Endpoint {
  iface?: string;
  ip?: string;
  port?: number;
}

/**
 * Splits `outside:10.0.0.1/443`, `inside:2001:db8::1/53`, `10.0.0.1/0`, `dmz:10.0.0.1` or a bare
 * address. The port is the text after the last `/` when it is all digits; the interface is the text
 * before the first `:` when the whole text is not itself an address.
 */
export function parseEndpoint(text: string): Endpoint {
  let addr = text;
  let port: number | undefined;
  const slash = addr.lastIndexOf('/');
  if (slash > 0) {
    port = parsePort(addr.slice(slash + 1));
    addr = addr.slice(0, slash);
  }
  let ip = parseIp(addr);
  let iface: string | undefined;
  if (ip === undefined) {
    const colon = addr.indexOf(':');
    if (colon > 0) {
      iface = addr.slice(0, colon);
      ip = parseIp(addr.slice(colon + 1));
    }
  }
  const out: Endpoint = {};
  if (iface !== undefined && iface !== '') out.iface = iface;
  if (ip !== undefined) out.ip = ip;
  if (port !== undefined) out.port = port;
  return out;
}

/**
 * Splits `ip:port[:more...]` (SonicWall's `ip:port:iface[:host]`, Meraki's `ip:port`, IPv6 with
 * or without brackets) into address and the fields after it. IPv4 is cut at the first colon; for
 * IPv6 the longest colon-prefix that is an address wins, so `fe80::1:443` reads as `fe80::1`
 * port 443 only when `fe80::1:443` itself is not an address (it is, so such a value stays whole:
 * senders that append a port to IPv6 without brackets are ambiguous by construction).
 */
export function splitAddress(value: string | undefined): { ip?: string; rest: string[] } {
  if (value === undefined || value.length === 0 || value.length > 200) return { rest: [] };
  const v = value.trim();
  if (v.charCodeAt(0) === 91 /* [ */) {
    const close = v.indexOf(']');
    if (close > 0) {
      const ip = parseIp(v.slice(1, close));
      const tail = v.slice(close + 1);
      const rest = tail.startsWith(':') ? tail.slice(1).split(':') : [];
      return ip === undefined ? { rest: [] } : { ip, rest };
    }
  }
  const firstColon = v.indexOf(':');
  if (firstColon < 0) {
    const ip = parseIp(v);
    return ip === undefined ? { rest: [] } : { ip, rest: [] };
  }
  const head = v.slice(0, firstColon);
  if (isIP(head) === 4) return { ip: head, rest: v.slice(firstColon + 1).split(':') };
  // IPv6: try the longest prefix that parses, dropping one colon-field at a time.
  const whole = parseIp(v);
  if (whole !== undefined) return { ip: whole, rest: [] };
  const parts = v.split(':');
  if (parts.length > 12) return { rest: [] };
  for (let k = parts.length - 1; k >= 3; k--) {
    const ip = parseIp(parts.slice(0, k).join(':'));
    if (ip !== undefined) return { ip, rest: parts.slice(k) };
  }
  return { rest: [] };
}

/** Address and port from `ip:port` (or `[v6]:port`); the port is absent when not numeric. */
export function hostPort(value: string | undefined): { ip?: string; port?: number } {
  const { ip, rest } = splitAddress(value);
  if (ip === undefined) return {};
  const port = parsePort(rest[0]);
  return port === undefined ? { ip } : { ip, port };
}

const IPV4_AT = /(?:^|[^\d.])(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?![\d.])/g;

/** The first valid IPv4 address in free text at or after `from`, with its index, or undefined. */
export function findIpv4(
  textValue: string,
  from = 0,
): { ip: string; index: number; end: number } | undefined {
  IPV4_AT.lastIndex = from;
  for (let m = IPV4_AT.exec(textValue); m !== null; m = IPV4_AT.exec(textValue)) {
    const ip = m[1]!;
    if (isIP(ip) === 4) {
      const index = m.index + m[0].length - ip.length;
      return { ip, index, end: index + ip.length };
    }
  }
  return undefined;
}

/** The port written right after an address as `:port`, `_port` or ` port N`, or undefined. */
export function portAfter(textValue: string, end: number): number | undefined {
  const c = textValue.charCodeAt(end);
  if (c === 58 /* : */ || c === 95 /* _ */ || c === 47 /* / */) {
    let i = end + 1;
    while (
      i < textValue.length &&
      i - end <= 6 &&
      textValue.charCodeAt(i) >= 48 &&
      textValue.charCodeAt(i) <= 57
    )
      i++;
    return parsePort(textValue.slice(end + 1, i));
  }
  if (textValue.startsWith(' port ', end)) {
    const m = /^ port (\d{1,5})\b/.exec(textValue.slice(end, end + 12));
    return m ? parsePort(m[1]) : undefined;
  }
  return undefined;
}
