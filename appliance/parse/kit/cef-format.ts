/**
 * ArcSight CEF and IBM QRadar LEEF: the tokenizers and the mapping of their standard keys to the
 * normalised event, shared by the generic `cef`/`leef` families and by the vendor families whose
 * products also export these forms (Palo Alto, Check Point, Fortinet, ...).
 *
 * CEF: "Implementing ArcSight Common Event Format (CEF)" rev. 25: `CEF:Version|Device Vendor|
 * Device Product|Device Version|Signature ID|Name|Severity|Extension`, `\|` and `\\` escaped in the
 * header, `\=`, `\\`, `\n`, `\r` in extension values, values may hold spaces.
 * LEEF: IBM "Log Event Extended Format" 1.0 (`LEEF:1.0|Vendor|Product|Version|EventID|` then
 * tab-separated `key=value`) and 2.0 (a sixth header field names the delimiter: one character or
 * `xHH`/`0xHH`).
 */
import type { Action } from '../../../protocol/event.js';
import { vendorAction } from './action.js';
import { parseIp } from './address.js';
import { type EventDraft, put } from './draft.js';
import { parseCount, parsePort, sumCounts } from './number.js';
import { normaliseProto } from './proto.js';
import { epochToIso, parseLooseDate } from './time.js';

export interface CefRecord {
  readonly version: string;
  readonly vendor: string;
  readonly product: string;
  readonly deviceVersion: string;
  readonly signatureId: string;
  readonly name: string;
  readonly severity: string;
  readonly ext: Map<string, string>;
}

export interface LeefRecord {
  readonly version: string;
  readonly vendor: string;
  readonly product: string;
  readonly deviceVersion: string;
  readonly eventId: string;
  readonly attrs: Map<string, string>;
}

/**
 * Where `CEF:` / `LEEF:` first occur in a text, remembered for the last two texts asked about (a
 * message's body and its raw line). Detection asks about the same line from a dozen families; the
 * memo turns a dozen scans into one. Pure: the answer depends on the text only.
 */
let cefMemoA = '';
let cefAtA = -1;
let cefMemoB = '';
let cefAtB = -1;

export function cefIndex(text: string): number {
  if (text === cefMemoA) return cefAtA;
  if (text === cefMemoB) return cefAtB;
  cefMemoB = cefMemoA;
  cefAtB = cefAtA;
  cefMemoA = text;
  cefAtA = text.indexOf('CEF:');
  return cefAtA;
}

let leefMemoA = '';
let leefAtA = -1;
let leefMemoB = '';
let leefAtB = -1;

export function leefIndex(text: string): number {
  if (text === leefMemoA) return leefAtA;
  if (text === leefMemoB) return leefAtB;
  leefMemoB = leefMemoA;
  leefAtB = leefAtA;
  leefMemoA = text;
  leefAtA = text.indexOf('LEEF:');
  return leefAtA;
}

/**
 * Where the CEF version field starts (just after `CEF:`), or -1. Also accepts a line that begins
 * with the version itself (`0|Vendor|...`): collectors that strip `CEF:` as a prefix send that.
 */
export function cefStart(text: string): number {
  const at = cefIndex(text);
  if (at >= 0) {
    // Only a real header: `CEF:` then a version digit (some senders put a space between).
    let i = at + 4;
    if (text.charCodeAt(i) === 32) i++;
    const c = text.charCodeAt(i);
    return c >= 48 && c <= 57 ? i : -1;
  }
  const c0 = text.charCodeAt(0);
  return c0 >= 48 && c0 <= 57 && text.charCodeAt(1) === 124 /* | */ ? 0 : -1;
}

export function leefStart(text: string): number {
  const at = leefIndex(text);
  if (at < 0) return -1;
  const c = text.charCodeAt(at + 5);
  return c >= 48 && c <= 57 ? at : -1;
}

/** Vendor and product of a CEF line without parsing the rest: for cheap vendor detection. */
export function cefVendorProduct(text: string): { vendor: string; product: string } | undefined {
  const at = cefStart(text);
  if (at < 0) return undefined;
  let p1 = text.indexOf('|', at);
  if (p1 < 0) return undefined;
  // Some exporters write an empty field before the vendor (`CEF:0||Check Point|...`).
  if (text.charCodeAt(p1 + 1) === 124) p1++;
  const p2 = text.indexOf('|', p1 + 1);
  const p3 = p2 < 0 ? -1 : text.indexOf('|', p2 + 1);
  if (p3 < 0) return undefined;
  return { vendor: text.slice(p1 + 1, p2), product: text.slice(p2 + 1, p3) };
}

