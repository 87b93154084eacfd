/**
 * Juniper SRX (Junos OS) security logs: RT_FLOW session create/close/deny, RT_SCREEN and RT_IDP,
 * in the structured form (RFC 5424 SD-ID `junos@2636.1.1.1.2.NN` with `source-address="..."` pairs)
 * and the plain ("brief") form, per the Junos System Log Explorer message formats:
 *
 *   RT_FLOW_SESSION_CREATE: session created SRC/SP->DST/DP [0xTAG] SERVICE NSRC/NSP->NDST/NDP [0xTAG]
 *     SRC-NAT-TYPE SRC-NAT-RULE DST-NAT-TYPE DST-NAT-RULE PROTO POLICY FROM-ZONE TO-ZONE SESSION-ID ...
 *   RT_FLOW_SESSION_CLOSE: session closed REASON: (same) ... SESSION-ID PKTS(BYTES) PKTS(BYTES) ...
 *   RT_FLOW_SESSION_DENY: session denied SRC/SP->DST/DP [0xTAG] SERVICE PROTO(ICMP-TYPE) POLICY
 *     FROM-ZONE TO-ZONE ...
 *
 * The Junos management daemons (`mgd` UI_* events) are recognised too, so that a member's SRX is
 * identified by all of its lines; they carry no traffic decision (`other`).
 */
import type { Action } from '../../../protocol/event.js';
import { parseIp } from '../kit/address.js';
import { type EventDraft, finish, refuse } from '../kit/draft.js';
import { parseKeyValues } from '../kit/key-values.js';
import { parseCount, parsePort, sum } from '../kit/number.js';
import { normaliseProto } from '../kit/proto.js';
import { text } from '../kit/text.js';
import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'juniper_srx';

/** `mgd[123]: UI_LOGIN_EVENT:`-style Junos daemon events (upper-case tag after the process). */
const JUNOS_DAEMON =
  /(?:^|\s)(?:mgd|eventd|sshd|kmd|rpd|chassisd|dcd|alarmd|jsrpd|utmd|idpd)\[\d{1,10}\]: [A-Z][A-Z0-9]*_[A-Z0-9_]+(?::|\s|$)/;

/**
 * FreeBSD daemons that Junos runs and logs through the same syslog (sshd, cron, rshd, keyadmin...).
 * Alone they could come from any BSD host, so they get a low confidence: a source already known as
 * an SRX keeps them, anything more specific wins.
 */
const JUNOS_BSD_DAEMONS = new Set([
  'sshd',
  'cron',
  'rshd',
  'keyadmin',
  'inetd',
  'login',
  'xntpd',
  'ntpd',
  'snmpd',
  'mib2d',
  'pfed',
  'lacpd',
  'bfdd',
  'ppmd',
  'l2ald',
  'craftd',
]);

/** The header's tag (`sshd`, `/usr/sbin/cron`) names one of those daemons, with a pid. */
function isBsdDaemon(msg: SyslogMessage): boolean {
  const app = msg.app;
  if (app === undefined || msg.procId === undefined) return false;
  return JUNOS_BSD_DAEMONS.has(app.slice(app.lastIndexOf('/') + 1));
}

/**
 * A cheap necessary condition for JUNOS_DAEMON: some `d[DIGITS]: ` (every daemon name there ends in
 * `d`). Hops between `]` characters; the regex runs only on the few lines that pass.
 */
function mayBeJunosDaemon(s: string): boolean {
  for (let close = s.indexOf(']: '); close >= 0; close = s.indexOf(']: ', close + 3)) {
    let i = close - 1;
    while (i >= 0 && close - i <= 10) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      i--;
    }
    if (i < close - 1 && s.charCodeAt(i) === 91 /* [ */ && s.charCodeAt(i - 1) === 100 /* d */) return true;
  }
  return false;
}

function detect(msg: SyslogMessage): number {
  const s = msg.raw;
  // Every tag below holds `_`; the structured-data id holds `@`. One `memchr` each rules out most
  // other vendors' lines before any substring search.
  const underscore = s.indexOf('_');
  if (s.indexOf('@') >= 0 && s.includes('junos@2636.')) return 0.95;
  if (underscore >= 0) {
    const rt = s.indexOf('RT_', underscore - 2);
    if (
      (rt >= 0 &&
        (s.includes('RT_FLOW_SESSION_', rt) || s.includes('RT_SCREEN_', rt) || s.includes('RT_IDP_', rt))) ||
      s.includes('APPTRACK_SESSION_', underscore - 8)
    )
      return 0.9;
    if (rt >= 0 && (s.includes('RT_FLOW', rt) || s.includes('RT_IDS', rt))) return 0.6;
  }
  if (mayBeJunosDaemon(s) && JUNOS_DAEMON.test(s)) return 0.5;
  if (isBsdDaemon(msg)) return 0.15;
  return 0;
}

