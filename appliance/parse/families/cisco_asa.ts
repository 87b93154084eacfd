/**
 * Cisco ASA (and PIX/FWSM) syslog, by message id, from Cisco's "ASA Series Syslog Messages".
 * The body after `%ASA-<level>-<id>:` is parsed per id; ids not listed get a generic reading
 * (`from A to B`, `src A dst B`) with the action taken from the message's own verb.
 *
 * Address syntax: `interface:ip/port` (IPv6 allowed: `inside:2001:db8::1/443`), NAT mapped
 * addresses in parentheses after the real ones, `interface/ip(port)` in access-list messages.
 *
 * The Firepower `key: value` connection events (430001-430005) are parsed here too so that the
 * FTD family and an ASA-tagged line share one reading.
 */
import type { Action } from '../../../protocol/event.js';
import { vendorAction } from '../kit/action.js';
import { type Endpoint, parseEndpoint, parseIp } from '../kit/address.js';
import { type EventDraft, finishAsWritten, put, refuse } from '../kit/draft.js';
import { parseCount, parsePort, sumCounts } from '../kit/number.js';
import { normaliseProto } from '../kit/proto.js';
import { parseLooseDate } from '../kit/time.js';
import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'cisco_asa';

/** The `%ASA-4-106023` tag split into its parts, and the message body after it. */
export interface CiscoTag {
  readonly facility: string;
  readonly level: string;
  readonly id: string;
  readonly body: string;
}

const FACILITIES = ['ASA', 'FTD', 'NGIPS', 'PIX', 'FWSM'] as const;

/** Parses `%FAC-L-NNNNNN` at `at` in `text`; returns the tag and where it ends, or undefined. */
function tagAt(
  text: string,
  at: number,
): { facility: string; level: string; id: string; end: number } | undefined {
  const dash1 = text.indexOf('-', at);
  if (dash1 < 0 || dash1 - at > 7) return undefined;
  const facility = text.slice(at + 1, dash1);
  const level = text.charAt(dash1 + 1);
  if (level < '0' || level > '7' || text.charCodeAt(dash1 + 2) !== 45) return undefined;
  let end = dash1 + 3;
  while (end < text.length && end < dash1 + 9 && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57)
    end++;
  if (end - (dash1 + 3) !== 6) return undefined;
  return { facility, level, id: text.slice(dash1 + 3, end), end };
}

/**
 * Finds the Cisco tag: in `app` when the header parser split it off, otherwise in the body (lines
 * with a header the parser did not recognise, or with the tag after a device id).
 */
export function ciscoTag(msg: SyslogMessage): CiscoTag | undefined {
  if (msg.app !== undefined && msg.app.charCodeAt(0) === 37 /* % */) {
    const t = tagAt(msg.app, 0);
    if (t !== undefined) {
      let body = msg.msg;
      if (body.startsWith(':')) body = body.slice(1);
      return { facility: t.facility, level: t.level, id: t.id, body: body.trim() };
    }
  }
  for (const text of [msg.msg, msg.raw]) {
    let at = -1;
    for (const f of FACILITIES) {
      at = text.indexOf(`%${f}-`);
      if (at >= 0) break;
    }
    if (at < 0) continue;
    const t = tagAt(text, at);
    if (t === undefined) continue;
    let body = text.slice(t.end);
    if (body.startsWith(':')) body = body.slice(1);
    return { facility: t.facility, level: t.level, id: t.id, body: body.trim() };
  }
  return undefined;
}

/** Service names ASA prints instead of port numbers in some messages (`/https`, `/domain`). */
const SERVICE_PORTS: Readonly<Record<string, number>> = {
  ftp: 21,
  ssh: 22,
  telnet: 23,
  smtp: 25,
  domain: 53,
  www: 80,
  http: 80,
  pop3: 110,
  ntp: 123,
  netbios: 137,
  'netbios-ns': 137,
  'netbios-dgm': 138,
  'netbios-ssn': 139,
  imap4: 143,
  snmp: 161,
  snmptrap: 162,
  ldap: 389,
  https: 443,
  isakmp: 500,
  syslog: 514,
  ldaps: 636,
  rdp: 3389,
};

