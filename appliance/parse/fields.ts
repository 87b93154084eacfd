/**
 * Small pure helpers shared by the parser families. Everything here runs per line: no regex with
 * nested quantifiers, no allocation that the caller did not ask for.
 */
import { isIPv6 } from 'node:net';
import type { Action } from '../../protocol/event.js';

const PROTO_BY_NUMBER: Readonly<Record<string, string>> = {
  '1': 'icmp',
  '2': 'igmp',
  '4': 'ipip',
  '6': 'tcp',
  '17': 'udp',
  '41': 'ipv6',
  '47': 'gre',
  '50': 'esp',
  '51': 'ah',
  '58': 'ipv6-icmp',
  '89': 'ospf',
  '103': 'pim',
  '112': 'vrrp',
  '132': 'sctp',
};

const PROTO_ALIASES: Readonly<Record<string, string>> = {
  icmp6: 'ipv6-icmp',
  icmpv6: 'ipv6-icmp',
  'ipv6-icmp': 'ipv6-icmp',
  'icmp-v6': 'ipv6-icmp',
};

/** Lower-case IANA keyword for a protocol given as a name or a number; undefined when empty. */
export function normaliseProto(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  // Nearly every line says one of these: skip the trim, lower-casing and table look-ups.
  switch (value) {
    case '6':
    case 'tcp':
    case 'TCP':
      return 'tcp';
    case '17':
    case 'udp':
    case 'UDP':
      return 'udp';
    case '1':
    case 'icmp':
    case 'ICMP':
      return 'icmp';
  }
  const v = value.trim().toLowerCase();
  if (v === '') return undefined;
  const byNumber = PROTO_BY_NUMBER[v];
  if (byNumber !== undefined) return byNumber;
  const alias = PROTO_ALIASES[v];
  if (alias !== undefined) return alias;
  // "TCP/443"-style or "proto:tcp" values: keep the protocol word only.
  const cut = v.search(/[/:\s]/);
  return cut > 0 ? normaliseProto(v.slice(0, cut)) : v.slice(0, 16);
}

const ACTION_WORDS: Readonly<Record<string, Action>> = {
  allow: 'allow',
  allowed: 'allow',
  accept: 'allow',
  accepted: 'allow',
  permit: 'allow',
  permitted: 'allow',
  pass: 'allow',
  passed: 'allow',
  built: 'allow',
  teardown: 'allow',
  close: 'allow',
  start: 'allow',
  deny: 'deny',
  denied: 'deny',
  block: 'deny',
  blocked: 'deny',
  drop: 'drop',
  dropped: 'drop',
  discard: 'drop',
  discarded: 'drop',
  reject: 'reject',
  rejected: 'reject',
  'reset-both': 'reject',
  'reset-client': 'reject',
  'reset-server': 'reject',
};

/** Folds a vendor's action word into our five actions; `other` for anything unknown. */
export function normaliseAction(value: string | undefined): Action {
  if (value === undefined) return 'other';
  return ACTION_WORDS[value.trim().toLowerCase()] ?? 'other';
}

/** A port number 0-65535 from text, or undefined. */
export function parsePort(value: string | undefined): number | undefined {
  if (value === undefined || value.length === 0 || value.length > 5) return undefined;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return n <= 65535 ? n : undefined;
}

/** A non-negative safe integer from text (byte and packet counters), or undefined. */
export function parseCount(value: string | undefined): number | undefined {
  if (value === undefined || value.length === 0 || value.length > 15) return undefined;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return n;
}

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

/** `text.startsWith(word, at)` for a short `word`: a loop the compiler inlines costs less than the call. */
export function hasAt(text: string, at: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) if (text.charCodeAt(at + k) !== word.charCodeAt(k)) return false;
  return true;
}

// The keys of the previous `parseKeyValuesInto` call, by pair index, and the separator they were
// split with. A source writes the same keys in the same order line after line: a key found in place
// at the same index reuses the previous string and slot (no slice, no look-up). Only the fixed-key
// reading guesses: keeping every key of lines that each have their own layout (the `Map` callers'
// vendors, mixed in the benchmarks) costs more than the guesses save.
let previousKeys: string[] = [];
const MAX_KEY_GUESSES = 64;
let previousSeparator = '';
// For `parseKeyValuesInto`: the slot of each guessed key in `guessSlotsOf` (-2: not looked up yet).
const guessSlots = new Int32Array(MAX_KEY_GUESSES).fill(-2);
let guessSlotsOf: ReadonlyMap<string, number> | undefined;
const NO_GUESSES: string[] = [];