/** The event tag (`RT_FLOW_SESSION_CREATE`, `RT_SCREEN_TCP`, ...) that appears first in the line. */
function eventTag(s: string): string | undefined {
  const m = /\b((?:RT_FLOW|RT_SCREEN|RT_IDP|RT_IDS|APPTRACK)_[A-Z0-9_]{1,40})\b/.exec(s);
  return m ? m[1] : undefined;
}

function flowAction(tag: string): Action {
  if (tag.endsWith('_DENY')) return 'deny';
  if (
    tag.endsWith('_CREATE') ||
    tag.endsWith('_CLOSE') ||
    tag.endsWith('_UPDATE') ||
    tag.endsWith('_ROUTE_UPDATE')
  )
    return 'allow';
  return 'other';
}

/** RT_SCREEN `action`: `drop`, `alarm-without-drop` (the packet went through), `alarm`. */
function screenAction(value: string | undefined): Action {
  const v = value?.toLowerCase() ?? '';
  if (v === '') return 'other';
  if (v.includes('without-drop') || v === 'alarm') return 'allow';
  if (v.includes('drop')) return 'drop';
  if (v.includes('reject') || v.includes('close')) return 'reject';
  return 'other';
}

/** RT_IDP `action`: NONE/IGNORE pass the traffic; DROP* drop it; CLOSE* reset it. */
function idpAction(value: string | undefined): Action {
  const v = value?.toLowerCase() ?? '';
  if (v === 'none' || v === 'ignore' || v === 'no-action') return 'allow';
  if (v.startsWith('drop')) return 'drop';
  if (v.startsWith('close')) return 'reject';
  return 'other';
}

function zonePair(from: string | undefined, to: string | undefined): string | undefined {
  const f = text(from);
  const t = text(to);
  return f !== undefined && t !== undefined ? `${f}->${t}` : undefined;
}

function parseStructured(s: string, sdAt: number, msg: SyslogMessage): ParseResult {
  // `[junos@2636.1.1.1.2.NN key="v" ...]`, or `[key="v" ...]` when a relay dropped the SD-ID.
  const from = s.startsWith('[junos@', sdAt) ? s.indexOf(' ', sdAt) + 1 : sdAt + 1;
  const end = s.indexOf('"]', from);
  const kv = parseKeyValues(s.slice(from, end < 0 ? s.length : end + 1));
  const tag = eventTag(s) ?? '';
  let action: Action;
  if (tag.startsWith('RT_SCREEN')) action = screenAction(kv.get('action'));
  else if (tag.startsWith('RT_IDP')) action = idpAction(kv.get('action'));
  else action = flowAction(tag);
  const draft: EventDraft = {
    ts: msg.ts,
    src_ip: parseIp(kv.get('source-address')),
    src_port: parsePort(kv.get('source-port')),
    dst_ip: parseIp(kv.get('destination-address')),
    dst_port: parsePort(kv.get('destination-port')),
    proto: normaliseProto(
      text(kv.get('protocol-id')) ?? text(kv.get('protocol-name')) ?? text(kv.get('protocol')),
    ),
    action,
    src_nat_ip: parseIp(kv.get('nat-source-address')),
    src_nat_port: parsePort(kv.get('nat-source-port')),
    dst_nat_ip: parseIp(kv.get('nat-destination-address')),
    dst_nat_port: parsePort(kv.get('nat-destination-port')),
    bytes: sum(parseCount(kv.get('bytes-from-client')), parseCount(kv.get('bytes-from-server'))),
    packets: sum(parseCount(kv.get('packets-from-client')), parseCount(kv.get('packets-from-server'))),
    rule: text(kv.get('policy-name')) ?? text(kv.get('rule-name')),
    interface: text(kv.get('packet-incoming-interface')) ?? text(kv.get('interface-name')),
    direction: zonePair(kv.get('source-zone-name'), kv.get('destination-zone-name')),
    category: text(kv.get('attack-name')),
    severity: text(kv.get('threat-severity')) ?? text(kv.get('severity')),
  };
  return finish(NAME, draft);
}

