/**
 * pfSense and OPNsense `filterlog` CSV (docs.netgate.com, "Filter Log Format"; OPNsense's
 * filterlog is the same format):
 *   rule,subrule,anchor,tracker,interface,reason,action,direction,ipversion,
 *   IPv4: tos,ecn,ttl,id,offset,flags,protoid,prototext,length,src,dst,
 *   IPv6: class,flowlabel,hoplimit,prototext,protoid,length,src,dst,
 *   then per protocol: TCP srcport,dstport,datalen,flags,seq,ack,window,urg,options;
 *   UDP srcport,dstport,datalen; ICMP type,... (no ports); CARP type,ttl,vhid,...
 * OPNsense carries the rule's label (a 32-hex-digit id) in the tracker field, and some releases and
 * relays put it in front of the line; the parser anchors on `action,direction,ipversion` so both
 * layouts parse.
 */
import type { Action } from '../../../protocol/event.js';
import { parseIp } from '../kit/address.js';
import { type EventDraft, finishAsWritten, refuse } from '../kit/draft.js';
import { parseCount, parsePort } from '../kit/number.js';
import { normaliseProto } from '../kit/proto.js';
import { hasAt } from '../kit/text.js';
import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'pfsense';

function isNumeric(v: string): boolean {
  if (v.length === 0) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** The CSV text after a `filterlog:` / `filterlog[pid]:` tag left in the body (no header parsed). */
function csvStart(text: string): number {
  if (!text.startsWith('filterlog')) return 0;
  const colon = text.indexOf(': ');
  return colon < 0 ? 0 : colon + 2;
}

function detect(msg: SyslogMessage): number {
  const text = msg.msg;
  if (text.indexOf(',') < 0) return 0;
  if (msg.app === 'filterlog' || text.startsWith('filterlog')) return 0.95;
  if (
    (text.indexOf(',in,') >= 0 || text.indexOf(',out,') >= 0) &&
    (text.indexOf(',in,4,') > 0 ||
      text.indexOf(',out,4,') > 0 ||
      text.indexOf(',in,6,') > 0 ||
      text.indexOf(',out,6,') > 0)
  ) {
    return text.indexOf(',match,') > 0 ? 0.9 : 0.7;
  }
  return 0;
}

// Field bounds of the line being parsed (parsing is synchronous: one line at a time). The CSV is
// not split: of its ~30 fields only the dozen the event needs are copied out.
const MAX_FIELDS = 64; // no field past the 30th is read; the count stays exact beyond this
const fieldStart = new Int32Array(MAX_FIELDS);
const fieldEnd = new Int32Array(MAX_FIELDS);
let fieldCount = 0;
let line = '';

/** Records where each comma-separated field of `text` from `from` lies, as `split(',')` would cut. */
function splitFields(text: string, from: number): void {
  line = text;
  let count = 0;
  let at = from;
  for (;;) {
    const comma = text.indexOf(',', at);
    if (count < MAX_FIELDS) {
      fieldStart[count] = at;
      fieldEnd[count] = comma < 0 ? text.length : comma;
    }
    count++;
    if (comma < 0) break;
    at = comma + 1;
  }
  fieldCount = count;
}

/** Field `k` (what `split(',')[k]` would hold), undefined past the last. */
function field(k: number): string | undefined {
  return k < fieldCount ? line.slice(fieldStart[k]!, fieldEnd[k]!) : undefined;
}

/** True when field `k` exists and is exactly `word`, without copying it. */
function fieldIs(k: number, word: string): boolean {
  if (k >= fieldCount) return false;
  const from = fieldStart[k]!;
  return fieldEnd[k]! - from === word.length && hasAt(line, from, word);
}

/** The action field `k` states (`pass`, `block` or `reject`), undefined for anything else. */
function actionAt(k: number): Action | undefined {
  if (fieldIs(k, 'pass')) return 'allow';
  // pf `block` drops silently; the corpus and the vendors' GUIs call it "block", i.e. deny.
  if (fieldIs(k, 'block')) return 'deny';
  if (fieldIs(k, 'reject')) return 'reject';
  return undefined;
}

function parse(msg: SyslogMessage): ParseResult {
  splitFields(msg.msg, csvStart(msg.msg));
  const count = fieldCount;
  // Anchor: action, direction, ip version at index base+6..8 (base 0 normally, 1 with a leading label).
  let base = -1;
  for (let k = 6; k <= 7 && k + 2 < count; k++) {
    if (
      actionAt(k) !== undefined &&
      (fieldIs(k + 1, 'in') || fieldIs(k + 1, 'out')) &&
      (fieldIs(k + 2, '4') || fieldIs(k + 2, '6'))
    ) {
      base = k - 6;
      break;
    }
  }
  if (base < 0) {
    return refuse(
      count === 1
        ? 'pfsense: not a filterlog line'
        : count < 9
          ? 'pfsense: truncated line'
          : 'pfsense: no action,direction,ipversion fields',
    );
  }
  // Field offsets differ by IP version; everything is then found relative to the source address:
  // length just before it, protocol id and text (in either order) before that.
  let srcAt = base + (fieldIs(base + 8, '6') ? 15 : 18);
  if (count <= srcAt + 1) return refuse('pfsense: truncated line');
  let srcIp = parseIp(field(srcAt));
  let dstIp = parseIp(field(srcAt + 1));
  if (srcIp === undefined || dstIp === undefined) {
    // Some exporters write IPv6 entries with the IPv4 layout (or the reverse): find the address pair.
    const last = Math.min(count - 2, base + 24);
    for (let k = base + 12; k <= last; k++) {
      srcIp = parseIp(field(k));
      if (srcIp === undefined) continue;
      dstIp = parseIp(field(k + 1));
      if (dstIp !== undefined) {
        srcAt = k;
        break;
      }
    }
    if (srcIp === undefined || dstIp === undefined) return refuse('pfsense: bad addresses');
  }
  const dstAt = srcAt + 1;
  const lengthAt = srcAt - 1;
  const a = field(srcAt - 3) ?? '';
  const b = field(srcAt - 2) ?? '';
  // The protocol text when there is one (`tcp`, `carp`), else the number.
  const proto = normaliseProto(isNumeric(a) ? (isNumeric(b) ? a : b) : a);
  let srcPort: number | undefined;
  let dstPort: number | undefined;
  if (proto === 'tcp' || proto === 'udp') {
    srcPort = parsePort(field(dstAt + 1));
    dstPort = parsePort(field(dstAt + 2));
    if (srcPort === undefined || dstPort === undefined) return refuse('pfsense: truncated line');
  }
  const tracker = field(base + 3) ?? '';
  const rule = base === 1 ? (field(0) ?? '') : tracker !== '' ? tracker : (field(base) ?? '');
  const iface = field(base + 4) ?? '';

  // Direct writes in wire order (see kit/draft.ts): the hot path; named stores benched at least
  // as fast as `put`'s shared keyed store (an A/B run of `npm run bench -- parse`).
  const event: EventDraft = {};
  if (msg.ts !== undefined) event.ts = msg.ts;
  event.vendor = NAME;
  event.src_ip = srcIp;
  if (srcPort !== undefined) event.src_port = srcPort;
  event.dst_ip = dstIp;
  if (dstPort !== undefined) event.dst_port = dstPort;
  if (proto !== undefined) event.proto = proto;
  event.action = actionAt(base + 6) ?? 'other';
  const bytes = parseCount(field(lengthAt));
  if (bytes !== undefined) event.bytes = bytes;
  if (rule !== '') event.rule = rule.slice(0, 128);
  if (iface !== '') event.interface = iface.slice(0, 64);
  event.direction = fieldIs(base + 7, 'in') ? 'in' : 'out';
  return finishAsWritten(event);
}

export const family: ParserFamily = {
  name: NAME,
  products: ['pfSense', 'OPNsense'],
  detect,
  parse,
};
