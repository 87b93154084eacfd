/**
 * Syslog header splitting: RFC 5424, RFC 3164 and the broken variants firewalls really send (no PRI,
 * no hostname, ISO-8601 or epoch timestamps, Cisco sequence numbers and `%ASA-...` tags, dates with a
 * year). Hand-written scanner: one pass over the header, no regular expressions, never throws.
 *
 * When in doubt the scanner leaves text in `msg` rather than guessing: a parser can always look at
 * the body, but text wrongly taken as a header field is lost to it.
 */

import { hasAt } from './kit/text.js';
import { epochToIso, inferYear } from './kit/time.js';
import type { SyslogMessage } from './types.js';

type MutableMessage = { -readonly [K in keyof SyslogMessage]: SyslogMessage[K] };

const CH_SPACE = 32;
const CH_COLON = 58;
const CH_LT = 60;
const CH_GT = 62;
const CH_LBRACKET = 91;
const CH_RBRACKET = 93;
const CH_BACKSLASH = 92;
const CH_QUOTE = 34;
const CH_DASH = 45;
const CH_PLUS = 43;
const CH_DOT = 46;
const CH_STAR = 42;
const CH_PERCENT = 37;
const BOM = 0xfeff;

/** Longest RFC 3164 TAG we accept (RFC says 32; `%ASA-6-302013` and `name[pid]` fit, paths may not). */
const MAX_TAG = 64;
/** RFC 5424 §6: HOSTNAME is at most 255 characters. */
const MAX_HOST = 255;

// Scratch results of the timestamp scanners: set by a successful scan, read right after it. Module
// level so the per-line path allocates no result objects.
let scannedTs = '';

