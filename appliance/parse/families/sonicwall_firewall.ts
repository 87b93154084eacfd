/**
 * SonicWall SonicOS "default" syslog format (`id=firewall sn=... time="..." fw=... pri= c= m= msg=
 * src=ip:port:iface[:host] dst=ip:port:iface[:host] proto=tcp/https sent= rcvd= rule=`) and its
 * ArcSight CEF form (`CEF:0|SonicWall|...|m|msg|pri|src= spt= dst= dpt= proto=tcp/https ...`).
 */

import type { Action } from '../../../protocol/event.js';
import { hostPort, parseIp, splitAddress } from '../kit/address.js';
import { cefIndex, cefTime, parseCef } from '../kit/cef-format.js';
import { type EventDraft, finish, refuse } from '../kit/draft.js';
import { parseKeyValues } from '../kit/key-values.js';
import { parseCount, parsePort, sum } from '../kit/number.js';
import { normaliseProto } from '../kit/proto.js';
import { text } from '../kit/text.js';
import { isoFromDateTime } from '../kit/time.js';
import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'sonicwall_firewall';

/** Message ids (`m=`) whose meaning is a traffic decision, from the SonicOS log event reference. */
const ACTION_BY_MESSAGE_ID: Readonly<Record<string, Action>> = {
  '14': 'deny', // Web site access denied
  '22': 'drop', // Ping of death blocked
  '23': 'drop', // IP spoof dropped
  '27': 'drop', // Land attack dropped
  '36': 'drop', // TCP packet dropped
  '37': 'drop', // UDP packet dropped
  '38': 'drop', // ICMP packet dropped due to policy
  '41': 'drop', // Unknown protocol dropped
  '97': 'allow', // Web site hit
  '98': 'allow', // Connection Opened
  '537': 'allow', // Connection Closed
  '597': 'allow', // ICMP packet allowed
  '598': 'allow', // ICMPv6 packet allowed
  '1235': 'allow', // Connection opened (IPv6)
};

function detect(msg: SyslogMessage): number {
  const s = msg.raw;
  if (
    cefIndex(s) >= 0 &&
    (s.includes('|SonicWall|') || s.includes('|SonicWALL|') || s.includes('|Dell|SonicWALL'))
  )
    return 0.95;
  if (s.includes('id=firewall') && s.includes(' sn=') && s.includes(' m=')) return 0.9;
  return 0;
}

/** `fw_action` (SonicOS 6.5+) first, then the message id, then the message text. */
function actionOf(
  fwAction: string | undefined,
  messageId: string | undefined,
  text_: string | undefined,
): Action {
  const fa = fwAction?.toLowerCase();
  if (fa === 'drop') return 'drop';
  if (fa === 'forward' || fa === 'mgmt') return 'allow';
  if (fa === 'reject' || fa === 'deny') return fa;
  const byId = messageId === undefined ? undefined : ACTION_BY_MESSAGE_ID[messageId];
  if (byId !== undefined) return byId;
  const m = text_?.toLowerCase() ?? '';
  if (m.includes('dropped')) return 'drop';
  if (m.includes('denied') || m.includes('blocked')) return 'deny';
  if (m.includes('connection opened') || m.includes('connection closed') || m.includes('allowed'))
    return 'allow';
  return 'other';
}

/** `time="2024-01-01 10:00:00"` (device local) or `time="2024-01-01 10:00:00 UTC"`. */
function timeOf(value: string | undefined): string | undefined {
  if (value === undefined || value.length < 19) return undefined;
  const zone = value.slice(19).trim();
  return isoFromDateTime(
    value.slice(0, 10),
    value.slice(11, 19),
    zone === '' || zone === 'UTC' ? 'Z' : undefined,
  );
}

function parseNative(body: string, msg: SyslogMessage): ParseResult {
  const kv = parseKeyValues(body);
  const src = splitAddress(kv.get('src'));
  const dst = splitAddress(kv.get('dst'));
  const natSrc = hostPort(kv.get('natSrc'));
  const natDst = hostPort(kv.get('natDst'));
  const srcZone = text(kv.get('srcZone'));
  const dstZone = text(kv.get('dstZone'));
  const draft: EventDraft = {
    ts: timeOf(kv.get('time')) ?? msg.ts,
    src_ip: src.ip,
    src_port: parsePort(src.rest[0]),
    dst_ip: dst.ip,
    dst_port: parsePort(dst.rest[0]),
    proto: normaliseProto(text(kv.get('proto'))),
    action: actionOf(kv.get('fw_action'), kv.get('m'), kv.get('msg')),
    src_nat_ip: natSrc.ip,
    src_nat_port: natSrc.port,
    dst_nat_ip: natDst.ip,
    dst_nat_port: natDst.port,
    bytes: sum(parseCount(kv.get('sent')), parseCount(kv.get('rcvd'))),
    packets: sum(parseCount(kv.get('spkt')), parseCount(kv.get('rpkt'))),
    rule: text(kv.get('rule')),
    interface: text(src.rest[1]),
    direction: srcZone !== undefined && dstZone !== undefined ? `${srcZone}->${dstZone}` : undefined,
  };
  return finish(NAME, draft);
}

function parseCefForm(msg: SyslogMessage): ParseResult {
  const cef = parseCef(msg.raw);
  if (cef === undefined) return refuse('sonicwall: malformed CEF');
  const ext = cef.ext;
  const get = (k: string): string | undefined => {
    const v = ext.get(k);
    return v === undefined ? undefined : v.trim();
  };
  // SonicOS puts the translated addresses in the custom-string labels (cs1Label = NAT source,
  // cs2Label = NAT destination) beside the standard translated-port keys snpt/dnpt.
  const natSrcIp = parseIp(get('sourceTranslatedAddress')) ?? parseIp(get('cs1Label'));
  const natDstIp = parseIp(get('destinationTranslatedAddress')) ?? parseIp(get('cs2Label'));
  const draft: EventDraft = {
    ts: cefTime(get('rt')) ?? msg.ts,
    src_ip: parseIp(get('src')),
    src_port: parsePort(get('spt')),
    dst_ip: parseIp(get('dst')),
    dst_port: parsePort(get('dpt')),
    proto: normaliseProto(text(get('proto'))),
    action: actionOf(get('fw_action'), cef.signatureId, cef.name),
    src_nat_ip: natSrcIp,
    src_nat_port: natSrcIp === undefined ? undefined : parsePort(get('snpt') ?? get('sourceTranslatedPort')),
    dst_nat_ip: natDstIp,
    dst_nat_port:
      natDstIp === undefined ? undefined : parsePort(get('dnpt') ?? get('destinationTranslatedPort')),
    bytes: sum(parseCount(get('in')), parseCount(get('out'))),
    rule: text(get('cs1')),
    interface: text(get('deviceInboundInterface')),
  };
  return finish(NAME, draft);
}

function parse(msg: SyslogMessage): ParseResult {
  if (cefIndex(msg.raw) >= 0) return parseCefForm(msg);
  const at = msg.raw.indexOf('id=firewall');
  if (at < 0 || !msg.raw.includes(' m=')) return refuse('sonicwall: no id=firewall with a message id (m=)');
  return parseNative(msg.raw.slice(at), msg);
}

export const family: ParserFamily = {
  name: NAME,
  products: ['SonicWall SonicOS (TZ, NSa, NSsp)'],
  detect,
  parse,
};
