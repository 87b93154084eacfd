/**
 * Cisco Meraki MX syslog ("Meraki Syslog Overview and Configuration", MX event types). After the
 * PRI and an optional RFC 5424 version the line reads `EPOCH.NANOS DEVICE TYPE fields...`:
 *
 *   flows|firewall|cellular_firewall|vpn_firewall  [allow|deny] src= dst= mac= protocol= sport= dport=
 *                                                 [type=] [pattern: allow|deny|0|1 RULE]
 *   ip_flow_start|ip_flow_end  src= dst= protocol= sport= dport= translated_src_ip= translated_port=
 *   urls          src=IP:PORT dst=IP:PORT mac= [agent='...'] request: METHOD URL
 *   ids-alerts / security_event ids_alerted  signature= priority= timestamp= direction= protocol=
 *                 src=IP:PORT dst=IP:PORT decision=allowed|blocked message: ...
 *   events        free text (VPN, DHCP, content filtering, AnyConnect ...)
 *
 * The epoch is the event time; Meraki sends no other date.
 */
import type { Action } from '../../../protocol/event.js';
import { normaliseAction } from '../kit/action.js';
import { findIpv4, hostPort, parseIp, portAfter } from '../kit/address.js';
import { type EventDraft, finish, refuse } from '../kit/draft.js';
import { parseKeyValues } from '../kit/key-values.js';
import { parsePort } from '../kit/number.js';
import { normaliseProto } from '../kit/proto.js';
import { text } from '../kit/text.js';
import { epochToIso } from '../kit/time.js';
import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'cisco_meraki';

const LEAD = /(?:^|[\s>])(\d{9,10}\.\d{1,9}) (\S{1,64}) ([a-z][a-z_-]{1,31})(?: |$)/;

const TYPES = new Set([
  'flows',
  'firewall',
  'cellular_firewall',
  'vpn_firewall',
  'ip_flow_start',
  'ip_flow_end',
  'urls',
  'ids-alerts',
  'security_event',
  'events',
  'airmarshal_events',
]);

interface Lead {
  readonly ts: string | undefined;
  readonly type: string;
  readonly rest: string;
}

/**
 * True when `text[0, end)` holds `\d{9}\.\d`, which every `LEAD` match contains. Detection runs on
 * every line of an undetected source; hopping between dots (a `memchr` each) rules most out without
 * the regular expression trying each position of the line.
 */
function mayHaveLead(text: string, end: number): boolean {
  for (let dot = text.indexOf('.', 9); dot >= 0 && dot + 1 < end; dot = text.indexOf('.', dot + 1)) {
    const next = text.charCodeAt(dot + 1);
    if (next < 48 || next > 57) continue;
    let k = 1;
    while (k <= 9) {
      const c = text.charCodeAt(dot - k);
      if (c < 48 || c > 57) break;
      k++;
    }
    if (k > 9) return true;
  }
  return false;
}

function lead(raw: string): Lead | undefined {
  // Only the start of the line can hold the lead: bound the search so a long body costs nothing.
  const searched = Math.min(raw.length, 200);
  if (!mayHaveLead(raw, searched)) return undefined;
  const m = LEAD.exec(searched < raw.length ? raw.slice(0, searched) : raw);
  if (!m || !TYPES.has(m[3]!)) return undefined;
  const end = m.index + m[0].length;
  return { ts: epochToIso(Number(m[1])), type: m[3]!, rest: raw.slice(end) };
}

function detect(msg: SyslogMessage): number {
  const l = lead(msg.raw);
  if (l === undefined) return 0;
  return l.type === 'events' || l.type === 'urls' ? 0.85 : 0.9;
}

/** `pattern: allow ...` / `pattern: deny ...`; Meraki's numeric form `pattern: 0` (allow) / `1` (deny). */
function patternAction(rest: string): Action {
  const at = rest.indexOf('pattern: ');
  if (at < 0) return 'other';
  const word = rest.slice(at + 9, rest.indexOf(' ', at + 9) < 0 ? undefined : rest.indexOf(' ', at + 9));
  if (word === '0') return 'allow';
  if (word === '1') return 'deny';
  return normaliseAction(word);
}

function parseFlow(l: Lead): ParseResult {
  const rest = l.rest;
  const firstWord = rest.slice(0, rest.indexOf(' ') < 0 ? rest.length : rest.indexOf(' '));
  let action = normaliseAction(firstWord);
  if (action === 'other') action = patternAction(rest);
  const cut = rest.indexOf(' pattern: ');
  const kv = parseKeyValues(cut < 0 ? rest : rest.slice(0, cut));
  const pattern = cut < 0 ? undefined : rest.slice(cut + 10).trim();
  const draft: EventDraft = {
    ts: l.ts,
    src_ip: parseIp(kv.get('src')),
    src_port: parsePort(kv.get('sport')),
    dst_ip: parseIp(kv.get('dst')),
    dst_port: parsePort(kv.get('dport')),
    proto: normaliseProto(text(kv.get('protocol'))),
    action,
    rule: pattern !== undefined && pattern.length > 0 ? pattern : undefined,
    direction: l.type === 'vpn_firewall' ? 'vpn' : undefined,
  };
  return finish(NAME, draft);
}