/** `Mmm dd hh:mm:ss`: the length of a BSD date with no year, fraction or zone. */
const BSD_PLAIN_LENGTH = 15;
// The last plain BSD date scanned, the clock it was read against (for the year) and its result.
let lastBsdText = '';
let lastBsdNowMs = Number.NaN;
let lastBsdTs = '';

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Value of `len` decimal digits at `at`, or -1 when any of them is not a digit. */
function digitsAt(s: string, at: number, len: number): number {
  if (at + len > s.length) return -1;
  let v = 0;
  for (let i = at; i < at + len; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function pad2(v: number): string {
  return v < 10 ? `0${v}` : `${v}`;
}

/** Month index from the three letters at `at` (any case), or -1. */
function monthAt(s: string, at: number): number {
  if (at + 3 > s.length) return -1;
  const key =
    ((s.charCodeAt(at) | 32) << 16) | ((s.charCodeAt(at + 1) | 32) << 8) | (s.charCodeAt(at + 2) | 32);
  switch (key) {
    case 0x6a616e: // jan
      return 0;
    case 0x666562: // feb
      return 1;
    case 0x6d6172: // mar
      return 2;
    case 0x617072: // apr
      return 3;
    case 0x6d6179: // may
      return 4;
    case 0x6a756e: // jun
      return 5;
    case 0x6a756c: // jul
      return 6;
    case 0x617567: // aug
      return 7;
    case 0x736570: // sep
      return 8;
    case 0x6f6374: // oct
      return 9;
    case 0x6e6f76: // nov
      return 10;
    case 0x646563: // dec
      return 11;
    default:
      return -1;
  }
}

/** End of a `.123` / `,123` fraction starting at `at` (or `at` when there is none). */
function fractionEnd(s: string, at: number): number {
  const c = s.charCodeAt(at);
  if ((c !== CH_DOT && c !== 44) || !isDigit(s.charCodeAt(at + 1))) return at;
  let i = at + 1;
  while (i < s.length && i < at + 10 && isDigit(s.charCodeAt(i))) i++;
  return i;
}

/** `hh:mm:ss` at `at` checked for range; returns seconds-of-day or -1. */
function timeAt(s: string, at: number): number {
  const h = digitsAt(s, at, 2);
  if (h < 0 || h > 23 || s.charCodeAt(at + 2) !== CH_COLON) return -1;
  const m = digitsAt(s, at + 3, 2);
  if (m < 0 || m > 59 || s.charCodeAt(at + 5) !== CH_COLON) return -1;
  const sec = digitsAt(s, at + 6, 2);
  // RFC 5424 §6.2.3.1: no leap seconds (JavaScript dates cannot hold :60 either).
  if (sec < 0 || sec > 59) return -1;
  return h * 3600 + m * 60 + sec;
}

/** True when position `at` ends a token: end of text, a space or a colon. */
function boundary(s: string, at: number): boolean {
  if (at >= s.length) return true;
  const c = s.charCodeAt(at);
  return c === CH_SPACE || c === CH_COLON;
}

/**
 * ISO-8601 `YYYY-MM-DD[T ]hh:mm:ss[.fff][Z|±hh:mm|±hhmm|±hh]` at `at` (RFC 5424 §6.2.3 is the
 * strict subset). Sets `scannedTs` (offset `Z` when the sender gave none) and returns the end, or -1.
 */
function scanIso(s: string, at: number): number {
  const year = digitsAt(s, at, 4);
  if (year < 0 || s.charCodeAt(at + 4) !== CH_DASH) return -1;
  const month = digitsAt(s, at + 5, 2);
  if (month < 1 || month > 12 || s.charCodeAt(at + 7) !== CH_DASH) return -1;
  const day = digitsAt(s, at + 8, 2);
  if (day < 1 || day > 31) return -1;
  const sep = s.charCodeAt(at + 10);
  if (sep !== 84 /* T */ && sep !== 116 /* t */ && sep !== CH_SPACE) return -1;
  if (timeAt(s, at + 11) < 0) return -1;
  let i = fractionEnd(s, at + 19);
  const fraction = i > at + 19 ? `.${s.slice(at + 20, i)}` : '';
  let zone = 'Z';
  const z = s.charCodeAt(i);
  if (z === 90 /* Z */ || z === 122 /* z */) {
    i++;
  } else if (z === CH_PLUS || z === CH_DASH) {
    const zh = digitsAt(s, i + 1, 2);
    if (zh >= 0 && zh <= 14) {
      if (s.charCodeAt(i + 3) === CH_COLON && digitsAt(s, i + 4, 2) >= 0) {
        zone = s.slice(i, i + 6);
        i += 6;
      } else if (digitsAt(s, i + 3, 2) >= 0) {
        zone = `${s.slice(i, i + 3)}:${s.slice(i + 3, i + 5)}`;
        i += 5;
      } else {
        zone = `${s.slice(i, i + 3)}:00`;
        i += 3;
      }
    }
  }
  if (!boundary(s, i)) return -1;
  scannedTs = `${s.slice(at, at + 10)}T${s.slice(at + 11, at + 19)}${fraction}${zone}`;
  return i;
}

/**
 * BSD date `Mmm dd [yyyy ]hh:mm:ss[.fff][ yyyy][ UTC]` at `at` (day may be space-padded). Year-less
 * dates get the year closest to `now`. The sender's zone is unknown unless it says UTC/GMT, so the
 * time is taken as UTC either way. Sets `scannedTs` and returns the end, or -1.
 */
function scanBsd(s: string, at: number, now: Date): number {
  // Lines arrive in time order: most repeat the previous line's `Mmm dd hh:mm:ss`. When the same 15
  // characters are followed by what ends the scan right there (end of text, `:`, or a space and
  // neither a year nor `UTC`/`GMT`), the full scan would give the same date again.
  if (lastBsdText !== '' && now.getTime() === lastBsdNowMs && hasAt(s, at, lastBsdText)) {
    const after = at + BSD_PLAIN_LENGTH;
    const c = s.charCodeAt(after);
    if (after >= s.length || c === CH_COLON) {
      scannedTs = lastBsdTs;
      return after;
    }
    if (c === CH_SPACE) {
      const next = s.charCodeAt(after + 1);
      if (!isDigit(next) && next !== 85 /* U */ && next !== 71 /* G */) {
        scannedTs = lastBsdTs;
        return after;
      }
    }
  }
  const month = monthAt(s, at);
  if (month < 0 || s.charCodeAt(at + 3) !== CH_SPACE) return -1;
  let i = at + 4;
  if (s.charCodeAt(i) === CH_SPACE) i++;
  let day: number;
  if (isDigit(s.charCodeAt(i)) && isDigit(s.charCodeAt(i + 1))) {
    day = digitsAt(s, i, 2);
    i += 2;
  } else if (isDigit(s.charCodeAt(i))) {
    day = s.charCodeAt(i) - 48;
    i += 1;
  } else return -1;
  if (day < 1 || day > 31 || s.charCodeAt(i) !== CH_SPACE) return -1;
  i++;
  let year = -1;
  const maybeYear = digitsAt(s, i, 4);
  if (maybeYear >= 1970 && s.charCodeAt(i + 4) === CH_SPACE) {
    year = maybeYear;
    i += 5;
  }
  // Some devices write a one-digit hour (` 9:05:01`); accept it by padding.
  let secondsOfDay = timeAt(s, i);
  let timeText: string;
  if (secondsOfDay >= 0) {
    timeText = s.slice(i, i + 8);
    i += 8;
  } else if (isDigit(s.charCodeAt(i)) && s.charCodeAt(i + 1) === CH_COLON) {
    secondsOfDay = timeAt(`0${s.slice(i, i + 7)}`, 0);
    if (secondsOfDay < 0) return -1;
    timeText = `0${s.slice(i, i + 7)}`;
    i += 7;
  } else return -1;
  const fracEnd = fractionEnd(s, i);
  const fraction = fracEnd > i ? `.${s.slice(i + 1, fracEnd)}` : '';
  i = fracEnd;
  // Year after the time (`Mmm dd hh:mm:ss yyyy`, ctime style).
  if (year < 0 && s.charCodeAt(i) === CH_SPACE) {
    const trailingYear = digitsAt(s, i + 1, 4);
    if (trailingYear >= 1970 && trailingYear < 2200 && boundary(s, i + 5)) {
      year = trailingYear;
      i += 5;
    }
  }
  // Cisco IOS `service timestamps ... show-timezone`: ` UTC` / ` GMT` after the time.
  if (s.charCodeAt(i) === CH_SPACE && i + 4 <= s.length) {
    const w = s.slice(i + 1, i + 4);
    if ((w === 'UTC' || w === 'GMT') && boundary(s, i + 4)) i += 4;
  }
  if (!boundary(s, i)) return -1;
  const inferred = year < 0;
  if (inferred) year = inferYear(month, day, now);
  scannedTs = `${year}-${pad2(month + 1)}-${pad2(day)}T${timeText}${fraction}Z`;
  // Remembered only for the plain form (no year, fraction or zone), the one the shortcut checks for.
  if (inferred && i - at === BSD_PLAIN_LENGTH && fraction === '' && timeText === s.slice(at + 7, i)) {
    lastBsdText = s.slice(at, i);
    lastBsdNowMs = now.getTime();
    lastBsdTs = scannedTs;
  }
  return i;
}

/** Unix epoch seconds (10 digits, optional fraction) or milliseconds (13 digits) at `at`. */
function scanEpoch(s: string, at: number): number {
  let i = at;
  while (i < s.length && i < at + 14 && isDigit(s.charCodeAt(i))) i++;
  const len = i - at;
  if (len !== 10 && len !== 13) return -1;
  if (len === 10) i = fractionEnd(s, i);
  if (i < s.length && s.charCodeAt(i) !== CH_SPACE) return -1;
  const value = Number(s.slice(at, i).replace(',', '.'));
  // Plausibility: 2001-09-09 onwards, so counters and ids are not read as dates.
  if (!(value >= 1e9)) return -1;
  const iso = epochToIso(value);
  if (iso === undefined) return -1;
  scannedTs = iso;
  return i;
}

/** End of the token starting at `at` (next space or end of text). */
function tokenEnd(s: string, at: number): number {
  const sp = s.indexOf(' ', at);
  return sp < 0 ? s.length : sp;
}

function skipSpaces(s: string, at: number): number {
  let i = at;
  while (i < s.length && s.charCodeAt(i) === CH_SPACE) i++;
  return i;
}

/** A plausible RFC 3164 HOSTNAME: letters, digits, `.-_:` (IPv6), nothing else. */
function isHostToken(s: string, from: number, to: number): boolean {
  if (to <= from || to - from > MAX_HOST) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 48 && c <= 58) || // 0-9 and ':'
      (c >= 65 && c <= 90) ||
      (c >= 97 && c <= 122) ||
      c === CH_DOT ||
      c === CH_DASH ||
      c === 95; // _
    if (!ok) return false;
  }
  return true;
}

