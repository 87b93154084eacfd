/**
 * Sophos Firewall (XG / SFOS) key=value logs and Sophos UTM (ASG) `ulogd`/`id="NNNN"` logs.
 *
 * SFOS up to 18.x writes `device="SFW" date=YYYY-MM-DD time=hh:mm:ss timezone="TZ" ... log_type=
 * log_component= log_subtype= src_ip= dst_ip= protocol= src_port= dst_port= src_trans_ip= ...`;
 * SFOS 19+ writes `timestamp="YYYY-MM-DDThh:mm:ss±hhmm" device_model= ... log_type= ...` with the
 * same address keys. UTM writes `[YYYY:MM:DD-hh:mm:ss host ulogd[pid]: ]id="2002" severity="info"
 * sys="SecureNet" sub="packetfilter" name="Packet dropped" action="drop" fwrule= initf= srcip= dstip=
 * proto="17" srcport= dstport=`.
 */

import { normaliseAction } from '../kit/action.js';
import { parseIp } from '../kit/address.js';
import { type EventDraft, finish, refuse } from '../kit/draft.js';
import { parseKeyValues } from '../kit/key-values.js';
import { parseCount, parsePort, sum } from '../kit/number.js';
import { normaliseProto } from '../kit/proto.js';
import { text } from '../kit/text.js';
import { isoFromDateTime, localIso, zoneOffset } from '../kit/time.js';
import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'sophos_xg';

/** SFOS log types that describe threats: their severity is worth keeping. */
const THREAT_TYPES = new Set(['IDP', 'Anti-Virus', 'ATP', 'Advanced Threat Protection', 'Anti-Spam', 'WAF']);

function isXg(s: string): boolean {
  return s.includes('log_type=') && (s.includes('log_component=') || s.includes('device="SFW"'));
}

function isUtm(s: string): boolean {
  return s.includes('id="') && s.includes(' sys="') && s.includes(' sub="');
}

function detect(msg: SyslogMessage): number {
  const s = msg.raw;
  if (isXg(s)) return s.includes('device="SFW"') || s.includes('log_subtype=') ? 0.95 : 0.8;
  if (isUtm(s)) return 0.85;
  return 0;
}

/** SFOS 19 `timestamp="2025-03-12T11:03:06-0400"`, or the older date/time/timezone triple. */
function xgTimestamp(kv: Map<string, string>, msg: SyslogMessage): string | undefined {
  const stamp = kv.get('timestamp');
  if (stamp !== undefined && stamp.length >= 19) {
    const zone = stamp.slice(19).replace(/^\.\d+/, '');
    const iso = isoFromDateTime(
      stamp.slice(0, 10),
      stamp.slice(11, 19),
      zone === '' ? 'Z' : zoneOffset(zone),
    );
    if (iso !== undefined) return iso;
  }
  const date = kv.get('date');
  const time = kv.get('time');
  if (date !== undefined && time !== undefined) {
    const iso = localIso(date, time, kv.get('timezone'));
    if (iso !== undefined) return iso;
  }
  return msg.ts;
}

function parseXg(kv: Map<string, string>, msg: SyslogMessage): ParseResult {
  const logType = kv.get('log_type') ?? '';
  const subtype = kv.get('log_subtype');
  let action = normaliseAction(subtype);
  if (action === 'other') action = normaliseAction(kv.get('status'));
  // A translated port without a translated address (`src_trans_ip="" src_trans_port=0`) is no NAT.
  const natSrc = parseIp(kv.get('src_trans_ip'));
  const natDst = parseIp(kv.get('dst_trans_ip'));
  const draft: EventDraft = {
    ts: xgTimestamp(kv, msg),
    src_ip: parseIp(kv.get('src_ip') ?? kv.get('srcip')),
    src_port: parsePort(kv.get('src_port') ?? kv.get('srcport')),
    dst_ip: parseIp(kv.get('dst_ip') ?? kv.get('dstip')),
    dst_port: parsePort(kv.get('dst_port') ?? kv.get('dstport')),
    proto: normaliseProto(text(kv.get('protocol'))),
    action,
    src_nat_ip: natSrc,
    src_nat_port: natSrc !== undefined ? parsePort(kv.get('src_trans_port')) : undefined,
    dst_nat_ip: natDst,
    dst_nat_port: natDst !== undefined ? parsePort(kv.get('dst_trans_port')) : undefined,
    bytes: sum(parseCount(kv.get('sent_bytes')), parseCount(kv.get('recv_bytes'))),
    packets: sum(parseCount(kv.get('sent_pkts')), parseCount(kv.get('recv_pkts'))),
    rule: text(kv.get('fw_rule_name')) ?? text(kv.get('fw_rule_id')),
    interface: text(kv.get('in_interface')) ?? text(kv.get('in_display_interface')),
    direction: undefined,
    category: undefined,
    severity: undefined,
  };
  if (THREAT_TYPES.has(logType)) {
    draft.category = text(kv.get('classification')) ?? text(kv.get('category')) ?? logType;
    draft.severity = text(kv.get('severity')) ?? text(kv.get('priority'));
  }
  return finish(NAME, draft);
}

/** UTM lines carry their own date as `YYYY:MM:DD-hh:mm:ss` (local time, zone not given). */
const UTM_DATE = /(\d{4}):(\d{2}):(\d{2})-(\d{2}:\d{2}:\d{2})/;

function parseUtm(body: string, msg: SyslogMessage): ParseResult {
  const kv = parseKeyValues(body);
  const head = msg.raw.slice(0, Math.max(0, msg.raw.indexOf('id="')));
  const d = UTM_DATE.exec(head);
  const sub = kv.get('sub');
  const draft: EventDraft = {
    ts: (d ? isoFromDateTime(`${d[1]}-${d[2]}-${d[3]}`, d[4]!) : undefined) ?? msg.ts,
    src_ip: parseIp(kv.get('srcip')),
    src_port: parsePort(kv.get('srcport')),
    dst_ip: parseIp(kv.get('dstip')),
    dst_port: parsePort(kv.get('dstport')),
    proto: normaliseProto(text(kv.get('proto'))),
    // UTM's own words: drop, accept, reject (packet filter), pass/drop (IPS). Lines without an
    // action (auth, system) describe no traffic decision.
    action: normaliseAction(kv.get('action')),
    bytes: parseCount(kv.get('length')),
    rule: text(kv.get('fwrule')),
    interface: text(kv.get('initf')),
  };
  if (sub === 'ips') {
    draft.category = text(kv.get('group')) ?? text(kv.get('reason'));
    draft.severity = text(kv.get('severity'));
  }
  return finish(NAME, draft);
}

function parse(msg: SyslogMessage): ParseResult {
  const s = msg.raw;
  if (isXg(s)) {
    const start = msg.msg.includes('log_type=') ? msg.msg : s;
    const kv = parseKeyValues(start);
    if (!kv.has('log_type')) return refuse('sophos: no log_type');
    return parseXg(kv, msg);
  }
  if (isUtm(s)) {
    const at = s.indexOf('id="');
    return parseUtm(s.slice(at), msg);
  }
  return refuse('sophos: neither SFOS log_type= nor UTM id=/sys=/sub= fields');
}

export const family: ParserFamily = {
  name: NAME,
  products: ['Sophos Firewall (XG, SFOS)', 'Sophos UTM (ASG)'],
  detect,
  parse,
};