/** Splits a CEF line into its header fields and extension map; undefined when it is not CEF. */
export function parseCef(text: string): CefRecord | undefined {
  const at = cefStart(text);
  if (at < 0) return undefined;
  const n = text.length;
  const header: string[] = [];
  let i = at;
  let buf = '';
  let start = i;
  let shifted = false;
  while (i < n && header.length < 7) {
    const c = text.charCodeAt(i);
    if (c === 92 /* \ */ && i + 1 < n) {
      const next = text.charCodeAt(i + 1);
      if (next === 124 /* | */ || next === 92) {
        buf += text.slice(start, i);
        start = i + 1;
        i += 2;
        continue;
      }
    } else if (c === 124 /* | */) {
      header.push(buf + text.slice(start, i));
      buf = '';
      start = i + 1;
      // An empty field before the vendor (`CEF:0||Check Point|...`) is dropped: one more to read.
      if (header.length === 2 && header[1] === '' && !shifted) {
        header.pop();
        shifted = true;
      }
    }
    i++;
  }
  if (header.length < 7) {
    // Some senders omit the trailing pipe when there is no extension.
    if (header.length === 6) header.push(buf + text.slice(start, i));
    else return undefined;
    i = n;
  }
  return {
    version: header[0]!,
    vendor: header[1]!,
    product: header[2]!,
    deviceVersion: header[3]!,
    signatureId: header[4]!,
    name: header[5]!,
    severity: header[6]!.trim(),
    ext: parseCefExtension(text, i),
  };
}

/** 1 for the characters of a CEF extension key (the spec's alphanumerics plus `_ . -`), by code. */
const KEY_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++)
  KEY_CHAR[c] =
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45
      ? 1
      : 0;

function isKeyChar(c: number): boolean {
  return c < 128 && KEY_CHAR[c] === 1;
}

