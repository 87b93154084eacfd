/**
 * Palo Alto Networks PAN-OS: the CSV syslog format (TRAFFIC and THREAT, field positions from
 * "Syslog Field Descriptions" for PAN-OS 10.x/11.x, which keep the positions of earlier releases
 * and only append fields), and the CEF and LEEF forms of the same logs.
 */
import type { Action } from '../../../protocol/event.js';
import { vendorAction } from '../kit/action.js';
import { parseIp } from '../kit/address.js';
import {
  cefStart,
  cefToDraft,
  cefVendorProduct,
  labelled,
  leefIndex,
  leefToDraft,
  parseCef,
  parseLeef,
} from '../kit/cef-format.js';
import { splitCsv } from '../kit/csv.js';
import { type EventDraft, finishAsWritten, put, refuse } from '../kit/draft.js';
import { parseCount, parsePort } from '../kit/number.js';
import { normaliseProto } from '../kit/proto.js';
import { parseLooseDate } from '../kit/time.js';
import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'panw';

/** Positions (0-based, counting the leading FUTURE_USE field) shared by TRAFFIC and THREAT. */
const F = {
  receiveTime: 1,
  type: 3,
  subtype: 4,
  generatedTime: 6,
  src: 7,
  dst: 8,
  natSrc: 9,
  natDst: 10,
  rule: 11,
  fromZone: 16,
  toZone: 17,
  inboundIf: 18,
  srcPort: 24,
  dstPort: 25,
  natSrcPort: 26,
  natDstPort: 27,
  proto: 29,
  action: 30,
} as const;

/** TRAFFIC only. */
const T = { bytes: 31, packets: 34 } as const;
/** THREAT only. */
const H = { threatName: 32, category: 33, severity: 34, direction: 35 } as const;

/**
 * PAN-OS action words by the vendor's meaning. A threat `alert` only records a detection (the
 * session's own verdict is in its TRAFFIC log), so it is `other`.
 */
const PAN_ACTIONS: Readonly<Record<string, Action>> = {
  alert: 'other',
  'reset-both': 'reject',
  'reset-client': 'reject',
  'reset-server': 'reject',
  'drop-icmp': 'drop',
  'drop icmp': 'drop',
  'drop-all-packets': 'drop',
  'block-url': 'deny',
  'block-continue': 'deny',
  'block-override': 'deny',
  'override-lockout': 'deny',
  'block-ip': 'deny',
  sinkhole: 'deny',
  'syn-cookie-sent': 'other',
  continue: 'allow',
  override: 'allow',
};

function panAction(word: string | undefined): Action {
  if (word === undefined) return 'other';
  return PAN_ACTIONS[word.toLowerCase()] ?? vendorAction(word);
}

/** Log types whose first 31 fields have the TRAFFIC layout (addresses, NAT, ports, proto, action). */
const SESSION_TYPES = new Set(['TRAFFIC', 'THREAT', 'DECRYPTION', 'TUNNEL', 'GTP', 'SCTP']);
/** The other log types, and where their client address sits. */
const OTHER_TYPES: Readonly<Record<string, number>> = {
  SYSTEM: -1, // addresses only inside the description text
  CONFIG: 7, // the administrator's host
  USERID: 8,
  AUTH: 8,
  HIPMATCH: 11,
  'HIP-MATCH': 11,
  GLOBALPROTECT: 15, // the endpoint's public address
  IPTAG: -1,
  CORRELATION: -1,
};

function knownType(t: string | undefined): boolean {
  return t !== undefined && (SESSION_TYPES.has(t) || OTHER_TYPES[t] !== undefined);
}

/**
 * Index of the type field. Normally 3; tolerant of a leading header left in field 0 and of exports
 * that drop the leading FUTURE_USE field, by finding the type two fields after a date.
 */
function typeIndex(fields: readonly string[]): number {
  if (knownType(fields[3])) return 3;
  const limit = Math.min(fields.length, 8);
  for (let i = 2; i < limit; i++) {
    if (knownType(fields[i]) && /\d\/\d/.test(fields[i - 2] ?? '')) return i;
  }
  return -1;
}

/**
 * PAN-OS 9.1+ appends a high-resolution generated time with the device's offset
 * (`2024-08-03T12:17:45.360+02:00`) near the end of every log type; it is the most precise and
 * the only zoned date on the line. Found by shape, scanning from the end.
 */