/** `[iface:]ip[/port|/service]` with ASA's service names understood. */
function endpoint(token: string | undefined): Endpoint {
  if (token === undefined) return {};
  let t = token;
  // Trailing punctuation from the sentence (`... to 10.0.0.1:`, `... dst 10.0.0.1,`).
  const last = t.charCodeAt(t.length - 1);
  if (last === 44 || last === 46 || last === 58 || last === 59) t = t.slice(0, -1);
  if (t.charCodeAt(0) === 40 && t.endsWith(')')) t = t.slice(1, -1); // `(10.0.0.1)` in 106016
  const ep = parseEndpoint(t);
  if (ep.port === undefined) {
    const slash = t.lastIndexOf('/');
    if (slash > 0) {
      const svc = SERVICE_PORTS[t.slice(slash + 1).toLowerCase()];
      if (svc !== undefined) {
        const again = parseEndpoint(t.slice(0, slash));
        return { ...again, port: svc };
      }
    }
  }
  return ep;
}

/** `interface/ip(port)` as in 106100: `inside/10.0.0.5(51234)`, optionally `(user, sg)` after. */
function aclEndpoint(token: string | undefined): Endpoint {
  if (token === undefined) return {};
  const slash = token.indexOf('/');
  if (slash < 0) return {};
  const open = token.indexOf('(', slash);
  const close = open < 0 ? -1 : token.indexOf(')', open);
  const out: Endpoint = { iface: token.slice(0, slash) };
  const ip = parseIp(token.slice(slash + 1, open < 0 ? undefined : open));
  if (ip !== undefined) out.ip = ip;
  if (close > open) {
    const port = parsePort(token.slice(open + 1, close));
    if (port !== undefined) out.port = port;
  }
  return out;
}

/** The whitespace-delimited word after the first occurrence of `marker` (which ends with a space). */
function wordAfter(text: string, marker: string, from = 0): string | undefined {
  const at = text.indexOf(marker, from);
  if (at < 0) return undefined;
  const start = at + marker.length;
  let end = text.indexOf(' ', start);
  if (end < 0) end = text.length;
  return end > start ? text.slice(start, end) : undefined;
}

/** Index just past `marker` in text, or -1. */
function after(text: string, marker: string, from = 0): number {
  const at = text.indexOf(marker, from);
  return at < 0 ? -1 : at + marker.length;
}

/**
 * Writes src/dst from two endpoints. For ICMP the number after the slash is the ICMP id or type,
 * which ASA writes in the port position; it is kept as written, as the line has it.
 */
function putFlow(ev: EventDraft, src: Endpoint, dst: Endpoint): void {
  put(ev, 'src_ip', src.ip);
  put(ev, 'src_port', src.port);
  put(ev, 'dst_ip', dst.ip);
  put(ev, 'dst_port', dst.port);
}

/** Protocol word (`TCP`, `udp`, `icmp6`, `protocol 47`) starting at word index `i` of `words`. */
function protoAt(words: readonly string[], i: number): string | undefined {
  const w = words[i];
  if (w === undefined) return undefined;
  if (w.toLowerCase() === 'protocol') return normaliseProto(words[i + 1]);
  return normaliseProto(w);
}

/** The name between the first pair of double quotes after `marker`, as in `by access-group "x"`. */
function quotedAfter(text: string, marker: string): string | undefined {
  const at = after(text, marker);
  if (at < 0) return undefined;
  if (text.charCodeAt(at) === 34) {
    const end = text.indexOf('"', at + 1);
    return end > at ? text.slice(at + 1, end) : undefined;
  }
  let end = text.indexOf(' ', at);
  if (end < 0) end = text.length;
  return text.slice(at, end);
}

/** NAT mapped address in parentheses right after a real one: `(203.0.113.5/51234)`. */
function mappedAfter(text: string, from: number): Endpoint | undefined {
  let i = from;
  while (text.charCodeAt(i) === 32) i++;
  if (text.charCodeAt(i) !== 40 /* ( */) return undefined;
  const close = text.indexOf(')', i);
  if (close < 0) return undefined;
  const inner = text.slice(i + 1, close);
  const ep = parseEndpoint(inner);
  return ep.ip !== undefined ? ep : undefined;
}