/** The separators that end a word of the extension (an unescaped one starts a new word). */
function isWordBreak(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** What `String.prototype.trim` removes (ECMA-262 WhiteSpace and LineTerminator), by code. */
function isTrimmed(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 160) return false;
  return (
    c === 160 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** `text.slice(start, end).trim()` with one allocation. */
function trimmedSlice(text: string, start: number, end: number): string {
  while (start < end && isTrimmed(text.charCodeAt(start))) start++;
  while (end > start && isTrimmed(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function unescapeCefValue(raw: string): string {
  if (raw.indexOf('\\') < 0) return raw;
  let out = '';
  const n = raw.length;
  for (let i = 0; i < n; i++) {
    const c = raw[i]!;
    if (c === '\\' && i + 1 < n) {
      const next = raw[i + 1]!;
      i++;
      if (next === 'n') out += '\n';
      else if (next === 'r') out += '\r';
      else if (next === 't') out += '\t';
      else out += next;
    } else out += c;
  }
  return out;
}

/** True when `text[at]` is escaped: an odd run of backslashes (from `from` on) right before it. */
function escapedAt(text: string, at: number, from: number): boolean {
  let run = 0;
  for (let j = at - 1; j >= from && text.charCodeAt(j) === 92; j--) run++;
  return (run & 1) === 1;
}

/**
 * `key=value key2=value with spaces` from `from`: a value runs to the space before the next
 * `key=` (a run of key characters directly followed by an unescaped `=`, starting after an
 * unescaped space or right after the previous key's `=`). Jumps from `=` to `=` with `indexOf` and
 * checks the word before each one backwards, so the cost follows the number of `=`, not of
 * characters. Linear: each backward check stops at the first non-key character.
 */
export function parseCefExtension(text: string, from = 0): Map<string, string> {
  const out = new Map<string, string>();
  let key: string | undefined;
  let valueStart = -1;
  let lastKeyEq = -1; // where the last accepted key's `=` is
  for (let eq = text.indexOf('=', from); eq >= 0; eq = text.indexOf('=', eq + 1)) {
    let b = eq - 1;
    while (b >= from && isKeyChar(text.charCodeAt(b))) b--;
    if (b === eq - 1) continue; // no key characters right before: a value's `=` (or an escaped one)
    // The word starts after `b`: the start of the extension, an unescaped space, or a key's `=`.
    if (b >= from) {
      const c = text.charCodeAt(b);
      if (isWordBreak(c)) {
        if (escapedAt(text, b, from)) continue;
      } else if (c !== 61 /* = */ || b !== lastKeyEq) continue;
    }
    // Keys are unique by the spec; when a sender repeats one (or two messages were joined), the
    // first value is the one that belongs to this event.
    if (key !== undefined && !out.has(key))
      out.set(key, unescapeCefValue(trimmedSlice(text, valueStart, b + 1)));
    key = text.slice(b + 1, eq);
    valueStart = eq + 1;
    lastKeyEq = eq;
  }
  if (key !== undefined && !out.has(key))
    out.set(key, unescapeCefValue(trimmedSlice(text, valueStart, text.length)));
  return out;
}

/** The delimiter a LEEF 2.0 header names: a character, or its code as `xHH`/`0xHH`. */
function leefDelimiter(field: string): string | undefined {
  if (field.length === 1) return field;
  const hex = /^(?:0?x)([0-9a-fA-F]{1,4})$/i.exec(field);
  if (hex !== null) return String.fromCharCode(Number.parseInt(hex[1]!, 16));
  return undefined;
}

/** Splits a LEEF 1.0/2.0 line; undefined when it is not LEEF. */
export function parseLeef(text: string): LeefRecord | undefined {
  const at = leefStart(text);
  if (at < 0) return undefined;
  const header: string[] = [];
  let i = at + 5;
  while (header.length < 5) {
    const bar = text.indexOf('|', i);
    if (bar < 0) return undefined;
    header.push(text.slice(i, bar));
    i = bar + 1;
  }
  const version = header[0]!;
  let delimiter: string | undefined;
  if (version.startsWith('2')) {
    const bar = text.indexOf('|', i);
    const candidate = bar < 0 ? undefined : text.slice(i, bar);
    if (candidate !== undefined && candidate.indexOf('=') < 0) {
      delimiter = leefDelimiter(candidate);
      if (delimiter !== undefined || candidate === '') i = bar + 1;
    }
  }
  const body = text.slice(i);
  if (delimiter === undefined) {
    // LEEF 1.0 says tab; Palo Alto's and some others' integrations separate with `|` or `^`.
    if (body.indexOf('\t') >= 0) delimiter = '\t';
    else if (body.indexOf('|') >= 0) delimiter = '|';
    else if (body.indexOf('^') >= 0) delimiter = '^';
  }
  let attrs: Map<string, string>;
  if (delimiter === undefined || delimiter === ' ') attrs = parseCefExtension(body);
  else {
    attrs = new Map();
    let start = 0;
    const n = body.length;
    while (start <= n) {
      let end = body.indexOf(delimiter, start);
      if (end < 0) end = n;
      const eq = body.indexOf('=', start);
      if (eq > start && eq < end) attrs.set(body.slice(start, eq).trim(), body.slice(eq + 1, end).trim());
      start = end + delimiter.length;
    }
  }
  return {
    version,
    vendor: header[1]!,
    product: header[2]!,
    deviceVersion: header[3]!,
    eventId: header[4]!,
    attrs,
  };
}

/**
 * Each custom-field label (lower-cased) of one extension map, with the key of its value: the first
 * `...Label` key that carries it, in map order. Built once per map (the last one asked about), so
 * the several `labelled` look-ups of one record scan its keys once.
 */
let labelsOf: Map<string, string> | undefined;
let labelsSize = -1;
const labelIndex = new Map<string, string>();

function indexLabels(ext: Map<string, string>): Map<string, string> {
  if (ext === labelsOf && ext.size === labelsSize) return labelIndex;
  labelIndex.clear();
  for (const [k, v] of ext) {
    if (!k.endsWith('Label')) continue;
    const label = v.toLowerCase();
    if (!labelIndex.has(label)) labelIndex.set(label, k.slice(0, -5));
  }
  labelsOf = ext;
  labelsSize = ext.size;
  return labelIndex;
}

/**
 * The value of the custom field (`cs1`, `cn2`, `flexString1`...) whose label is one of `labels`:
 * of the `...Label` keys carrying one of them, the first in map order decides.
 */
export function labelled(ext: Map<string, string>, labels: readonly string[]): string | undefined {
  const index = indexLabels(ext);
  if (index.size === 0) return undefined;
  let found: string | undefined;
  let order = -1;
  for (const want of labels) {
    const key = index.get(want);
    if (key === undefined) continue;
    if (found === undefined) {
      found = key;
      continue;
    }
    // Two of the labels present: the earlier `...Label` key wins, as a scan in map order would.
    if (order < 0) order = keyOrder(ext, found);
    const o = keyOrder(ext, key);
    if (o < order) {
      found = key;
      order = o;
    }
  }
  return found === undefined ? undefined : ext.get(found);
}

/** Position of `${base}Label` in the map's order (rare path: a record with two matching labels). */
function keyOrder(ext: Map<string, string>, base: string): number {
  const want = `${base}Label`;
  let i = 0;
  for (const k of ext.keys()) {
    if (k === want) return i;
    i++;
  }
  return i;
}

const RULE_LABELS = [
  'rule',
  'rule name',
  'rulename',
  'rule_name',
  'policy',
  'policy name',
  'policyid',
  'acl',
];
const PACKET_LABELS = ['packets', 'total packets'];
const BYTE_LABELS = ['total bytes', 'bytes'];
const SEVERITY_WORDS: Readonly<Record<string, string>> = {
  unknown: 'unknown',
  low: 'low',
  medium: 'medium',
  high: 'high',
  'very-high': 'very-high',
  'very high': 'very-high',
  critical: 'critical',
};

/** CEF severity as text: 0-3 low, 4-6 medium, 7-8 high, 9-10 very-high (spec), or the word. */
export function cefSeverity(value: string): string | undefined {
  if (value === '') return undefined;
  const n = parseCount(value);
  if (n !== undefined) {
    if (n <= 3) return 'low';
    if (n <= 6) return 'medium';
    if (n <= 8) return 'high';
    return 'very-high';
  }
  return SEVERITY_WORDS[value.toLowerCase()] ?? value.toLowerCase().slice(0, 32);
}

/** `rt`/`start`/`end`/`deviceCustomDate` values: epoch milliseconds or a date text. */
export function cefTime(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const c = value.charCodeAt(0);
  if (c >= 48 && c <= 57 && /^\d{10,13}$/.test(value)) return epochToIso(value);
  return parseLooseDate(value);
}

/**
 * Normalised fields from a CEF record's standard keys, written into `ev`. The caller sets `vendor`
 * and may overwrite any field with vendor-specific knowledge afterwards.
 */
export function cefToDraft(rec: CefRecord, ev: EventDraft, headerTs: string | undefined): void {
  const x = rec.ext;
  put(
    ev,
    'ts',
    cefTime(x.get('rt')) ??
      cefTime(x.get('end')) ??
      cefTime(x.get('start')) ??
      cefTime(x.get('startTime')) ??
      cefTime(x.get('endTime')) ??
      headerTs,
  );
  put(ev, 'src_ip', parseIp(x.get('src') ?? x.get('sourceAddress') ?? labelled(x, ['source ipv6 address'])));
  put(ev, 'src_port', parsePort(x.get('spt') ?? x.get('sourcePort')));
  put(
    ev,
    'dst_ip',
    parseIp(x.get('dst') ?? x.get('destinationAddress') ?? labelled(x, ['destination ipv6 address'])),
  );
  put(ev, 'dst_port', parsePort(x.get('dpt') ?? x.get('destinationPort')));
  put(ev, 'proto', normaliseProto(x.get('proto') ?? x.get('transportProtocol')));
  const act = x.get('act') ?? x.get('deviceAction');
  ev.action = act !== undefined ? vendorAction(act) : actionFromName(rec);
  put(ev, 'src_nat_ip', parseIp(x.get('sourceTranslatedAddress')));
  put(ev, 'src_nat_port', parsePort(x.get('sourceTranslatedPort')));
  put(ev, 'dst_nat_ip', parseIp(x.get('destinationTranslatedAddress')));
  put(ev, 'dst_nat_port', parsePort(x.get('destinationTranslatedPort')));
  put(ev, 'bytes', sumCounts(x.get('in'), x.get('out')) ?? parseCount(labelled(x, BYTE_LABELS)));
  put(ev, 'packets', parseCount(labelled(x, PACKET_LABELS)));
  put(ev, 'rule', labelled(x, RULE_LABELS)?.slice(0, 128));
  put(ev, 'interface', (x.get('deviceInboundInterface') ?? x.get('deviceOutboundInterface'))?.slice(0, 64));
  const dir = x.get('deviceDirection');
  put(ev, 'direction', dir === '0' ? 'in' : dir === '1' ? 'out' : undefined);
  put(ev, 'category', (x.get('cat') ?? x.get('deviceEventCategory'))?.slice(0, 64));
  put(ev, 'severity', cefSeverity(rec.severity));
}

/** Without `act`, a CEF Name or Signature ID that is itself an action word (Check Point, others). */
function actionFromName(rec: CefRecord): Action {
  const a = vendorAction(rec.name);
  return a !== 'other' ? a : vendorAction(rec.signatureId);
}

/** LEEF `devTime` with its optional `devTimeFormat` (Java SimpleDateFormat; common forms only). */
export function leefTime(attrs: Map<string, string>): string | undefined {
  const t = attrs.get('devTime');
  if (t === undefined || t === '') return undefined;
  const c = t.charCodeAt(0);
  if (c >= 48 && c <= 57 && /^\d{10,13}$/.test(t)) return epochToIso(t);
  const fmt = attrs.get('devTimeFormat');
  // Day-first numeric dates are the one ambiguity the format string settles.
  if (fmt?.startsWith('dd/MM/yyyy') || fmt?.startsWith('dd-MM-yyyy') || fmt?.startsWith('dd.MM.yyyy')) {
    const m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(.*)$/.exec(t);
    if (m !== null)
      return parseLooseDate(`${m[3]}-${m[2]!.padStart(2, '0')}-${m[1]!.padStart(2, '0')}${m[4]}`);
  }
  if (fmt?.startsWith('MM/dd/yyyy')) {
    const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(.*)$/.exec(t);
    if (m !== null)
      return parseLooseDate(`${m[3]}-${m[1]!.padStart(2, '0')}-${m[2]!.padStart(2, '0')}${m[4]}`);
  }
  return parseLooseDate(t);
}

/** Normalised fields from a LEEF record's predefined keys (IBM's list), written into `ev`. */
export function leefToDraft(rec: LeefRecord, ev: EventDraft, headerTs: string | undefined): void {
  const a = rec.attrs;
  put(ev, 'ts', leefTime(a) ?? headerTs);
  put(ev, 'src_ip', parseIp(a.get('src') ?? a.get('srcPreNAT')));
  put(ev, 'src_port', parsePort(a.get('srcPort') ?? a.get('srcPreNATPort')));
  put(ev, 'dst_ip', parseIp(a.get('dst') ?? a.get('dstPreNAT')));
  put(ev, 'dst_port', parsePort(a.get('dstPort') ?? a.get('dstPreNATPort')));
  put(ev, 'proto', normaliseProto(a.get('proto')));
  ev.action = vendorAction(a.get('action') ?? a.get('act') ?? rec.eventId);
  put(ev, 'src_nat_ip', parseIp(a.get('srcPostNAT')));
  put(ev, 'src_nat_port', parsePort(a.get('srcPostNATPort')));
  put(ev, 'dst_nat_ip', parseIp(a.get('dstPostNAT')));
  put(ev, 'dst_nat_port', parsePort(a.get('dstPostNATPort')));
  put(ev, 'bytes', parseCount(a.get('totalBytes')) ?? sumCounts(a.get('srcBytes'), a.get('dstBytes')));
  put(
    ev,
    'packets',
    parseCount(a.get('totalPackets')) ?? sumCounts(a.get('srcPackets'), a.get('dstPackets')),
  );
  put(ev, 'rule', (a.get('policy') ?? a.get('RuleName') ?? a.get('rule'))?.slice(0, 128));
  put(ev, 'interface', (a.get('srcInterface') ?? a.get('IngressInterface'))?.slice(0, 64));
  put(ev, 'category', a.get('cat')?.slice(0, 64));
  put(ev, 'severity', a.get('sev')?.slice(0, 32));
}