function highResTime(fields: readonly string[], from: number): string | undefined {
  for (let i = fields.length - 1; i > from; i--) {
    const v = fields[i]!;
    if (v.length >= 25 && v.length <= 35 && v.charCodeAt(10) === 84 /* T */ && v.charCodeAt(4) === 45) {
      const iso = parseLooseDate(v);
      if (iso !== undefined) return iso;
    }
  }
  return undefined;
}

/** An address written after one of `markers` in free text (SYSTEM log descriptions). */
function ipAfter(text: string, markers: readonly string[]): string | undefined {
  const lower = text.toLowerCase();
  for (const marker of markers) {
    let at = lower.indexOf(marker);
    while (at >= 0) {
      let i = at + marker.length;
      if (text.charCodeAt(i) === 39 /* ' */) i++;
      let end = i;
      while (end < text.length && end - i < 45 && /[0-9a-fA-F:.]/.test(text.charAt(end))) end++;
      let candidate = text.slice(i, end);
      if (candidate.endsWith('.')) candidate = candidate.slice(0, -1);
      // `5.6.7.8:333`: an IPv4 address with a port.
      const colon = candidate.lastIndexOf(':');
      if (colon > 0 && candidate.indexOf('.') >= 0) candidate = candidate.slice(0, colon);
      const ip = parseIp(candidate);
      if (ip !== undefined) return ip;
      at = lower.indexOf(marker, at + marker.length);
    }
  }
  return undefined;
}

const SYSTEM_SRC_MARKERS = ['from: ', "from '", 'initiated by: ', 'from '];
const SYSTEM_DST_MARKERS = ['server address ', 'connected to server ', 'server '];

function parseCsvLog(text: string, headerTs: string | undefined): ParseResult {
  const fields = splitCsv(text);
  const ti = typeIndex(fields);
  if (ti < 0) return refuse('no known log type field in PAN-OS CSV');
  const base = ti - F.type;
  const f = (i: number): string | undefined => fields[base + i];
  const type = fields[ti]!;
  const ev: EventDraft = { vendor: NAME, action: 'other' };
  put(
    ev,
    'ts',
    highResTime(fields, base + F.generatedTime) ??
      parseLooseDate(f(F.generatedTime)) ??
      parseLooseDate(f(F.receiveTime)) ??
      headerTs,
  );
  if (!SESSION_TYPES.has(type)) {
    if (type === 'SYSTEM') {
      const description = f(14) ?? '';
      put(ev, 'src_ip', ipAfter(description, SYSTEM_SRC_MARKERS));
      put(ev, 'dst_ip', ipAfter(description, SYSTEM_DST_MARKERS));
      put(ev, 'severity', f(13)?.slice(0, 32));
    } else {
      const at = OTHER_TYPES[type] ?? -1;
      if (at >= 0) put(ev, 'src_ip', parseIp(f(at)));
      if (type === 'USERID') {
        put(ev, 'src_port', parsePort(f(14)));
        put(ev, 'dst_port', parsePort(f(15)));
      }
    }
    return finishAsWritten(ev);
  }
  if (fields.length < base + F.action + 1) return refuse(`PAN-OS ${type} log too short`);
  put(ev, 'src_ip', parseIp(f(F.src)));
  put(ev, 'dst_ip', parseIp(f(F.dst)));
  put(ev, 'proto', normaliseProto(f(F.proto)));
  put(ev, 'src_port', parsePort(f(F.srcPort)));
  put(ev, 'dst_port', parsePort(f(F.dstPort)));
  ev.action = panAction(f(F.action));
  put(ev, 'src_nat_ip', parseIp(f(F.natSrc)));
  put(ev, 'src_nat_port', parsePort(f(F.natSrcPort)));
  put(ev, 'dst_nat_ip', parseIp(f(F.natDst)));
  put(ev, 'dst_nat_port', parsePort(f(F.natDstPort)));
  put(ev, 'rule', f(F.rule)?.slice(0, 128));
  put(ev, 'interface', f(F.inboundIf)?.slice(0, 64));
  if (type === 'THREAT') {
    const subtype = f(F.subtype);
    const category = subtype === 'url' ? f(H.category) : f(H.threatName) || subtype;
    put(ev, 'category', category?.slice(0, 64));
    put(ev, 'severity', f(H.severity)?.slice(0, 32));
    put(ev, 'direction', f(H.direction)?.slice(0, 64));
  } else {
    if (type === 'TRAFFIC') {
      put(ev, 'bytes', parseCount(f(T.bytes)));
      put(ev, 'packets', parseCount(f(T.packets)));
    }
    const from = f(F.fromZone);
    const to = f(F.toZone);
    if (from && to) put(ev, 'direction', `${from}->${to}`.slice(0, 64));
  }
  return finishAsWritten(ev);
}