/** Writes NAT fields from the mapped endpoint ASA printed in parentheses, as printed. */
function putNat(ev: EventDraft, side: 'src' | 'dst', mapped: Endpoint | undefined): void {
  if (mapped === undefined) return;
  if (side === 'src') {
    put(ev, 'src_nat_ip', mapped.ip);
    put(ev, 'src_nat_port', mapped.port);
  } else {
    put(ev, 'dst_nat_ip', mapped.ip);
    put(ev, 'dst_nat_port', mapped.port);
  }
}

/** The endpoint word at `start` (up to the next space) and the index after it. */
function tokenAt(text: string, start: number): { word: string; end: number } | undefined {
  if (start < 0 || start >= text.length) return undefined;
  let end = text.indexOf(' ', start);
  if (end < 0) end = text.length;
  // `(mapped)(user)` glued to the address, or `(user)` glued: stop at the first parenthesis.
  const paren = text.indexOf('(', start);
  if (paren > start && paren < end) end = paren;
  return { word: text.slice(start, end), end };
}

/** 302013/302015/302017 (Built) and 302014/302016/302018 (Teardown), with optional direction. */
function parseConnection(body: string, words: readonly string[], ev: EventDraft): string | undefined {
  const built = words[0] === 'Built';
  const dirWord = words[1];
  const outbound = dirWord === 'outbound';
  const inbound = dirWord === 'inbound';
  const protoIndex = inbound || outbound ? 2 : 1;
  put(ev, 'proto', protoAt(words, protoIndex));
  const forAt = after(body, ' for ');
  const first = tokenAt(body, forAt);
  if (first === undefined) return 'no "for" address';
  const firstEp = endpoint(first.word);
  const firstMapped = built ? mappedAfter(body, first.end) : undefined;
  const toAt = after(body, ' to ', first.end);
  const second = tokenAt(body, toAt);
  if (second === undefined) return 'no "to" address';
  const secondEp = endpoint(second.word);
  const secondMapped = built ? mappedAfter(body, second.end) : undefined;
  // The "for" side is the foreign (lower-security) one: for an outbound connection the initiator
  // is the "to" side, so the two swap roles. Teardown messages carry no direction, so their "for"
  // side is taken as src (the documented order): for outbound connections that names the server
  // as src; the Built message of the same connection id has the true roles.
  const [src, srcMapped, dst, dstMapped] = outbound
    ? [secondEp, secondMapped, firstEp, firstMapped]
    : [firstEp, firstMapped, secondEp, secondMapped];
  putFlow(ev, src, dst);
  putNat(ev, 'src', srcMapped);
  putNat(ev, 'dst', dstMapped);
  put(ev, 'interface', src.iface);
  if (inbound) ev.direction = 'in';
  else if (outbound) ev.direction = 'out';
  ev.action = 'allow';
  if (!built) put(ev, 'bytes', parseCount(wordAfter(body, ' bytes ')));
  return undefined;
}

/** 302020/302021: `... ICMP connection for faddr F/seq gaddr G/type laddr L/type ...`. */
function parseIcmpConnection(body: string, words: readonly string[], ev: EventDraft): string | undefined {
  const outbound = words[1] === 'outbound';
  const inbound = words[1] === 'inbound';
  put(ev, 'proto', protoAt(words, inbound || outbound ? 2 : 1) ?? 'icmp');
  const f = endpoint(wordAfter(body, 'faddr '));
  const g = endpoint(wordAfter(body, 'gaddr '));
  const l = endpoint(wordAfter(body, 'laddr '));
  if (f.ip === undefined || l.ip === undefined) return 'no faddr/laddr';
  ev.action = 'allow';
  if (outbound) {
    // The local host pinged out: laddr is its real address, gaddr the mapped (global) one.
    putFlow(ev, l, f);
    putNat(ev, 'src', g);
    ev.direction = 'out';
  } else {
    putFlow(ev, f, l);
    putNat(ev, 'dst', g);
    if (inbound) ev.direction = 'in';
  }
  put(ev, 'interface', (outbound ? l : f).iface);
  return undefined;
}

