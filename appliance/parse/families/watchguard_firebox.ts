/**
 * WatchGuard Firebox (Fireware OS) logs in the three syslog formats Fireware offers:
 *
 * - WatchGuard "Syslog" traffic logs: `[SERIAL (DATE)] firewall: msg_id="3000-0148" Allow 1-Trusted
 *   0-External [LEN] tcp [HLEN TTL] SRC DST SPORT DPORT [offset N FLAGS SEQ win W] (POLICY-00)
 *   [key="value" ...]` (Fireware Log Catalog, traffic messages 3000-0148/0149/0151/0173...).
 * - IBM LEEF: `LEEF:1.0|WatchGuard|XTM|VER|MSGID|` then `src= srcPort= dst= dstPort= proto= disp=
 *   policy= in_if= out_if= srcPostNAT= dstPostNAT= sent_bytes= rcvd_bytes= msg=`, tab-separated
 *   (rsyslog may render the tab as `#011`, and some relays cut the leading `LEEF:`).
 * - ArcSight CEF: `CEF:0|WatchGuard|XTM|VER|MSGID|NAME|SEV|` with standard extension keys.
 */
import type { Action } from '../../../protocol/event.js';
import { normaliseAction } from '../kit/action.js';
import { findIpv4, parseIp, portAfter } from '../kit/address.js';
import { cefIndex, cefToDraft, leefTime, parseCef } from '../kit/cef-format.js';
import { type EventDraft, finish, refuse } from '../kit/draft.js';
import { parseKeyValues } from '../kit/key-values.js';
import { parseCount, parsePort, sum } from '../kit/number.js';
import { normaliseProto } from '../kit/proto.js';
import { text } from '../kit/text.js';
import { isoFromDateTime } from '../kit/time.js';
import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'watchguard_firebox';

function leefAt(s: string): number {
  const at = s.indexOf('|WatchGuard|');
  if (at < 0) return -1;
  // `LEEF:1.0|WatchGuard|` or the same without `LEEF:` (`1.0|WatchGuard|`).
  const start = s.lastIndexOf(' ', at) + 1;
  const head = s.slice(start, at);
  if (head.startsWith('LEEF:') || /^\d\.\d$/.test(head)) return start;
  return -1;
}

function detect(msg: SyslogMessage): number {
  const s = msg.raw;
  if (cefIndex(s) >= 0 && s.includes('|WatchGuard|')) return 0.95;
  if (leefAt(s) >= 0) return 0.95;
  if (s.includes('msg_id="') && /msg_id="[0-9A-F]{4}-[0-9A-F]{4}"/.test(s)) return 0.85;
  return 0;
}

const PROTO_WORDS = new Set([
  'tcp',
  'udp',
  'icmp',
  'igmp',
  'gre',
  'esp',
  'ah',
  'ipv6-icmp',
  'icmpv6',
  'sctp',
  'ospf',
  'pim',
  'vrrp',
  'ip',
]);

/** Fireware dispositions: Allow, Deny, and proxy outcomes (Allow/Deny/Drop/Strip/Block). */
function disposition(word: string | undefined): Action {
  return normaliseAction(word);
}

/** `(2018-04-22T10:00:00)` after the serial number: the Firebox's own (local) time. */
const BODY_DATE = /\((\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})\)/;

