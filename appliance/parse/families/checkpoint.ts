/**
 * Check Point (Quantum / VPN-1 & FireWall-1 and its blades) through Log Exporter: its "syslog"
 * format (RFC 5424 header, then the fields as `[key:"value"; key:"value"; ...]`), its CEF and
 * LEEF formats, and its key=value formats ("generic": space separated, "splunk": `|` separated).
 * Field names from Check Point's "Log Exporter" and "Log Fields" documentation.
 */
import type { Action } from '../../../protocol/event.js';
import { vendorAction } from '../kit/action.js';
import { parseIp } from '../kit/address.js';
import {
  cefStart,
  cefToDraft,
  cefVendorProduct,
  leefIndex,
  leefToDraft,
  parseCef,
  parseLeef,
} from '../kit/cef-format.js';
import { type EventDraft, finishAsWritten, put, refuse } from '../kit/draft.js';
import { parseKeyValues } from '../kit/key-values.js';
import { parseCount, parsePort, sumCounts } from '../kit/number.js';
import { normaliseProto } from '../kit/proto.js';
import { epochAnyToIso, parseLooseDate } from '../kit/time.js';
import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'checkpoint';

/** Check Point action words: blades that only observed (`Detect`, `Inform`, `Ask`) are `other`. */
const CP_ACTIONS: Readonly<Record<string, Action>> = {
  block: 'deny',
  prevent: 'deny',
  detect: 'other',
  inform: 'other',
  ask: 'other',
  bypass: 'allow',
  redirect: 'other',
  // VPN processing of a connection, logged apart from the rule's verdict on it.
  encrypt: 'other',
  decrypt: 'other',
  'key install': 'other',
};

function cpAction(word: string | undefined): Action {
  if (word === undefined) return 'other';
  return CP_ACTIONS[word.toLowerCase()] ?? vendorAction(word);
}

/**
 * Parses `[key:"value"; key2:"value 2"]` (Log Exporter's syslog body; values escape `"` and `\`
 * with a backslash). Linear; text outside the brackets is ignored.
 */
export function parseBracketFields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const n = text.length;
  let i = text.indexOf('[');
  if (i < 0) return out;
  i++;
  while (i < n) {
    while (i < n && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 59) /* ; */) i++;
    if (i >= n || text.charCodeAt(i) === 93 /* ] */) break;
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const key = text.slice(i, colon).trim();
    i = colon + 1;
    let value = '';
    if (text.charCodeAt(i) === 34 /* " */) {
      i++;
      let start = i;
      while (i < n && text.charCodeAt(i) !== 34) {
        if (text.charCodeAt(i) === 92 /* \ */ && i + 1 < n) {
          value += text.slice(start, i);
          i++;
          start = i;
        }
        i++;
      }
      value += text.slice(start, i);
      i++;
    } else {
      const start = i;
      while (i < n && text.charCodeAt(i) !== 59 && text.charCodeAt(i) !== 93) i++;
      value = text.slice(start, i).trim();
    }
    if (key.length > 0) out.set(key, value);
  }
  return out;
}

/** Check Point's `time` field: epoch seconds, or a date text in some exporter versions. */
function cpTime(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  return /^\d+$/.test(value) ? epochAnyToIso(value) : parseLooseDate(value);
}

/** Event from Check Point's own field names (syslog and key=value formats share them). */
function fromFields(f: Map<string, string>, headerTs: string | undefined): ParseResult {
  const ev: EventDraft = { vendor: NAME, action: 'other' };
  put(ev, 'ts', cpTime(f.get('time')) ?? headerTs);
  put(ev, 'src_ip', parseIp(f.get('src')));
  put(ev, 'dst_ip', parseIp(f.get('dst')));
  put(ev, 'proto', normaliseProto(f.get('proto')));
  put(ev, 'src_port', parsePort(f.get('s_port') ?? f.get('sport')));
  put(ev, 'dst_port', parsePort(f.get('service') ?? f.get('port') ?? f.get('dport')));
  ev.action = cpAction(f.get('action'));
  put(ev, 'src_nat_ip', parseIp(f.get('xlatesrc')));
  put(ev, 'dst_nat_ip', parseIp(f.get('xlatedst')));
  put(ev, 'src_nat_port', parsePort(f.get('xlatesport')));
  put(ev, 'dst_nat_port', parsePort(f.get('xlatedport')));
  put(
    ev,
    'bytes',
    parseCount(f.get('bytes')) ??
      sumCounts(f.get('client_outbound_bytes'), f.get('server_outbound_bytes')) ??
      sumCounts(f.get('sent_bytes'), f.get('received_bytes')),
  );
  put(
    ev,
    'packets',
    parseCount(f.get('packets')) ??
      sumCounts(f.get('client_outbound_packets'), f.get('server_outbound_packets')),
  );
  put(ev, 'rule', (f.get('rule_name') ?? f.get('rule'))?.slice(0, 128));
  put(ev, 'interface', f.get('ifname')?.slice(0, 64));
  const dir = f.get('ifdir');
  if (dir === 'inbound') ev.direction = 'in';
  else if (dir === 'outbound') ev.direction = 'out';
  const category =
    f.get('attack') ?? f.get('protection_name') ?? f.get('malware_family') ?? f.get('protection_type');
  put(ev, 'category', category?.slice(0, 64));
  put(ev, 'severity', (f.get('severity') ?? f.get('cp_severity'))?.slice(0, 32));
  if (ev.src_ip === undefined && ev.dst_ip === undefined && f.get('action') === undefined)
    return refuse('Check Point log without src, dst or action');
  return finishAsWritten(ev);
}

