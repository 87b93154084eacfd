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
import type { Action, ConnectionEvent } from '../../protocol/event.js';
import { normaliseProto, parseCount, parseIp, parsePort } from './fields.js';
import type { ParseResult, ParserFamily, SyslogMessage } from './types.js';

const NAME = 'pfsense';

function isNumeric(v: string): boolean {
  if (v.length === 0) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function filterAction(word: string | undefined): Action | undefined {
  switch (word) {
    case 'pass':
      return 'allow';
    // pf `block` drops silently; the corpus and the vendors' GUIs call it "block", i.e. deny.
    case 'block':
      return 'deny';
    case 'reject':
      return 'reject';
    default:
      return undefined;
  }
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

function parse(msg: SyslogMessage): ParseResult {
  const start = csvStart(msg.msg);
  const f = (start === 0 ? msg.msg : msg.msg.slice(start)).split(',');
  // Anchor: action, direction, ip version at index base+6..8 (base 0 normally, 1 with a leading label).
  let base = -1;
  for (let k = 6; k <= 7 && k + 2 < f.length; k++) {
    if (
      filterAction(f[k]) !== undefined &&
      (f[k + 1] === 'in' || f[k + 1] === 'out') &&
      (f[k + 2] === '4' || f[k + 2] === '6')
    ) {
      base = k - 6;
      break;
    }
  }
  if (base < 0) {
    return {
      ok: false,
      reason:
        f.length === 1
          ? 'pfsense: not a filterlog line'
          : f.length < 9
            ? 'pfsense: truncated line'
            : 'pfsense: no action,direction,ipversion fields',
    };
  }
  // Field offsets differ by IP version; everything is then found relative to the source address:
  // length just before it, protocol id and text (in either order) before that.
  let srcAt = base + (f[base + 8] === '6' ? 15 : 18);
  if (f.length <= srcAt + 1) return { ok: false, reason: 'pfsense: truncated line' };
  let srcIp = parseIp(f[srcAt]);
  let dstIp = parseIp(f[srcAt + 1]);
  if (srcIp === undefined || dstIp === undefined) {
    // Some exporters write IPv6 entries with the IPv4 layout (or the reverse): find the address pair.
    const last = Math.min(f.length - 2, base + 24);
    for (let k = base + 12; k <= last; k++) {
      srcIp = parseIp(f[k]);
      if (srcIp === undefined) continue;
      dstIp = parseIp(f[k + 1]);
      if (dstIp !== undefined) {
        srcAt = k;
        break;
      }
    }
    if (srcIp === undefined || dstIp === undefined) return { ok: false, reason: 'pfsense: bad addresses' };
  }
  const dstAt = srcAt + 1;
  const lengthAt = srcAt - 1;
  const a = f[srcAt - 3] ?? '';
  const b = f[srcAt - 2] ?? '';
  // The protocol text when there is one (`tcp`, `carp`), else the number.
  const proto = normaliseProto(isNumeric(a) ? (isNumeric(b) ? a : b) : a);
  let srcPort: number | undefined;
  let dstPort: number | undefined;
  if (proto === 'tcp' || proto === 'udp') {
    srcPort = parsePort(f[dstAt + 1]);
    dstPort = parsePort(f[dstAt + 2]);
    if (srcPort === undefined || dstPort === undefined)
      return { ok: false, reason: 'pfsense: truncated line' };
  }
  const tracker = f[base + 3] ?? '';
  const rule = base === 1 ? (f[0] ?? '') : tracker !== '' ? tracker : (f[base] ?? '');
  const iface = f[base + 4] ?? '';

  const event = {} as ConnectionEvent;
  if (msg.ts !== undefined) event.ts = msg.ts;
  event.vendor = NAME;
  event.src_ip = srcIp;
  if (srcPort !== undefined) event.src_port = srcPort;
  event.dst_ip = dstIp;
  if (dstPort !== undefined) event.dst_port = dstPort;
  if (proto !== undefined) event.proto = proto;
  event.action = filterAction(f[base + 6]) ?? 'other';
  const bytes = parseCount(f[lengthAt]);
  if (bytes !== undefined) event.bytes = bytes;
  if (rule !== '') event.rule = rule.slice(0, 128);
  if (iface !== '') event.interface = iface.slice(0, 64);
  event.direction = f[base + 7] as string;
  return { ok: true, event };
}

export const pfsense: ParserFamily = {
  name: NAME,
  products: ['pfSense', 'OPNsense'],
  detect,
  parse,
};