function isPanCef(text: string): boolean {
  const vp = cefVendorProduct(text);
  return vp !== undefined && vp.vendor === 'Palo Alto Networks';
}

function parsePanCef(msg: SyslogMessage): ParseResult {
  const rec = parseCef(msg.msg) ?? parseCef(msg.raw);
  if (rec === undefined) return refuse('malformed PAN-OS CEF header');
  const ev: EventDraft = { vendor: NAME, action: 'other' };
  cefToDraft(rec, ev, msg.ts);
  const act = rec.ext.get('act');
  if (act !== undefined) ev.action = panAction(act);
  // The CEF Name is the log type; only THREAT logs carry a threat category and severity.
  if (rec.name !== 'THREAT') {
    delete ev.category;
    delete ev.severity;
  }
  const from = labelled(rec.ext, ['source zone', 'fromzone']);
  const to = labelled(rec.ext, ['destination zone', 'tozone']);
  if (from && to) put(ev, 'direction', `${from}->${to}`.slice(0, 64));
  return finishAsWritten(ev);
}

function parsePanLeef(msg: SyslogMessage): ParseResult {
  const rec = parseLeef(msg.msg) ?? parseLeef(msg.raw);
  if (rec === undefined) return refuse('malformed PAN-OS LEEF header');
  const ev: EventDraft = { vendor: NAME, action: 'other' };
  leefToDraft(rec, ev, msg.ts);
  ev.action = panAction(rec.attrs.get('action') ?? rec.eventId);
  if (rec.attrs.get('cat') !== 'THREAT') delete ev.category;
  const from = rec.attrs.get('SourceZone');
  const to = rec.attrs.get('DestinationZone');
  if (from && to) put(ev, 'direction', `${from}->${to}`.slice(0, 64));
  return finishAsWritten(ev);
}

const DETECT_TYPES: ReadonlySet<string> = new Set(
  Object.keys(OTHER_TYPES).concat(['DECRYPTION', 'TUNNEL', 'GTP', 'SCTP']),
);

/**
 * 0.9 when a field (between two commas) is `TRAFFIC` or `THREAT`, 0.7 when one is another log type,
 * else 0. Hops from comma to comma (a `memchr` each) instead of searching for every type in turn.
 */
function csvTypeScore(m: string): number {
  let other = false;
  let at = m.indexOf(',');
  while (at >= 0) {
    const next = m.indexOf(',', at + 1);
    if (next < 0) break;
    const len = next - at - 1;
    if (len >= 3 && len <= 13) {
      const c = m.charCodeAt(at + 1);
      if (
        c === 84 /* T */ &&
        ((len === 7 && m.startsWith('TRAFFIC', at + 1)) || (len === 6 && m.startsWith('THREAT', at + 1)))
      )
        return 0.9;
      if (!other && c >= 65 && c <= 90 && DETECT_TYPES.has(m.slice(at + 1, next))) other = true;
    }
    at = next;
  }
  return other ? 0.7 : 0;
}

export const family: ParserFamily = {
  name: NAME,
  products: ['Palo Alto Networks PAN-OS (PA-series, VM-series, Prisma Access)'],
  detect(msg: SyslogMessage): number {
    const m = msg.msg;
    if (cefStart(m) >= 0) return isPanCef(m) ? 0.9 : 0;
    if (leefIndex(m) >= 0) return m.includes('|Palo Alto Networks|') ? 0.9 : 0;
    const csv = csvTypeScore(m);
    if (csv > 0) return csv;
    if (msg.raw.includes('|Palo Alto Networks|')) return 0.85;
    return 0;
  },
  parse(msg: SyslogMessage): ParseResult {
    const m = msg.msg;
    if (isPanCef(m) || isPanCef(msg.raw)) return parsePanCef(msg);
    if (leefIndex(m) >= 0 || msg.raw.includes('|Palo Alto Networks|PAN-OS Syslog')) return parsePanLeef(msg);
    return parseCsvLog(m, msg.ts);
  },
};