/** `ADDR/PORT->ADDR/PORT` (IPv4 or IPv6); undefined when the token is not such a pair. */
function tuple(token: string): { sip: string; sport?: number; dip: string; dport?: number } | undefined {
  const arrow = token.indexOf('->');
  if (arrow < 0) return undefined;
  const a = token.slice(0, arrow);
  const b = token.slice(arrow + 2);
  const sa = a.lastIndexOf('/');
  const sb = b.lastIndexOf('/');
  const sip = parseIp(sa < 0 ? a : a.slice(0, sa));
  const dip = parseIp(sb < 0 ? b : b.slice(0, sb));
  if (sip === undefined || dip === undefined) return undefined;
  const out: { sip: string; sport?: number; dip: string; dport?: number } = { sip, dip };
  const sport = sa < 0 ? undefined : parsePort(a.slice(sa + 1));
  const dport = sb < 0 ? undefined : parsePort(b.slice(sb + 1));
  if (sport !== undefined) out.sport = sport;
  if (dport !== undefined) out.dport = dport;
  return out;
}

const PROTO_TOKEN = /^(\d{1,3})(?:\(\d{1,5}\))?$/;
const COUNT_PAIR = /^(\d{1,15})\((\d{1,15})\)$/;

function parseFlowPlain(s: string, tag: string, msg: SyslogMessage): ParseResult {
  let at = s.indexOf(tag) + tag.length;
  // The close reason may hold spaces ("session closed TCP FIN: ..."); the tuple follows its colon.
  if (tag.endsWith('_CLOSE')) {
    const colon = s.indexOf(': ', s.indexOf('session closed', at) + 1);
    if (colon > 0) at = colon + 2;
  }
  const tokens = s.slice(at).split(' ', 64);
  let i = 0;
  let first: ReturnType<typeof tuple>;
  for (; i < tokens.length && first === undefined; i++) first = tuple(tokens[i]!);
  if (first === undefined) return refuse('juniper: RT_FLOW line without a src/port->dst/port pair');
  let nat: ReturnType<typeof tuple>;
  // CREATE/CLOSE: [0xTAG] SERVICE NAT-TUPLE; DENY has no NAT tuple.
  for (let j = i; j < Math.min(tokens.length, i + 3) && nat === undefined; j++) {
    nat = tuple(tokens[j]!);
    if (nat !== undefined) i = j + 1;
  }
  let proto: string | undefined;
  let rule: string | undefined;
  let direction: string | undefined;
  let packets: number | undefined;
  let bytes: number | undefined;
  for (; i < tokens.length; i++) {
    const m = PROTO_TOKEN.exec(tokens[i]!);
    if (m && (nat !== undefined || i > 0)) {
      proto = normaliseProto(m[1]);
      rule = text(tokens[i + 1]);
      direction = zonePair(tokens[i + 2], tokens[i + 3]);
      i += 4;
      break;
    }
  }
  for (let seen = 0; i < tokens.length && seen < 2; i++) {
    const m = COUNT_PAIR.exec(tokens[i]!);
    if (m) {
      packets = sum(packets, parseCount(m[1]));
      bytes = sum(bytes, parseCount(m[2]));
      seen++;
    } else if (seen > 0) break;
  }
  const draft: EventDraft = {
    ts: msg.ts,
    src_ip: first.sip,
    src_port: first.sport,
    dst_ip: first.dip,
    dst_port: first.dport,
    proto,
    action: flowAction(tag),
    src_nat_ip: nat?.sip,
    src_nat_port: nat?.sport,
    dst_nat_ip: nat?.dip,
    dst_nat_port: nat?.dport,
    bytes,
    packets,
    rule,
    direction,
  };
  return finish(NAME, draft);
}

/** `RT_SCREEN_TCP: SYN flood! source: 1.2.3.4:1234, destination: 5.6.7.8:80, zone name: untrust,
 * interface name: ge-0/0/0.0, action: drop.` */
function parseScreenPlain(s: string, tag: string, msg: SyslogMessage): ParseResult {
  const body = s.slice(s.indexOf(tag) + tag.length);
  const src = /source: ([0-9a-fA-F:.]{2,45}?)(?::(\d{1,5}))?,/.exec(body);
  const dst = /destination: ([0-9a-fA-F:.]{2,45}?)(?::(\d{1,5}))?,/.exec(body);
  const act = /action: ([a-z-]{1,32})/.exec(body);
  const name = /^: ([^!,]{1,64})!/.exec(body);
  const iface = /interface name: ([^,\s]{1,64})/.exec(body);
  const zone = /zone name: ([^,\s]{1,64})/.exec(body);
  const draft: EventDraft = {
    ts: msg.ts,
    src_ip: parseIp(src?.[1]),
    src_port: parsePort(src?.[2]),
    dst_ip: parseIp(dst?.[1]),
    dst_port: parsePort(dst?.[2]),
    action: screenAction(act?.[1]),
    interface: iface?.[1],
    direction: zone?.[1],
    category: name?.[1]?.trim(),
  };
  return finish(NAME, draft);
}