/**
 * A TAG token `name:` or `name[pid]:` spanning [from, to) (`to` is the index after the colon).
 * Sets `app`/`procId` on `out` and returns true when it is one.
 */
function takeTag(s: string, from: number, to: number, out: MutableMessage): boolean {
  const len = to - from;
  if (len < 2 || len > MAX_TAG + 1 || s.charCodeAt(to - 1) !== CH_COLON) return false;
  let bracket = -1;
  for (let i = from; i < to - 1; i++) {
    const c = s.charCodeAt(i);
    if (c === 61 /* = */ || c === CH_QUOTE || c === 44 /* , */ || c === CH_LT || c === CH_GT) return false;
    if (c === CH_LBRACKET && bracket < 0) bracket = i;
  }
  if (bracket === from) return false;
  if (bracket > 0) {
    if (s.charCodeAt(to - 2) !== CH_RBRACKET) return false;
    out.app = s.slice(from, bracket);
    if (to - 2 > bracket + 1) out.procId = s.slice(bracket + 1, to - 2);
  } else {
    out.app = s.slice(from, to - 1);
  }
  return true;
}

/**
 * RFC 5424 §6: `VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]`,
 * starting after `<PRI>1 `. Returns false (leaving `out` untouched but for harmless fields) when the
 * text does not follow it, so the caller can fall back to the BSD scanner.
 */