/**
 * Splits `key=value key2="quoted value" key3=` text into a map. Values may be double-quoted (with
 * backslash escapes) or run to the next separator. Keys are kept as written. Linear in the line
 * length: the next `=` and the next separator are found with `indexOf` (a `memchr`) and remembered
 * until passed, so the characters of keys and values are not visited one by one.
 */
export function parseKeyValues(text: string, separator = ' '): Map<string, string> {
  const out = new Map<string, string>();
  scanKeyValues(text, separator, out, undefined, undefined);
  return out;
}

/**
 * `parseKeyValues` for a parser that reads a fixed set of keys: `values[slots.get(key)]` becomes what
 * `parseKeyValues(text, separator).get(key)` would return, for every key in `slots` (the rest of
 * `values` is cleared). Other pairs are skipped without copying their values, and no map is built.
 */
export function parseKeyValuesInto(
  text: string,
  separator: string,
  slots: ReadonlyMap<string, number>,
  values: (string | undefined)[],
): void {
  values.fill(undefined);
  scanKeyValues(text, separator, undefined, slots, values);
}

/** Fills `out` with every pair (when given), else `values` with the pairs `slots` names. */
function scanKeyValues(
  text: string,
  separator: string,
  out: Map<string, string> | undefined,
  slots: ReadonlyMap<string, number> | undefined,
  values: (string | undefined)[] | undefined,
): void {
  const sep = separator.charCodeAt(0);
  const sepText = separator.length > 0 ? separator.charAt(0) : '';
  let guesses = NO_GUESSES;
  if (slots !== undefined) {
    // A key holds neither `=` nor the separator it was split with; one split with another separator
    // (a comma-separated key may hold spaces) is not a valid guess.
    if (sepText !== previousSeparator) {
      previousKeys = [];
      previousSeparator = sepText;
    }
    if (slots !== guessSlotsOf) {
      guessSlots.fill(-2);
      guessSlotsOf = slots;
    }
    guesses = previousKeys;
  }
  const n = text.length;
  let nextEq = -1; // first `=` at or after the scan position (n when none), valid while >= i
  let nextSep = -1; // likewise for the separator
  let nextBackslash = -1; // and for `\` (quoted values)
  let pair = 0;
  let i = 0;
  while (i < n) {
    let c = text.charCodeAt(i);
    while (c === sep || c === 32) {
      if (++i >= n) return;
      c = text.charCodeAt(i);
    }
    let key: string;
    let guessed = false;
    const guess = pair < guesses.length ? guesses[pair]! : undefined;
    if (guess !== undefined && text.charCodeAt(i + guess.length) === 61 /* = */ && hasAt(text, i, guess)) {
      // The `=` right after the guess is the first at or after `i`, and no separator lies before it.
      key = guess;
      guessed = true;
      nextEq = i + guess.length;
    } else {
      if (nextEq < i) {
        nextEq = text.indexOf('=', i);
        if (nextEq < 0) nextEq = n;
      }
      if (nextSep < i) {
        nextSep = sepText === '' ? n : text.indexOf(sepText, i);
        if (nextSep < 0) nextSep = n;
      }
      if (nextSep < nextEq || nextEq === n) {
        i = nextSep < nextEq ? nextSep : n; // a bare word, not a pair
        continue;
      }
      key = text.slice(i, nextEq);
      if (pair < MAX_KEY_GUESSES && guesses !== NO_GUESSES) {
        guesses[pair] = key;
        guessSlots[pair] = -2;
      }
    }
    // Where the value goes: -1 for nowhere (an empty key, or one the caller did not ask for).
    let slot: number;
    if (key.length === 0) slot = -1;
    else if (slots === undefined) slot = 0;
    else if (guessed && guessSlots[pair]! !== -2) slot = guessSlots[pair]!;
    else {
      slot = slots.get(key) ?? -1;
      if (pair < MAX_KEY_GUESSES) guessSlots[pair] = slot;
    }
    pair++;
    i = nextEq + 1;
    let value = '';
    if (i < n && text.charCodeAt(i) === 34 /* " */) {
      i++;
      let close = text.indexOf('"', i);
      if (close < 0) close = n;
      if (nextBackslash < i) {
        nextBackslash = text.indexOf('\\', i);
        if (nextBackslash < 0) nextBackslash = n;
      }
      if (nextBackslash >= close) {
        if (slot >= 0) value = text.slice(i, close);
        i = close + 1;
      } else {
        let buf = '';
        let start = i;
        while (i < n && text.charCodeAt(i) !== 34) {
          if (text.charCodeAt(i) === 92 /* \ */ && i + 1 < n) {
            buf += text.slice(start, i);
            i++;
            start = i;
          }
          i++;
        }
        value = buf + text.slice(start, i);
        i++;
      }
    } else {
      if (nextSep < i) {
        nextSep = sepText === '' ? n : text.indexOf(sepText, i);
        if (nextSep < 0) nextSep = n;
      }
      if (slot >= 0) value = text.slice(i, nextSep);
      i = nextSep;
    }
    if (slot < 0) continue;
    if (out !== undefined) out.set(key, value);
    else values![slot] = value;
  }
}