function isCpHeader(vendor: string): boolean {
  return vendor === 'Check Point' || vendor === 'CheckPoint' || vendor === 'Check Point Software';
}

function isCpCef(msg: SyslogMessage): boolean {
  if (cefStart(msg.msg) < 0 && cefStart(msg.raw) < 0) return false;
  const vp = cefVendorProduct(msg.msg) ?? cefVendorProduct(msg.raw);
  return vp !== undefined && isCpHeader(vp.vendor);
}

function parseCpCef(msg: SyslogMessage): ParseResult {
  const rec = parseCef(msg.msg) ?? parseCef(msg.raw);
  if (rec === undefined) return refuse('malformed Check Point CEF header');
  const ev: EventDraft = { vendor: NAME, action: 'other' };
  cefToDraft(rec, ev, msg.ts);
  const x = rec.ext;
  const act = x.get('act');
  if (act !== undefined) ev.action = cpAction(act);
  if (ev.interface === undefined) put(ev, 'interface', x.get('ifname')?.slice(0, 64));
  if (ev.direction === undefined) {
    const dir = x.get('ifdir');
    if (dir === 'inbound') ev.direction = 'in';
    else if (dir === 'outbound') ev.direction = 'out';
  }
  // Check Point's CEF carries the exporter's own severity words in the header ("Unknown" when none).
  if (ev.severity === 'unknown') delete ev.severity;
  return finishAsWritten(ev);
}

function parseCpLeef(msg: SyslogMessage): ParseResult {
  const rec = parseLeef(msg.msg) ?? parseLeef(msg.raw);
  if (rec === undefined) return refuse('malformed Check Point LEEF header');
  // Check Point's LEEF keeps its own field names next to the LEEF ones.
  const fromOwn = fromFields(rec.attrs, msg.ts);
  if (fromOwn.ok) return fromOwn;
  const ev: EventDraft = { vendor: NAME, action: 'other' };
  leefToDraft(rec, ev, msg.ts);
  ev.action = cpAction(rec.attrs.get('action') ?? rec.eventId);
  return finishAsWritten(ev);
}

/** The body that holds the `[key:"value"; ...]` list: structured data, the message, or the raw line. */
function bracketText(msg: SyslogMessage): string | undefined {
  if (msg.structuredData?.includes(':"')) return msg.structuredData;
  const at = msg.msg.indexOf('[');
  if (at >= 0 && msg.msg.includes(':"', at)) return msg.msg.slice(at);
  const rawAt = msg.raw.indexOf('[');
  if (rawAt >= 0 && msg.raw.includes(':"', rawAt)) return msg.raw.slice(rawAt);
  return undefined;
}

export const family: ParserFamily = {
  name: NAME,
  products: ['Check Point Quantum / VPN-1 & FireWall-1 (Log Exporter: syslog, CEF, LEEF, key=value)'],
  detect(msg: SyslogMessage): number {
    const raw = msg.raw;
    if (isCpCef(msg)) return 0.9;
    if (leefIndex(raw) >= 0) return raw.includes('|Check Point|') ? 0.9 : 0;
    if (msg.app === 'CheckPoint' || msg.app === 'Checkpoint') return 0.95;
    // Every marker below holds `:"` or `=`: one cheap search rules most other lines out.
    const quoted = raw.indexOf(':"') >= 0;
    if (quoted && (raw.includes('[action:"') || (raw.includes('loguid:"') && raw.includes('origin:"'))))
      return 0.9;
    if (raw.indexOf('=') < 0) return 0;
    if ((raw.includes('loguid=') || raw.includes('originsicname=')) && raw.includes('product=')) return 0.85;
    return 0;
  },
  parse(msg: SyslogMessage): ParseResult {
    const raw = msg.raw;
    if (isCpCef(msg)) return parseCpCef(msg);
    if (leefIndex(raw) >= 0) return parseCpLeef(msg);
    const brackets = bracketText(msg);
    if (brackets !== undefined) {
      const fields = parseBracketFields(brackets);
      if (fields.size > 0) return fromFields(fields, msg.ts);
    }
    const body = msg.msg;
    if (body.includes('=')) {
      // "splunk" format separates pairs with `|`, "generic" with spaces.
      const sep = body.includes('|') && !body.includes('" ') ? '|' : ' ';
      const fields = parseKeyValues(body, sep);
      if (fields.size > 0) return fromFields(fields, msg.ts);
    }
    return refuse('no Check Point fields ([key:"value"], CEF, LEEF or key=value)');
  },
};