/** `RT_IDP_ATTACK_LOG: IDP: at TIME, ANOMALY Attack log <SRC/SP->DST/DP> for TCP protocol and service
 * ... attack: repeat=0, action=DROP, threat-severity=HIGH, name=..., NAT <...>, ...` */
function parseIdpPlain(s: string, tag: string, msg: SyslogMessage): ParseResult {
  const lt = s.indexOf('<', s.indexOf(tag));
  // The closing `>` is the one after the tuple's own `->`.
  const arrow = lt < 0 ? -1 : s.indexOf('->', lt);
  const gt = arrow < 0 ? -1 : s.indexOf('>', arrow + 2);
  const t = gt < 0 ? undefined : tuple(s.slice(lt + 1, gt));
  const proto = /\bfor ([A-Za-z0-9-]{1,16}) protocol\b/.exec(s);
  const act = /\baction=([A-Za-z-]{1,32})/.exec(s);
  const sev = /\bthreat-severity=([A-Za-z]{1,16})/.exec(s);
  const name = /\bname=([^,]{1,64})/.exec(s);
  const draft: EventDraft = {
    ts: msg.ts,
    src_ip: t?.sip,
    src_port: t?.sport,
    dst_ip: t?.dip,
    dst_port: t?.dport,
    proto: normaliseProto(proto?.[1]),
    action: idpAction(act?.[1]),
    category: name?.[1],
    severity: sev?.[1],
  };
  return finish(NAME, draft);
}

/** `ssh-connection 'CLIENT CPORT SERVER SPORT'` in UI_LOGIN_EVENT and friends. */
function parseDaemon(s: string, msg: SyslogMessage): ParseResult {
  const draft: EventDraft = { ts: msg.ts, action: 'other' };
  const ssh = /ssh-connection '([0-9a-fA-F:.]{2,45}) (\d{1,5}) ([0-9a-fA-F:.]{2,45}) (\d{1,5})'/.exec(s);
  if (ssh) {
    draft.src_ip = parseIp(ssh[1]);
    draft.src_port = parsePort(ssh[2]);
    draft.dst_ip = parseIp(ssh[3]);
    draft.dst_port = parsePort(ssh[4]);
    return finish(NAME, draft);
  }
  // sshd `... from A port P ...`; rshd `user@A as user: ...`.
  const from = /\bfrom ([0-9a-fA-F:.]{2,45}) port (\d{1,5})\b/.exec(s);
  if (from) {
    draft.src_ip = parseIp(from[1]);
    draft.src_port = parsePort(from[2]);
    return finish(NAME, draft);
  }
  const at = /^[A-Za-z0-9_.-]{1,32}@([0-9a-fA-F:.]{2,45}) /.exec(msg.msg);
  if (at) draft.src_ip = parseIp(at[1]);
  // Plain BSD daemons (sshd, cron...) run on any Unix host: claim their lines only when they carry an
  // address, so a Linux box's chatter is counted as unparsed rather than sent as a Junos event.
  if (draft.src_ip === undefined && !JUNOS_DAEMON.test(s))
    return refuse('juniper: daemon line without an address');
  return finish(NAME, draft);
}

function parse(msg: SyslogMessage): ParseResult {
  const s = msg.raw;
  const sdAt = s.indexOf('[junos@2636.');
  if (sdAt >= 0) return parseStructured(s, sdAt, msg);
  const tag = eventTag(s);
  if (tag !== undefined) {
    // Some relays keep the `[attr="..." ...]` block without the SD-ID.
    const bracket = s.indexOf('[', s.indexOf(tag));
    if (bracket >= 0 && /^\[[a-z-]{2,40}="/.test(s.slice(bracket, bracket + 44)))
      return parseStructured(s, bracket, msg);
    if (tag.startsWith('RT_FLOW_SESSION') || tag.startsWith('APPTRACK_SESSION'))
      return parseFlowPlain(s, tag, msg);
    if (tag.startsWith('RT_SCREEN')) return parseScreenPlain(s, tag, msg);
    if (tag.startsWith('RT_IDP')) return parseIdpPlain(s, tag, msg);
    return finish(NAME, { ts: msg.ts, action: 'other' });
  }
  if (JUNOS_DAEMON.test(s) || isBsdDaemon(msg)) return parseDaemon(s, msg);
  return refuse('juniper: no RT_FLOW/RT_SCREEN/RT_IDP tag nor junos structured data');
}

export const family: ParserFamily = {
  name: NAME,
  products: ['Juniper SRX (Junos OS RT_FLOW, RT_SCREEN, RT_IDP)'],
  detect,
  parse,
};