/** `... src IF:A[/p] [(user)] dst IF:B[/p] ...` (106010, 106014, 106023, 313005, 305006...). */
function parseSrcDst(body: string, ev: EventDraft): boolean {
  const s = tokenAt(body, after(body, 'src '));
  if (s === undefined) return false;
  const dAt = after(body, ' dst ', s.end);
  const d = tokenAt(body, dAt >= 0 ? dAt : after(body, ' dest ', s.end));
  const src = endpoint(s.word);
  const dst = endpoint(d?.word);
  if (src.ip === undefined && dst.ip === undefined) return false;
  putFlow(ev, src, dst);
  put(ev, 'interface', src.iface ?? dst.iface);
  return true;
}

/** `... from A to B ...` (106001, 106006, 106015, 106021, 710003, 419002...). */
function parseFromTo(body: string, ev: EventDraft): boolean {
  const fromAt = after(body, 'from ');
  const f = tokenAt(body, fromAt);
  if (f === undefined) return false;
  let src = endpoint(f.word);
  let afterSrc = f.end;
  if (src.ip === undefined) {
    // `from laddr 10.0.0.1` (313004) or `from (10.0.0.1)` (106016).
    const next = tokenAt(body, f.end + 1);
    const alt = endpoint(next?.word);
    if (alt.ip === undefined && f.word.charCodeAt(0) === 40)
      src = endpoint(body.slice(fromAt, body.indexOf(')', fromAt) + 1));
    else if (alt.ip !== undefined && next !== undefined) {
      src = alt;
      afterSrc = next.end;
    }
  }
  const t = tokenAt(body, after(body, ' to ', afterSrc));
  const dst = endpoint(t?.word);
  if (src.ip === undefined && dst.ip === undefined) return false;
  putFlow(ev, src, dst);
  put(ev, 'interface', src.iface ?? dst.iface ?? wordAfter(body, 'on interface '));
  return true;
}

/** Action from the message's own verb, for ids without a dedicated reading. */
function verbAction(body: string): Action {
  const head = body.slice(0, 120).toLowerCase();
  if (
    head.startsWith('deny') ||
    head.startsWith('denied') ||
    head.includes(' denied ') ||
    head.includes(' denied,')
  )
    return 'deny';
  if (
    head.includes('discarded') ||
    head.startsWith('dropp') ||
    head.includes(' dropped') ||
    head.includes(' drop ')
  )
    return 'drop';
  if (head.startsWith('built') || head.startsWith('teardown') || head.includes(' permitted ')) return 'allow';
  return 'other';
}

const GENERIC_PROTO =
  /\b(IPv6-ICMP|ipv6-icmp|ICMPv6|icmpv6|icmp6|tcp|udp|icmp|gre|esp|sctp|TCP|UDP|ICMP|GRE|ESP|SCTP)\b/;

/**
 * `A to B` anywhere in the text (`from A to B`, `flow A to B`, `session A to B`): the first
 * ` to ` whose neighbouring words are both addresses. At most a few occurrences are tried.
 */
function parseAnyTo(body: string, ev: EventDraft): boolean {
  let at = body.indexOf(' to ');
  for (let tries = 0; at > 0 && tries < 6; tries++) {
    const before = body.lastIndexOf(' ', at - 1);
    const src = endpoint(body.slice(before + 1, at));
    const next = tokenAt(body, at + 4);
    const dst = endpoint(next?.word);
    if (src.ip !== undefined && dst.ip !== undefined) {
      putFlow(ev, src, dst);
      put(ev, 'interface', src.iface ?? dst.iface);
      return true;
    }
    at = body.indexOf(' to ', at + 4);
  }
  return false;
}

/**
 * Addresses that VPN, AAA and SSL messages name in words: `IP <a>`, `IP = a`, `IP address: a`,
 * `user IP = a`, `Assigned IP=a`, `client iface:a/p` (the client: src); `server = a` (dst);
 * `Local:a:p Remote:b:p` (IKE peers: local as src, remote as dst).
 */
const NAMED_SRC = ['user IP = ', 'IP <', 'IP = ', 'IP address: ', 'IP address ', 'Assigned IP=', 'client '];
const NAMED_DST = ['server = ', 'server =  '];