function parseTraffic(s: string, msg: SyslogMessage): ParseResult {
  const at = s.indexOf('msg_id="');
  const close = s.indexOf('"', at + 8);
  const after = s.slice(close + 1).trim();
  const tokens = after.split(' ', 40);
  const d = BODY_DATE.exec(s.slice(0, at));
  const draft: EventDraft = {
    ts: (d ? isoFromDateTime(d[1]!, d[2]!) : undefined) ?? msg.ts,
    action: 'other',
  };
  const first = tokens[0] ?? '';
  const positional = first === 'Allow' || first === 'Deny' || first === 'Drop' || first === 'Block';
  if (positional) {
    draft.action = disposition(first);
    const srcIf = text(tokens[1]);
    const dstIf = text(tokens[2]);
    draft.interface = srcIf;
    if (srcIf !== undefined && dstIf !== undefined) draft.direction = `${srcIf}->${dstIf}`;
    let i = 3;
    for (; i < tokens.length; i++) {
      const t = tokens[i]!.toLowerCase();
      if (PROTO_WORDS.has(t) || (i > 3 && /^\d{1,3}$/.test(t) && parseIp(tokens[i + 1]) !== undefined)) break;
    }
    if (i < tokens.length) {
      draft.proto = normaliseProto(tokens[i]);
      // Then [header-length TTL] and the two addresses.
      let j = i + 1;
      while (j < Math.min(tokens.length, i + 4) && parseIp(tokens[j]) === undefined) j++;
      draft.src_ip = parseIp(tokens[j]);
      draft.dst_ip = parseIp(tokens[j + 1]);
      if (draft.src_ip !== undefined && draft.dst_ip !== undefined) {
        const sp = parsePort(tokens[j + 2]);
        const dp = parsePort(tokens[j + 3]);
        if (sp !== undefined && dp !== undefined && draft.proto !== 'icmp') {
          draft.src_port = sp;
          draft.dst_port = dp;
        }
      }
    }
    const policy = /\(([^()"]{1,128})\)(?:\s|$)/.exec(after);
    if (policy) draft.rule = policy[1];
  }
  const kv = parseKeyValues(after);
  draft.src_ip ??= parseIp(kv.get('src_ip'));
  draft.dst_ip ??= parseIp(kv.get('dst_ip'));
  draft.src_port ??= parsePort(kv.get('src_port'));
  draft.dst_port ??= parsePort(kv.get('dst_port'));
  if (draft.proto === undefined) draft.proto = normaliseProto(text(kv.get('protocol')));
  if (draft.action === 'other') draft.action = disposition(kv.get('disp') ?? kv.get('disposition'));
  draft.src_nat_ip = parseIp(kv.get('src_ip_nat'));
  draft.src_nat_port = parsePort(kv.get('src_port_nat'));
  draft.dst_nat_ip = parseIp(kv.get('dst_ip_nat'));
  draft.dst_nat_port = parsePort(kv.get('dst_port_nat'));
  draft.bytes = sum(parseCount(kv.get('sent_bytes')), parseCount(kv.get('rcvd_bytes')));
  draft.packets = sum(parseCount(kv.get('sent_pkts')), parseCount(kv.get('rcvd_pkts')));
  draft.rule ??= text(kv.get('policy'));
  if (draft.src_ip === undefined) fromText(draft, kv.get('msg') ?? after);
  return finish(NAME, draft);
}

/** Event messages name the client in words (`... from 1.2.3.4 ...`, `DHCPACK on 10.0.0.5 to ...`). */
function fromText(draft: EventDraft, message: string): void {
  const from = message.indexOf(' from ');
  const hit = (from >= 0 ? findIpv4(message, from) : undefined) ?? findIpv4(message);
  if (hit === undefined) return;
  draft.src_ip = hit.ip;
  draft.src_port = portAfter(message, hit.end);
}

function parseLeefForm(s: string, start: number, msg: SyslogMessage): ParseResult {
  // Five header fields, then the attributes: tab, `#011` (rsyslog's escape for tab) or `|`.
  let i = start;
  for (let k = 0; k < 5; k++) {
    const bar = s.indexOf('|', i);
    if (bar < 0) return refuse('watchguard: truncated LEEF header');
    i = bar + 1;
  }
  const header = s.slice(start, i).split('|');
  const body = s.slice(i);
  const sep = body.includes('\t') ? '\t' : body.includes('#011') ? '#011' : '|';
  const a = new Map<string, string>();
  for (const part of body.split(sep, 256)) {
    const eq = part.indexOf('=');
    if (eq > 0) a.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const src = parseIp(a.get('src'));
  const dst = parseIp(a.get('dst'));
  const srcPost = parseIp(a.get('srcPostNAT'));
  const dstPost = parseIp(a.get('dstPostNAT'));
  const srcIf = text(a.get('in_if'));
  const dstIf = text(a.get('out_if'));
  const draft: EventDraft = {
    ts: leefTime(a) ?? msg.ts,
    src_ip: src,
    src_port: parsePort(a.get('srcPort')),
    dst_ip: dst,
    dst_port: parsePort(a.get('dstPort')),
    proto: normaliseProto(text(a.get('proto'))),
    action: disposition(a.get('disp')),
    src_nat_ip: srcPost !== src ? srcPost : undefined,
    src_nat_port: parsePort(a.get('srcPostNATPort')),
    dst_nat_ip: dstPost !== dst ? dstPost : undefined,
    dst_nat_port: parsePort(a.get('dstPostNATPort')),
    bytes: sum(parseCount(a.get('sent_bytes')), parseCount(a.get('rcvd_bytes'))),
    rule: text(a.get('policy')),
    interface: srcIf,
    direction: srcIf !== undefined && dstIf !== undefined ? `${srcIf}->${dstIf}` : undefined,
  };
  if (draft.src_ip === undefined) {
    const message = a.get('msg');
    if (message !== undefined) fromText(draft, message);
  }
  if (header[4] === undefined) return refuse('watchguard: LEEF header without event id');
  return finish(NAME, draft);
}

function parseCefForm(msg: SyslogMessage): ParseResult {
  const rec = parseCef(msg.raw);
  if (rec === undefined) return refuse('watchguard: malformed CEF');
  const draft: EventDraft = {};
  cefToDraft(rec, draft, msg.ts);
  draft.action ??= 'other';
  return finish(NAME, draft);
}

function parse(msg: SyslogMessage): ParseResult {
  const s = msg.raw;
  if (cefIndex(s) >= 0 && s.includes('|WatchGuard|')) return parseCefForm(msg);
  const leef = leefAt(s);
  if (leef >= 0) return parseLeefForm(s, leef, msg);
  if (s.includes('msg_id="')) return parseTraffic(s, msg);
  return refuse('watchguard: no msg_id, LEEF or CEF header');
}

export const family: ParserFamily = {
  name: NAME,
  products: ['WatchGuard Firebox (Fireware OS; syslog, LEEF and CEF formats)'],
  detect,
  parse,
};