function parseIpFlow(l: Lead): ParseResult {
  const kv = parseKeyValues(l.rest);
  const natSrc = parseIp(kv.get('translated_src_ip'));
  const natDst = parseIp(kv.get('translated_dst_ip'));
  const natPort = parsePort(kv.get('translated_port'));
  const draft: EventDraft = {
    ts: l.ts,
    src_ip: parseIp(kv.get('src')),
    src_port: parsePort(kv.get('sport')),
    dst_ip: parseIp(kv.get('dst')),
    dst_port: parsePort(kv.get('dport')),
    proto: normaliseProto(text(kv.get('protocol'))),
    // A flow the MX started or ended tracking is a permitted session.
    action: 'allow',
    src_nat_ip: natSrc,
    src_nat_port: natSrc !== undefined ? natPort : undefined,
    dst_nat_ip: natDst,
    dst_nat_port: natDst !== undefined ? natPort : undefined,
  };
  return finish(NAME, draft);
}

function parseUrls(l: Lead): ParseResult {
  const cut = l.rest.indexOf(' request: ');
  const kv = parseKeyValues(cut < 0 ? l.rest : l.rest.slice(0, cut));
  const src = hostPort(kv.get('src'));
  const dst = hostPort(kv.get('dst'));
  // An HTTP request the MX logged passed its policy (blocked ones are `content_filtering_block` events).
  return finish(NAME, {
    ts: l.ts,
    src_ip: src.ip,
    src_port: src.port,
    dst_ip: dst.ip,
    dst_port: dst.port,
    action: 'allow',
  });
}

/** ids-alerts and security_event: `decision=blocked|allowed`, `action=block|allow`. */
function parseSecurity(l: Lead): ParseResult {
  const cut = l.rest.indexOf(' message: ');
  const kv = parseKeyValues(cut < 0 ? l.rest : l.rest.slice(0, cut));
  const src = hostPort(kv.get('src'));
  const dst = hostPort(kv.get('dst'));
  let action = normaliseAction(kv.get('decision'));
  if (action === 'other') action = normaliseAction(kv.get('action'));
  const message = cut < 0 ? undefined : l.rest.slice(cut + 10).trim();
  const proto = kv.get('protocol');
  const draft: EventDraft = {
    ts: epochToIso(kv.get('timestamp') ?? '') ?? l.ts,
    src_ip: src.ip,
    src_port: src.port,
    dst_ip: dst.ip,
    dst_port: dst.port,
    // `tcp/ip`, `udp/ip`, `icmp/ip` in IDS alerts.
    proto: normaliseProto(text(proto)),
    action,
    direction: text(kv.get('direction')),
    category: message !== undefined && message.length > 0 ? message : text(kv.get('disposition')),
    severity: text(kv.get('priority')),
  };
  return finish(NAME, draft);
}

/** Free-text `events`: the addresses are named in words, not keys. */
function parseEvents(l: Lead): ParseResult {
  const s = l.rest;
  const draft: EventDraft = { ts: l.ts, action: 'other' };
  // RADIUS/AnyConnect: `Server IP=a Server port=p Peer IP=b Peer port=q`.
  const peer = /Peer IP=([0-9a-fA-F:.]{2,45}?)(?: |:|$)/.exec(s);
  if (peer) {
    draft.src_ip = parseIp(peer[1]);
    draft.src_port = parsePort(/Peer port=(\d{1,5})/.exec(s)?.[1]);
    const server = /Server IP=([0-9a-fA-F:.]{2,45}?)(?: |:|$)/.exec(s);
    draft.dst_ip = parseIp(server?.[1]);
    draft.dst_port = parsePort(/Server port=(\d{1,5})/.exec(s)?.[1]);
  }
  // Client VPN: `... local ip A connected from B` (A is the tunnel address the client was given).
  const from = /\b(?:re)?(?:dis)?connected from ([0-9a-fA-F:.]{2,45})/.exec(s);
  if (from && draft.src_ip === undefined) {
    draft.src_ip = parseIp(from[1]);
    draft.src_nat_ip = parseIp(/\blocal ip ([0-9a-fA-F:.]{2,45})/.exec(s)?.[1]);
  }
  // Content filtering: `server='a:p'`.
  const server = /\bserver='([^']{2,60})'/.exec(s);
  if (server) {
    const hp = hostPort(server[1]);
    draft.dst_ip = hp.ip;
    draft.dst_port = hp.port;
  }
  if (draft.src_ip === undefined && draft.dst_ip === undefined) {
    // DHCP (`dhcp lease of ip A ...`) and the rest: the first address the text names.
    const lease = /\blease of ip ([0-9a-fA-F:.]{2,45})/.exec(s);
    if (lease) draft.src_ip = parseIp(lease[1]);
    else if (!s.startsWith('dhcp')) {
      const first = findIpv4(s);
      if (first !== undefined) {
        draft.src_ip = first.ip;
        draft.src_port = portAfter(s, first.end);
      }
    }
  }
  if (/_block\b|blocked|rejected|_failure\b|denied/.test(s)) draft.action = 'deny';
  return finish(NAME, draft);
}

function parse(msg: SyslogMessage): ParseResult {
  const l = lead(msg.raw);
  if (l === undefined) return refuse('meraki: no `EPOCH DEVICE TYPE` lead');
  switch (l.type) {
    case 'flows':
    case 'firewall':
    case 'cellular_firewall':
    case 'vpn_firewall':
      return parseFlow(l);
    case 'ip_flow_start':
    case 'ip_flow_end':
      return parseIpFlow(l);
    case 'urls':
      return parseUrls(l);
    case 'ids-alerts':
    case 'security_event':
      return parseSecurity(l);
    default:
      return parseEvents(l);
  }
}

export const family: ParserFamily = {
  name: NAME,
  products: ['Cisco Meraki MX (flows, firewall, urls, IDS, events)'],
  detect,
  parse,
};