function namedEndpoint(body: string, marker: string): Endpoint | undefined {
  const at = body.indexOf(marker);
  if (at < 0) return undefined;
  let start = at + marker.length;
  while (body.charCodeAt(start) === 32) start++;
  let end = start;
  while (end < body.length && end - start < 80) {
    const c = body.charCodeAt(end);
    if (c === 32 || c === 62 /* > */ || c === 44 /* , */) break;
    end++;
  }
  const ep = endpoint(body.slice(start, end));
  return ep.ip !== undefined ? ep : undefined;
}

/** `Local:10.0.0.1:500` / `Remote:host:500`: address and port separated by the last colon. */
function peerEndpoint(body: string, marker: string): Endpoint | undefined {
  const at = body.indexOf(marker);
  if (at < 0) return undefined;
  const start = at + marker.length;
  let end = body.indexOf(' ', start);
  if (end < 0) end = body.length;
  const text = body.slice(start, end);
  const colon = text.lastIndexOf(':');
  const out: Endpoint = {};
  const ip = parseIp(colon > 0 ? text.slice(0, colon) : text) ?? parseIp(text);
  if (ip !== undefined) out.ip = ip;
  const port = colon > 0 ? parsePort(text.slice(colon + 1)) : undefined;
  if (port !== undefined) out.port = port;
  return out.ip !== undefined || out.port !== undefined ? out : undefined;
}

function parseGeneric(body: string, ev: EventDraft): void {
  ev.action = verbAction(body);
  const p = GENERIC_PROTO.exec(body.slice(0, 200));
  if (p !== null) put(ev, 'proto', normaliseProto(p[1]));
  if (parseSrcDst(body, ev) || parseAnyTo(body, ev) || parseFromTo(body, ev)) return;
  const local = peerEndpoint(body, 'Local:');
  if (local !== undefined) {
    const remote = peerEndpoint(body, 'Remote:') ?? {};
    putFlow(ev, local, remote);
    return;
  }
  for (const marker of NAMED_SRC) {
    const ep = namedEndpoint(body, marker);
    if (ep !== undefined) {
      put(ev, 'src_ip', ep.ip);
      put(ev, 'src_port', ep.port);
      put(ev, 'interface', ep.iface);
      break;
    }
  }
  for (const marker of NAMED_DST) {
    const ep = namedEndpoint(body, marker);
    if (ep !== undefined) {
      put(ev, 'dst_ip', ep.ip);
      break;
    }
  }
}