function parse5424(s: string, at: number, out: MutableMessage): boolean {
  const n = s.length;
  let i = at;
  // TIMESTAMP
  let ts: string | undefined;
  if (s.charCodeAt(i) === CH_DASH && s.charCodeAt(i + 1) === CH_SPACE) {
    i += 2;
  } else {
    const end = scanIso(s, i);
    if (end < 0 || s.charCodeAt(end) !== CH_SPACE) return false;
    ts = scannedTs;
    i = end + 1;
  }
  // HOSTNAME APP-NAME PROCID MSGID: four space-separated tokens, `-` for NILVALUE.
  const fields: (string | undefined)[] = [undefined, undefined, undefined, undefined];
  for (let f = 0; f < 4; f++) {
    const end = tokenEnd(s, i);
    if (end === i || end >= n) return false;
    fields[f] = end === i + 1 && s.charCodeAt(i) === CH_DASH ? undefined : s.slice(i, end);
    i = end + 1;
  }
  // STRUCTURED-DATA: `-` or one or more `[id param="value" ...]`; `"`, `\` and `]` are escaped with
  // `\` inside values (§6.3.3).
  let sd: string | undefined;
  if (s.charCodeAt(i) === CH_DASH && (i + 1 === n || s.charCodeAt(i + 1) === CH_SPACE)) {
    i += 1;
  } else if (s.charCodeAt(i) === CH_LBRACKET) {
    const sdStart = i;
    let inQuote = false;
    let closedAt = -1;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (inQuote) {
        if (c === CH_BACKSLASH) i++;
        else if (c === CH_QUOTE) inQuote = false;
      } else if (c === CH_QUOTE) {
        inQuote = true;
      } else if (c === CH_RBRACKET) {
        closedAt = i;
        if (s.charCodeAt(i + 1) !== CH_LBRACKET) break;
      }
      i++;
    }
    if (closedAt < 0 || i >= n + 1) return false;
    i = closedAt + 1;
    sd = s.slice(sdStart, i);
  } else {
    return false;
  }
  if (i < n && s.charCodeAt(i) !== CH_SPACE) return false;
  let msgStart = i < n ? i + 1 : n;
  // §6.4: MSG may start with a UTF-8 BOM announcing UTF-8; it is not part of the text.
  if (s.charCodeAt(msgStart) === BOM) msgStart++;
  if (ts !== undefined) out.ts = ts;
  if (fields[0] !== undefined) out.host = fields[0];
  if (fields[1] !== undefined) out.app = fields[1];
  if (fields[2] !== undefined) out.procId = fields[2];
  if (fields[3] !== undefined) out.msgId = fields[3];
  if (sd !== undefined) out.structuredData = sd;
  out.msg = s.slice(msgStart);
  return true;
}

/**
 * Splits one syslog message into header fields and body. `now` resolves year-less dates. `raw` in
 * the result is the message with a leading BOM and trailing NUL/CR/LF (framing debris) removed.
 */