const MONTHS: Readonly<Record<string, number>> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

/** Month index 0-11 from an English three-letter abbreviation (any case), or undefined. */
export function monthIndex(abbrev: string): number | undefined {
  return MONTHS[abbrev.slice(0, 3).toLowerCase()];
}

/**
 * The year for a year-less date (RFC 3164 `Mmm dd hh:mm:ss`): the year that puts the date closest to
 * `now`, so a December line read on 1 January is last year's and a January line read on
 * 31 December is next year's.
 */
export function inferYear(month: number, day: number, now: Date): number {
  const year = now.getUTCFullYear();
  const candidate = Date.UTC(year, month, day);
  const diff = candidate - now.getTime();
  const halfYearMs = 183 * 24 * 3600 * 1000;
  if (diff > halfYearMs) return year - 1;
  if (diff < -halfYearMs) return year + 1;
  return year;
}

/** Year 10000 in epoch ms: below it `toISOString` writes the plain `YYYY-MM-DDTHH:mm:ss.sssZ`. */
const YEAR_10000_MS = 253402300800000;

function pad(n: number, width: number): string {
  const s = String(n);
  return s.length >= width ? s : '0000'.slice(0, width - s.length) + s;
}

/**
 * `new Date(ms).toISOString()` for a positive finite `ms`, or undefined when the date is invalid.
 * Years 1970-9999 are formatted here (days to civil date after H. Hinnant's `civil_from_days`):
 * building a Date and formatting it costs several times more, once per line.
 */
export function isoFromEpochMs(ms: number): string | undefined {
  if (!(ms > 0 && ms < YEAR_10000_MS)) {
    const d = new Date(ms);
    return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
  }
  const t = Math.floor(ms); // Date's TimeClip truncates; the same as floor for positive values
  const days = Math.floor(t / 86400000);
  let rest = t - days * 86400000;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hh = Math.floor(rest / 3600000);
  rest -= hh * 3600000;
  const mm = Math.floor(rest / 60000);
  rest -= mm * 60000;
  const ss = Math.floor(rest / 1000);
  const fff = rest - ss * 1000;
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}.${pad(fff, 3)}Z`;
}

/** ISO-8601 text for an epoch in seconds or milliseconds, or undefined when out of range. */
export function epochToIso(value: string | number): string | undefined {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || n <= 0) return undefined;
  const ms = n < 1e11 ? n * 1000 : n < 1e14 ? n : n / 1000; // s, ms or µs
  return isoFromEpochMs(ms);
}

/**
 * Normalises a date-time the line wrote as `YYYY-MM-DD[T ]hh:mm:ss[.fff][Z|±hh[:]mm]` to ISO-8601.
 * Without a zone the time is taken as UTC (`Z`): the device's zone is unknown here.
 */
export function isoFromDateTime(date: string, time: string, zone?: string): string | undefined {
  if (date.length !== 10 || time.length < 8) return undefined;
  let z = zone ?? 'Z';
  if (z !== 'Z' && /^[+-]\d{4}$/.test(z)) z = `${z.slice(0, 3)}:${z.slice(3)}`;
  else if (z !== 'Z' && !/^[+-]\d{2}:\d{2}$/.test(z)) z = 'Z';
  const iso = `${date}T${time}${z}`;
  return Number.isNaN(Date.parse(iso)) ? undefined : iso;
}