/** Severity words for the ASA level (RFC 5424 severities), used for threat messages. */
const LEVELS = ['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'informational', 'debug'];

/**
 * Fills `ev` from an ASA/FTD message body by message id. Returns a reason when the id is known but
 * its body does not have the documented shape.
 */
export function parseAsaBody(tag: CiscoTag, ev: EventDraft): string | undefined {
  const body = tag.body;
  const words = body.split(' ', 12);
  switch (tag.id) {
    case '106001': // Inbound TCP connection denied from A/p to B/p flags F on interface I
      ev.action = 'deny';
      ev.direction = 'in';
      put(ev, 'proto', normaliseProto(words[1]));
      if (!parseFromTo(body, ev)) return 'no addresses';
      put(ev, 'interface', wordAfter(body, 'on interface '));
      return undefined;
    case '106006': // Deny inbound UDP from A/p to B/p on interface I
    case '106007': // Deny inbound UDP from A/p to B/p due to DNS {Response|Query}
    case '106015': // Deny TCP (no connection) from A/p to B/p flags F on interface I
    case '106021': // Deny P reverse path check from A to B on interface I
    case '106016': // Deny IP spoof from (A) to B on interface I
    case '106017': // Deny IP due to Land Attack from A to B
    case '106022': // Deny P connection spoof from A to B on interface I
      ev.action = 'deny';
      if (words[1] === 'inbound') {
        ev.direction = 'in';
        put(ev, 'proto', protoAt(words, 2));
      } else if (words[1] === 'outbound') {
        ev.direction = 'out';
        put(ev, 'proto', protoAt(words, 2));
      } else if (words[1] !== 'IP') put(ev, 'proto', protoAt(words, 1));
      if (!parseFromTo(body, ev)) return 'no addresses';
      put(ev, 'interface', wordAfter(body, 'on interface '));
      return undefined;
    case '106010': // Deny inbound P src I:A/p dst I:B/p
    case '106014': // Deny inbound icmp src I:A dst I:B (type t, code c)
    case '106023': // Deny P src I:A/p dst I:B/p by access-group "acl" [h1, h2]
      ev.action = 'deny';
      if (words[1] === 'inbound' || words[1] === 'outbound') {
        ev.direction = words[1] === 'inbound' ? 'in' : 'out';
        put(ev, 'proto', protoAt(words, 2));
      } else put(ev, 'proto', protoAt(words, 1));
      if (!parseSrcDst(body, ev)) return 'no src/dst addresses';
      put(ev, 'rule', quotedAfter(body, 'access-group '));
      return undefined;
    case '106100': // access-list ACL {permitted|denied|est-allowed} P I/A(p) -> I/B(p) hit-cnt N ...
    case '106102': {
      // access-list ACL {permitted|denied} P for user U I/A p I/B p hit-cnt N ...
      if (words[0] !== 'access-list') return 'not an access-list message';
      put(ev, 'rule', words[1]);
      ev.action = vendorAction(words[2]);
      put(ev, 'proto', protoAt(words, 3));
      const all = body.split(' ');
      let src: Endpoint = {};
      let dst: Endpoint = {};
      let seen = 0;
      for (let i = 4; i < all.length && seen < 2; i++) {
        const w = all[i]!;
        if (w.indexOf('/') <= 0) continue;
        const ep = aclEndpoint(w);
        if (ep.ip === undefined) continue;
        if (ep.port === undefined) {
          const p = parsePort(all[i + 1]);
          if (p !== undefined) ep.port = p;
        }
        if (seen === 0) src = ep;
        else dst = ep;
        seen++;
      }
      if (seen === 0) return 'no addresses';
      putFlow(ev, src, dst);
      put(ev, 'interface', src.iface);
      return undefined;
    }
    case '302013':
    case '302014':
    case '302015':
    case '302016':
    case '302017':
    case '302018':
    case '302303':
    case '302304':
      return parseConnection(body, words, ev);
    case '302020':
    case '302021':
      return parseIcmpConnection(body, words, ev);
    case '305011': // Built {dynamic|static} P translation from I:A/p to I:M/p
    case '305012': {
      // Teardown {dynamic|static} P translation from I[(acl)]:A/p to I:M/p duration t
      ev.action = 'allow';
      put(ev, 'proto', protoAt(words, 2));
      const f = tokenAt(body, after(body, ' from '));
      const t = tokenAt(body, after(body, ' to ', f?.end ?? 0));
      const real = endpoint(f?.word);
      const mapped = endpoint(t?.word);
      if (real.ip === undefined) return 'no real address';
      put(ev, 'src_ip', real.ip);
      put(ev, 'src_port', real.port);
      putNat(ev, 'src', mapped);
      let iface = real.iface;
      const paren = iface === undefined ? -1 : iface.indexOf('(');
      if (iface !== undefined && paren > 0) iface = iface.slice(0, paren);
      put(ev, 'interface', iface);
      return undefined;
    }
    case '313001': // Denied ICMP type=t, code=c from A on interface I
    case '313008': // Denied IPv6-ICMP type=t, code=c from A on interface I
    case '313004': // Denied ICMP type=t, from [laddr] A on interface I to B: no matching session
      ev.action = 'deny';
      put(ev, 'proto', normaliseProto(words[1]));
      if (!parseFromTo(body, ev)) return 'no addresses';
      put(ev, 'interface', wordAfter(body, 'on interface '));
      return undefined;
    case '313005': // No matching connection for ICMP error message: icmp src I:A dst I:B (...) on I ...
      ev.action = 'drop';
      put(ev, 'proto', 'icmp');
      if (!parseSrcDst(body, ev)) return 'no addresses';
      return undefined;
    case '710001': // TCP access requested from A/p to I:B/svc
    case '710002': // {TCP|UDP} access permitted from A/p to I:B/svc
    case '710003': // {TCP|UDP} access denied by ACL from A/p to I:B/svc
    case '710005': // {TCP|UDP|SCTP} request discarded from A/p to I:B/svc
    case '710006': // P request discarded from A to I:B
      ev.action =
        tag.id === '710003' ? 'deny' : tag.id === '710005' || tag.id === '710006' ? 'drop' : 'allow';
      if (tag.id === '710001') ev.action = 'other';
      put(ev, 'proto', normaliseProto(words[0]));
      if (!parseFromTo(body, ev)) return 'no addresses';
      return undefined;
    case '419002': // Received duplicate TCP SYN from I:A/p to I:B/p with different initial sequence number
      ev.action = 'drop';
      put(ev, 'proto', 'tcp');
      if (!parseFromTo(body, ev)) return 'no addresses';
      return undefined;
    case '733100': {
      // [ Scanning] drop rate-1 exceeded. Current burst rate is ...: a rate alarm about drops
      // already logged one by one, not a verdict on a connection.
      ev.action = 'other';
      const open = body.indexOf('[');
      const close = body.indexOf(']', open + 1);
      if (open >= 0 && close > open)
        put(
          ev,
          'category',
          body
            .slice(open + 1, close)
            .trim()
            .slice(0, 64),
        );
      put(ev, 'severity', LEVELS[Number(tag.level)]);
      return undefined;
    }
    case '430001':
    case '430002':
    case '430003':
    case '430004':
    case '430005':
      return parseFirepowerEvent(body, ev, tag.id);
    default:
      if (tag.id.startsWith('4000') && body.startsWith('IPS:')) {
        // IPS:sig description from A to B on interface I
        ev.action = 'other';
        const space = body.indexOf(' ');
        const from = body.indexOf(' from ');
        if (space > 0 && from > space) put(ev, 'category', body.slice(space + 1, from).slice(0, 64));
        put(ev, 'severity', LEVELS[Number(tag.level)]);
        parseFromTo(body, ev);
        put(ev, 'interface', wordAfter(body, 'on interface '));
        return undefined;
      }
      parseGeneric(body, ev);
      return undefined;
  }
}

/**
 * Splits Firepower's `Key: value, Key Two: value, ...` body. A value runs to the next `, Key:`
 * where Key is a short run of letters, digits, spaces, `_` or `-`: values may hold commas.
 */
export function parseFirepowerPairs(body: string): Map<string, string> {
  const out = new Map<string, string>();
  const n = body.length;
  let keyStart = 0;
  while (keyStart < n) {
    const colon = body.indexOf(': ', keyStart);
    if (colon < 0) break;
    const key = body.slice(keyStart, colon).trim();
    let valueStart = colon + 2;
    // The value ends at the first `, ` that is followed by `Key: `.
    let end = -1;
    let search = valueStart;
    for (;;) {
      const comma = body.indexOf(', ', search);
      if (comma < 0) break;
      if (looksLikeKey(body, comma + 2)) {
        end = comma;
        break;
      }
      search = comma + 2;
    }
    if (end < 0) end = n;
    if (key.length > 0 && key.length <= 48) out.set(key, body.slice(valueStart, end).trim());
    keyStart = end + 2;
    valueStart = keyStart;
  }
  return out;
}

function looksLikeKey(text: string, at: number): boolean {
  const limit = Math.min(text.length, at + 48);
  for (let i = at; i < limit; i++) {
    const c = text.charCodeAt(i);
    if (c === 58 /* : */) return i > at && text.charCodeAt(i + 1) === 32;
    const word =
      (c >= 65 && c <= 90) ||
      (c >= 97 && c <= 122) ||
      (c >= 48 && c <= 57) ||
      c === 32 ||
      c === 95 ||
      c === 45;
    if (!word) return false;
  }
  return false;
}

const PRIORITY_WORDS: Readonly<Record<string, string>> = {
  '1': 'high',
  '2': 'medium',
  '3': 'low',
  '4': 'low',
};

/** 430001 (intrusion), 430002/430003 (connection start/end), 430004/430005 (file, malware). */
export function parseFirepowerEvent(body: string, ev: EventDraft, id: string): string | undefined {
  const kv = parseFirepowerPairs(body);
  if (kv.size === 0) return 'no Key: value pairs';
  const g = (k: string): string | undefined => kv.get(k);
  put(ev, 'src_ip', parseIp(g('SrcIP') ?? g('InitiatorIP')));
  put(ev, 'dst_ip', parseIp(g('DstIP') ?? g('ResponderIP')));
  put(ev, 'proto', normaliseProto(g('Protocol')));
  put(ev, 'src_port', parsePort(g('SrcPort') ?? g('InitiatorPort')));
  put(ev, 'dst_port', parsePort(g('DstPort') ?? g('ResponderPort')));
  const action =
    g('AccessControlRuleAction') ?? g('InlineResult') ?? g('FileAction') ?? g('PrefilterRuleAction');
  ev.action = vendorAction(action);
  put(ev, 'src_nat_ip', parseIp(g('NAT_InitiatorAddress')));
  put(ev, 'src_nat_port', parsePort(g('NAT_InitiatorPort')));
  put(ev, 'dst_nat_ip', parseIp(g('NAT_ResponderAddress')));
  put(ev, 'dst_nat_port', parsePort(g('NAT_ResponderPort')));
  put(ev, 'bytes', sumCounts(g('InitiatorBytes'), g('ResponderBytes')));
  put(ev, 'packets', sumCounts(g('InitiatorPackets'), g('ResponderPackets')));
  put(ev, 'rule', (g('AccessControlRuleName') ?? g('PrefilterRuleName'))?.slice(0, 128));
  put(ev, 'interface', g('IngressInterface')?.slice(0, 64));
  const category = g('Classification') ?? g('ThreatName') ?? g('Message');
  if (category !== undefined && category !== '') put(ev, 'category', category.slice(0, 64));
  const priority = g('Priority');
  if (priority !== undefined) put(ev, 'severity', PRIORITY_WORDS[priority] ?? priority.slice(0, 32));
  // FirstPacketSecond is when the connection began: the event's own time for a connection start
  // (430002), so it beats the header there; for the other events only a fallback.
  const first = parseLooseDate(g('FirstPacketSecond') ?? g('EventSecond'));
  if (first !== undefined && (id === '430002' || ev.ts === undefined)) ev.ts = first;
  if (ev.src_ip === undefined && ev.dst_ip === undefined) return 'no SrcIP/DstIP';
  return undefined;
}

/**
 * AnyConnect/WebVPN session messages (716xxx, 722xxx, 113039...) whose `%ASA-n-id:` tag a
 * collector cut off: `Group <g> User <u> IP <a> ...`. Read with the generic rules.
 */
function isUntaggedVpnBody(text: string): boolean {
  return text.startsWith('Group <') && text.includes('> User <') && text.includes('> IP <');
}

export function parseCisco(msg: SyslogMessage, vendor: string): ParseResult {
  let tag = ciscoTag(msg);
  if (tag === undefined && isUntaggedVpnBody(msg.msg.trim())) {
    tag = { facility: 'ASA', level: '6', id: '000000', body: msg.msg.trim() };
  }
  if (tag === undefined) return refuse('no %ASA-/%FTD- message tag');
  const ev: EventDraft = { vendor, action: 'other' };
  put(ev, 'ts', msg.ts);
  const reason = parseAsaBody(tag, ev);
  if (reason !== undefined) return refuse(`${tag.facility}-${tag.id}: ${reason}`);
  return finishAsWritten(ev);
}

export const family: ParserFamily = {
  name: NAME,
  products: ['Cisco ASA', 'Cisco PIX', 'Cisco FWSM'],
  detect(msg: SyslogMessage): number {
    const app = msg.app;
    if (app !== undefined && (app.startsWith('%ASA-') || app.startsWith('%PIX-') || app.startsWith('%FWSM-')))
      return 0.95;
    if (msg.raw.includes('%ASA-') || msg.raw.includes('%PIX-') || msg.raw.includes('%FWSM-')) return 0.9;
    return isUntaggedVpnBody(msg.msg.trim()) ? 0.3 : 0;
  },
  parse(msg: SyslogMessage): ParseResult {
    return parseCisco(msg, NAME);
  },
};