export function parseSyslogHeader(raw: string, now: Date): SyslogMessage {
  let start = 0;
  let end = raw.length;
  if (end > 0 && raw.charCodeAt(0) === BOM) start = 1;
  while (end > start) {
    const c = raw.charCodeAt(end - 1);
    if (c === 0 || c === 10 || c === 13) end--;
    else break;
  }
  const s = start === 0 && end === raw.length ? raw : raw.slice(start, end);
  const n = s.length;
  const out: MutableMessage = { msg: s, raw: s };

  // PRI (RFC 5424 §6.2.1): `<` 1-3 digits `>`, at most 191.
  let p = 0;
  if (n > 2 && s.charCodeAt(0) === CH_LT) {
    let v = 0;
    let i = 1;
    while (i < n && i <= 3 && isDigit(s.charCodeAt(i))) {
      v = v * 10 + s.charCodeAt(i) - 48;
      i++;
    }
    if (i > 1 && s.charCodeAt(i) === CH_GT && v <= 191) {
      out.pri = v;
      p = i + 1;
    }
  }

  if (p > 0 && s.charCodeAt(p) === 49 /* 1 */ && s.charCodeAt(p + 1) === CH_SPACE) {
    if (parse5424(s, p + 2, out)) return out;
  }

  p = skipSpaces(s, p);
  // Cisco `service sequence-numbers`: `123: ` before the date.
  if (isDigit(s.charCodeAt(p))) {
    let i = p;
    while (i < n && i < p + 10 && isDigit(s.charCodeAt(i))) i++;
    if (s.charCodeAt(i) === CH_COLON && s.charCodeAt(i + 1) === CH_SPACE) p = skipSpaces(s, i + 2);
  }
  // Cisco IOS clock markers: `*` (clock not authoritative) or `.` (lost sync) before the date.
  let q = p;
  const marker = s.charCodeAt(q);
  if (marker === CH_STAR || marker === CH_DOT) q++;

  let tsEnd = -1;
  const c0 = s.charCodeAt(q);
  if (isDigit(c0)) {
    tsEnd = scanIso(s, q);
    if (tsEnd < 0) tsEnd = scanEpoch(s, q);
  } else if ((c0 | 32) >= 97 && (c0 | 32) <= 122) {
    tsEnd = scanBsd(s, q, now);
  }

  if (tsEnd < 0) {
    // No date. A Cisco `%FACILITY-SEV-MNEMONIC:` or `name[pid]:` tag may still lead the text.
    const te = tokenEnd(s, p);
    if (
      s.charCodeAt(te - 1) === CH_COLON &&
      (s.charCodeAt(p) === CH_PERCENT || s.charCodeAt(te - 2) === CH_RBRACKET) &&
      takeTag(s, p, te, out)
    ) {
      out.msg = s.slice(skipSpaces(s, te));
      return out;
    }
    if (p > 0) out.msg = s.slice(p);
    return out;
  }

  out.ts = scannedTs;
  let i = tsEnd;
  // ASA/IOS put a colon right after the date (`Mar 01 2026 12:00:00: %ASA-...`).
  if (s.charCodeAt(i) === CH_COLON) i++;
  i = skipSpaces(s, i);
  if (i >= n) {
    out.msg = '';
    return out;
  }

  // First token: a TAG (no hostname sent), a HOSTNAME, or already the message.
  let te = tokenEnd(s, i);
  if (s.charCodeAt(te - 1) === CH_COLON && takeTag(s, i, te, out)) {
    out.msg = s.slice(skipSpaces(s, te));
    return out;
  }
  if (!isHostToken(s, i, te)) {
    out.msg = s.slice(i);
    return out;
  }
  out.host = s.slice(i, te);
  i = skipSpaces(s, te);
  // ASA `logging device-id`: `fw01 : %ASA-...`.
  if (s.charCodeAt(i) === CH_COLON && (i + 1 === n || s.charCodeAt(i + 1) === CH_SPACE))
    i = skipSpaces(s, i + 1);
  te = tokenEnd(s, i);
  if (te > i && s.charCodeAt(te - 1) === CH_COLON && takeTag(s, i, te, out)) i = skipSpaces(s, te);
  out.msg = s.slice(i);
  return out;
}
