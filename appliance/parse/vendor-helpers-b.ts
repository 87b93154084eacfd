/**
 * Helpers shared by the group-B vendor families (Sophos, SonicWall, Juniper, Meraki, WatchGuard,
 * Barracuda, Stormshield, Clavister, Forcepoint, DrayTek, Zyxel). Pure, per-line, linear.
 */
import { isIP } from 'node:net';
import type { Action, ConnectionEvent } from '../../protocol/event.js';
import { EVENT_FIELD_NAMES, TEXT_MAX_LENGTH } from '../../protocol/event-fields.js';
import { isoFromDateTime, monthIndex, parseIp, parsePort } from './fields.js';
import type { ParseResult, SyslogMessage } from './types.js';

/** Mutable draft of an event; `finish` drops the keys left undefined. */
export interface EventDraft {
  ts?: string | undefined;
  src_ip?: string | undefined;
  src_port?: number | undefined;
  dst_ip?: string | undefined;
  dst_port?: number | undefined;
  proto?: string | undefined;
  action: Action;
  src_nat_ip?: string | undefined;
  src_nat_port?: number | undefined;
  dst_nat_ip?: string | undefined;
  dst_nat_port?: number | undefined;
  bytes?: number | undefined;
  packets?: number | undefined;
  rule?: string | undefined;
  interface?: string | undefined;
  direction?: string | undefined;
  category?: string | undefined;
  severity?: string | undefined;
}

/** The event's fields a parser fills in, in wire order: `vendor` comes from `finish`, the rest from
 * the summariser. */
const DRAFT_KEYS = EVENT_FIELD_NAMES.filter(
  (key): key is keyof EventDraft & (typeof EVENT_FIELD_NAMES)[number] =>
    key !== 'vendor' && key !== 'count' && key !== 'last_seen' && key !== 'src_ports',
);

/** The schema's limits for the text fields parsers fill in as they please (addresses are checked). */
const TEXT_LIMITS: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(TEXT_MAX_LENGTH).filter(([key]) => !key.endsWith('_ip')),
);

/** Builds the event with only the keys that carry a value; text is cut to the schema's limits. */
export function finish(vendor: string, draft: EventDraft): ParseResult {
  const event: Record<string, unknown> = { vendor };
  for (const key of DRAFT_KEYS) {
    const value = draft[key];
    if (value === undefined || value === '') continue;
    if (typeof value === 'string') {
      const limit = TEXT_LIMITS[key];
      event[key] = limit !== undefined && value.length > limit ? value.slice(0, limit) : value;
    } else event[key] = value;
  }
  return { ok: true, event: event as ConnectionEvent };
}

export function refuse(reason: string): ParseResult {
  return { ok: false, reason };
}

/**
 * The text to parse: the header-stripped body when it holds `anchor`, else the raw line from the
 * anchor on (header parsers sometimes mistake a vendor's leading tokens for header fields).
 * Undefined when the anchor is nowhere.
 */
export function bodyFrom(msg: SyslogMessage, anchor: string): string | undefined {
  const i = msg.msg.indexOf(anchor);
  if (i >= 0) return msg.msg.slice(i);
  const j = msg.raw.indexOf(anchor);
  return j >= 0 ? msg.raw.slice(j) : undefined;
}

/** Sum of two optional counters; undefined when both are absent. */
export function sum(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a + b;
}

/** A usable text value: not empty, not a vendor placeholder such as `N/A` or `-`. */
export function text(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '' || v === '-' || v === 'N/A' || v === 'n/a' || v === 'NA' || v === 'None' || v === 'none')
    return undefined;
  return v;
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

const formatters = new Map<string, Intl.DateTimeFormat | null>();

/** `+hh:mm` (or `Z`) for a zone written as `+0100`, `+01:00`, `+11`, `-5`, `UTC`/`GMT` or an IANA name. */
export function zoneOffset(zone: string | undefined, date?: string, time?: string): string | undefined {
  if (zone === undefined) return undefined;
  const z = zone.trim();
  if (z === '') return undefined;
  const numeric = /^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$/.exec(z);
  if (numeric) {
    const hh = numeric[2]!.padStart(2, '0');
    const mm = numeric[3] ?? '00';
    if (Number(hh) > 14 || Number(mm) > 59) return undefined;
    return `${numeric[1]}${hh}:${mm}`;
  }
  const upper = z.toUpperCase();
  if (upper === 'UTC' || upper === 'GMT' || upper === 'Z' || upper === 'UT') return 'Z';
  if (date === undefined || time === undefined || z.length > 40) return undefined;
  // A named zone (`CET`, `Europe/Paris`): its offset at that local time, via ICU. Cached per name;
  // an unknown name is remembered as null so it costs one failed construction only.
  let fmt = formatters.get(z);
  if (fmt === undefined) {
    try {
      fmt = new Intl.DateTimeFormat('en-US', { timeZone: z, timeZoneName: 'longOffset' });
    } catch {
      fmt = null;
    }
    if (formatters.size < 256) formatters.set(z, fmt);
  }
  if (fmt === null) return undefined;
  const guess = Date.parse(`${date}T${time.slice(0, 8)}Z`);
  if (Number.isNaN(guess)) return undefined;
  const name = fmt.formatToParts(guess).find((p) => p.type === 'timeZoneName')?.value ?? '';
  if (name === 'GMT') return 'Z';
  const m = /^GMT([+-]\d{2}):(\d{2})$/.exec(name);
  return m ? `${m[1]}:${m[2]}` : undefined;
}

/** ISO-8601 from a local date, time and a zone text in any form `zoneOffset` reads (UTC when absent). */
export function localIso(date: string, time: string, zone?: string): string | undefined {
  return isoFromDateTime(date, time, zoneOffset(zone, date, time) ?? 'Z');
}

/** ISO-8601 (UTC) from `Mmm dd yyyy hh:mm:ss` (Forcepoint, CEF `rt`), or undefined. */
export function isoFromMonthDayYear(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = /^([A-Za-z]{3}) {1,2}(\d{1,2}) (\d{4}) (\d{2}:\d{2}:\d{2})/.exec(value.trim());
  if (!m) return undefined;
  const month = monthIndex(m[1]!);
  if (month === undefined) return undefined;
  const date = `${m[3]}-${String(month + 1).padStart(2, '0')}-${m[2]!.padStart(2, '0')}`;
  return isoFromDateTime(date, m[4]!);
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
