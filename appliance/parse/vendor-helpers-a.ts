/**
 * Helpers shared by the group-A families (Cisco, Fortinet, Palo Alto, Check Point, CEF/LEEF) that
 * `fields.ts` does not have. Pure, linear, allocation-light: they run once or a few times per line.
 */
import type { Action, ConnectionEvent } from '../../protocol/event.js';
import { isoFromEpochMs, monthIndex, normaliseAction, parseIp, parsePort } from './fields.js';
import type { ParseResult } from './types.js';

/** An event under construction: every key optional and writable until it is returned. */
export type EventDraft = { -readonly [K in keyof ConnectionEvent]?: ConnectionEvent[K] };

/** Sets `key` only when `value` carries something: events never hold `undefined` or empty text. */
export function put<K extends keyof ConnectionEvent>(
  ev: EventDraft,
  key: K,
  value: ConnectionEvent[K] | undefined,
): void {
  if (value === undefined || value === '') return;
  ev[key] = value;
}

/** Wraps a draft as a successful result; the draft must already hold `vendor` and `action`. */
export function ok(ev: EventDraft): ParseResult {
  return { ok: true, event: ev as ConnectionEvent };
}

export function fail(reason: string): ParseResult {
  return { ok: false, reason };
}

/**
 * Action words that vendors use beyond the common ones `normaliseAction` knows. Each maps by the
 * vendor's meaning: a threat log that only observed (`alert`, `detect`, `monitor`) is `other`; one
 * that stopped the traffic is `deny`/`drop`/`reject`.
 */
const EXTRA_ACTIONS: Readonly<Record<string, Action>> = {
  // FortiOS: a finished session that the policy accepted.
  timeout: 'allow',
  'server-rst': 'allow',
  'client-rst': 'allow',
  passthrough: 'allow',
  // Palo Alto / Check Point / FTD.
  'drop icmp': 'drop',
  'drop-icmp': 'drop',
  'drop-all-packets': 'drop',
  'drop-all': 'drop',
  'random-drop': 'drop',
  'reset both': 'reject',
  'reset client': 'reject',
  'reset server': 'reject',
  reset: 'reject',
  'block-ip': 'deny',
  'block-url': 'deny',
  'block-override': 'deny',
  'block with reset': 'reject',
  'interactive block': 'deny',
  'interactive block with reset': 'reject',
  prevent: 'deny',
  prevented: 'deny',
  trust: 'allow',
  trusted: 'allow',
  fastpath: 'allow',
  continue: 'allow',
  'block-continue': 'deny',
  override: 'allow',
  encrypt: 'allow',
  decrypt: 'allow',
  'would block': 'other',
  'would drop': 'other',
  sinkhole: 'deny',
  'est-allowed': 'allow',
};

/** `normaliseAction` extended with the vendor words above; `other` for anything else. */
export function vendorAction(word: string | undefined): Action {
  if (word === undefined) return 'other';
  const common = normaliseAction(word);
  if (common !== 'other') return common;
  return EXTRA_ACTIONS[word.trim().toLowerCase()] ?? 'other';
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
 * Splits CSV text (RFC 4180 quoting: `"a,b"` and `""` for a quote inside quotes) into fields.
 * Linear; a missing closing quote ends the field at the end of the text.
 */
export function splitCsv(text: string): string[] {
  const out: string[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    if (i < n && text.charCodeAt(i) === 34 /* " */) {
      i++;
      let buf = '';
      let start = i;
      while (i < n) {
        if (text.charCodeAt(i) === 34) {
          if (i + 1 < n && text.charCodeAt(i + 1) === 34) {
            buf += text.slice(start, i + 1);
            i += 2;
            start = i;
            continue;
          }
          break;
        }
        i++;
      }
      buf += text.slice(start, i);
      i++; // closing quote
      // Anything between the closing quote and the next comma is kept, as spreadsheets do.
      const comma = text.indexOf(',', i);
      if (comma < 0) {
        out.push(buf + text.slice(Math.min(i, n)));
        return out;
      }
      out.push(buf + text.slice(i, comma));
      i = comma + 1;
    } else {
      const comma = text.indexOf(',', i);
      if (comma < 0) {
        out.push(text.slice(i));
        return out;
      }
      out.push(text.slice(i, comma));
      i = comma + 1;
    }
  }
}

const ZONE_ABBREVIATIONS: Readonly<Record<string, string>> = {
  z: 'Z',
  utc: 'Z',
  gmt: 'Z',
  ut: 'Z',
  est: '-05:00',
  edt: '-04:00',
  cst: '-06:00',
  cdt: '-05:00',
  mst: '-07:00',
  mdt: '-06:00',
  pst: '-08:00',
  pdt: '-07:00',
  cet: '+01:00',
  cest: '+02:00',
  met: '+01:00',
  mest: '+02:00',
  wet: '+00:00',
  west: '+01:00',
  eet: '+02:00',
  eest: '+03:00',
  bst: '+01:00',
  jst: '+09:00',
  kst: '+09:00',
  aest: '+10:00',
  aedt: '+11:00',
};

/**
 * An ISO offset (`Z`, `+hh:mm`) for a zone the line wrote as `Z`, `UTC`, `GMT+2`, `+0200`, `-07:00`
 * or a common abbreviation; undefined when the zone is unknown (the caller then decides).
 */
export function zoneOffset(zone: string | undefined): string | undefined {
  if (zone === undefined) return undefined;
  let z = zone.trim();
  if (z === '') return undefined;
  const abbr = ZONE_ABBREVIATIONS[z.toLowerCase()];
  if (abbr !== undefined) return abbr;
  const lower = z.toLowerCase();
  if (lower.startsWith('utc') || lower.startsWith('gmt')) z = z.slice(3);
  const sign = z.charCodeAt(0);
  if (sign !== 43 && sign !== 45) return undefined;
  const digits = z.slice(1).replace(':', '');
  if (!/^\d{1,4}$/.test(digits)) return undefined;
  const hh = digits.length <= 2 ? digits.padStart(2, '0') : digits.slice(0, -2).padStart(2, '0');
  const mm = digits.length <= 2 ? '00' : digits.slice(-2);
  if (Number(hh) > 14 || Number(mm) > 59) return undefined;
  return `${z[0]}${hh}:${mm}`;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

function isoFromParts(
  year: number,
  month: number,
  day: number,
  time: string,
  zone: string | undefined,
): string | undefined {
  if (month < 0 || month > 11 || day < 1 || day > 31 || year < 1970 || year > 2200) return undefined;
  const iso = `${year}-${pad2(month + 1)}-${pad2(day)}T${time}${zone ?? 'Z'}`;
  return Number.isNaN(Date.parse(iso)) ? undefined : iso;
}

/** `hh:mm:ss[.fff]` at the start of `text`, or undefined. */
function leadingTime(text: string): string | undefined {
  const m = /^(\d{1,2}):(\d\d):(\d\d)(\.\d{1,9})?/.exec(text);
  if (m === null) return undefined;
  return `${m[1]!.padStart(2, '0')}:${m[2]}:${m[3]}${m[4] !== undefined ? m[4].slice(0, 4) : ''}`;
}

/**
 * ISO-8601 for the date forms found in log bodies: epoch s/ms/µs/ns digits;
 * `yyyy-MM-dd[T ]hh:mm:ss[.f][zone]`; `yyyy/MM/dd hh:mm:ss`; `MMM dd yyyy hh:mm:ss[.f] [zone]`;
 * `dd/MMM/yyyy:hh:mm:ss zone`. Year-less forms return undefined (the header's date is used then).
 * A date without a zone is read as UTC, as `isoFromDateTime` does.
 */
export function parseLooseDate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text.length < 8 || text.length > 48) return undefined;
  const c0 = text.charCodeAt(0);
  if (/^\d{9,19}(\.\d+)?$/.test(text)) return epochAnyToIso(text);
  if (c0 >= 48 && c0 <= 57) {
    const m = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]+|:)(\d{1,2}:\d\d:\d\d(?:\.\d+)?) ?(.*)$/.exec(
      text,
    );
    if (m !== null) {
      const time = leadingTime(m[4]!);
      if (time === undefined) return undefined;
      const zone = m[5] === '' ? undefined : zoneOffset(m[5]);
      return isoFromParts(Number(m[1]), Number(m[2]) - 1, Number(m[3]), time, zone);
    }
    const clf = /^(\d{1,2})\/([A-Za-z]{3})\/(\d{4}):(\d\d:\d\d:\d\d) ?(.*)$/.exec(text);
    if (clf !== null) {
      const month = monthIndex(clf[2]!);
      if (month === undefined) return undefined;
      const zone = clf[5] === '' ? undefined : zoneOffset(clf[5]);
      return isoFromParts(Number(clf[3]), month, Number(clf[1]), clf[4]!, zone);
    }
    return undefined;
  }
  // `MMM dd yyyy hh:mm:ss[.fff] [zone]`, the CEF `rt` form and Cisco's `logging timestamp` form.
  const m = /^([A-Za-z]{3})[a-z]* +(\d{1,2}),? +(\d{4})[ ,]+(\d{1,2}:\d\d:\d\d(?:\.\d+)?) ?(.*)$/.exec(text);
  if (m !== null) {
    const month = monthIndex(m[1]!);
    const time = leadingTime(m[4]!);
    if (month === undefined || time === undefined) return undefined;
    const zone = m[5] === '' ? undefined : zoneOffset(m[5]);
    return isoFromParts(Number(m[3]), month, Number(m[2]), time, zone);
  }
  // C `asctime`: `Mon Aug  1 03:34:23 2022`.
  const a = /^[A-Za-z]{3} +([A-Za-z]{3}) +(\d{1,2}) +(\d{1,2}:\d\d:\d\d) +(\d{4})$/.exec(text);
  if (a !== null) {
    const month = monthIndex(a[1]!);
    const time = leadingTime(a[3]!);
    if (month === undefined || time === undefined) return undefined;
    return isoFromParts(Number(a[4]), month, Number(a[2]), time, undefined);
  }
  return undefined;
}

/** Epoch digits in seconds, milliseconds, microseconds or nanoseconds (FortiOS `eventtime`). */
export function epochAnyToIso(text: string): string | undefined {
  const dot = text.indexOf('.');
  const whole = dot >= 0 ? text.slice(0, dot) : text;
  if (whole.length < 9 || whole.length > 19) return undefined;
  let ms: number;
  if (whole.length <= 10) ms = Number(text) * 1000;
  else if (whole.length <= 13) ms = Number(whole);
  else if (whole.length <= 16) ms = Math.floor(Number(whole) / 1000);
  else ms = Math.floor(Number(whole.slice(0, whole.length - 6)));
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  return isoFromEpochMs(ms);
}
