/**
 * Clavister cOS Core (NetWall) logs ("cOS Core Log Reference Guide"). Two syslog renderings:
 *
 * - classic: `[YYYY-MM-DD hh:mm:ss] [E]FW: CATEGORY: prio=N id=NNNNNNNN rev=N event=NAME
 *   action=ACTION rule=... connipproto=TCP connrecvif=... connsrcip=... connsrcport=... conndestif=...
 *   conndestip=... conndestport=... [origsent= termsent=]`
 * - bracketed (newer releases): `id=NNNNNNN event=NAME [action=ACTION] [message=... ][rules rule=...]
 *   [conn [conn connsrcip=... newconnsrcip=... ...]][ippacket ... srcip= destip= ][tcp srcport= ...]`
 *
 * Connection fields win over packet fields (`srcip/destip/srcport/destport`) which win over the
 * peer fields of VPN and user events (`ipaddr`, `local_ip/remote_ip`). `newconn*` are the addresses
 * after translation. `origsent/termsent` may be rendered human-readable (`4.52 K`).
 */
import type { Action } from '../../../protocol/event.js';
import { parseIp } from '../kit/address.js';
import { type EventDraft, finish, refuse } from '../kit/draft.js';
import { parseKeyValues } from '../kit/key-values.js';
import { parsePort, sum } from '../kit/number.js';
import { normaliseProto } from '../kit/proto.js';
import { text } from '../kit/text.js';
import { isoFromDateTime } from '../kit/time.js';
import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'clavister';

/** Log message ids are 6-8 digits and immediately followed by `rev=` or `event=`. */
const ID_EVENT = /(?:^|\s)id=\d{6,8} (?:rev=\d{1,3} )?event=[a-z]/;

function detect(msg: SyslogMessage): number {
  const s = msg.raw;
  if (!s.includes('event=')) return 0;
  if (ID_EVENT.test(s))
    return s.includes('prio=') || s.includes('[message=') || s.includes('connsrcip=') ? 0.9 : 0.8;
  return 0;
}

function actionOf(value: string | undefined, event: string | undefined): Action {
  switch (value) {
    case 'allow':
    case 'allow_processing':
    case 'open':
    case 'close':
    case 'fwdfast':
    case 'nat':
    case 'sat':
      return 'allow';
    case 'drop':
      return 'drop';
    case 'reject':
      return 'reject';
    case 'deny':
      return 'deny';
    default:
      break;
  }
  if (value === undefined && (event === 'conn_open' || event === 'conn_close')) return 'allow';
  return 'other';
}

const L4_PROTOS = new Set(['tcp', 'udp', 'icmp', 'icmpv6', 'gre', 'esp', 'ah', 'sctp', 'igmp', 'ipv6-icmp']);

/** A byte counter, exact (`695`) or rendered `4.52 K` / `1.2 M` / `3 G` (binary multiples). */
function byteCount(body: string, key: string): number | undefined {
  const at = body.indexOf(` ${key}=`);
  if (at < 0) return undefined;
  const m = /^(\d{1,15})(?:\.(\d{1,3}))?(?: {1,4}([KMG])\b)?/.exec(
    body.slice(at + key.length + 2, at + key.length + 40),
  );
  if (!m) return undefined;
  const value = Number(`${m[1]}${m[2] !== undefined ? `.${m[2]}` : ''}`);
  const scale = m[3] === 'K' ? 1024 : m[3] === 'M' ? 1024 ** 2 : m[3] === 'G' ? 1024 ** 3 : 1;
  return Math.round(value * scale);
}

const STAMP = /^\s*\[(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})\]/;

function parse(msg: SyslogMessage): ParseResult {
  const s = msg.raw;
  const m = ID_EVENT.exec(s);
  if (!m) return refuse('clavister: no id=NNNNNN event= pair');
  const head = s.slice(0, m.index);
  const body = s.slice(m.index);
  const kv = parseKeyValues(body);
  const stamp = STAMP.exec(msg.msg) ?? STAMP.exec(head);
  const ipproto = kv.get('ipproto')?.toLowerCase();
  const newSrc = parseIp(kv.get('newconnsrcip'));
  const newDst = parseIp(kv.get('newconndestip'));
  const connSrc = parseIp(kv.get('connsrcip'));
  const connDst = parseIp(kv.get('conndestip'));
  const recvZone = text(kv.get('connrecvzone')) ?? text(kv.get('recvzone'));
  const destZone = text(kv.get('conndestzone'));
  const draft: EventDraft = {
    ts: (stamp ? isoFromDateTime(stamp[1]!, stamp[2]!) : undefined) ?? msg.ts,
    src_ip:
      connSrc ??
      parseIp(kv.get('srcip')) ??
      parseIp(kv.get('ipaddr')) ??
      parseIp(kv.get('local_ip')) ??
      parseIp(kv.get('knownip')) ??
      parseIp(kv.get('client_ip')),
    src_port: parsePort(kv.get('connsrcport')) ?? parsePort(kv.get('srcport')),
    dst_ip: connDst ?? parseIp(kv.get('destip')) ?? parseIp(kv.get('remote_ip')),
    dst_port: parsePort(kv.get('conndestport')) ?? parsePort(kv.get('destport')),
    proto: normaliseProto(
      text(kv.get('connipproto')) ?? (ipproto !== undefined && L4_PROTOS.has(ipproto) ? ipproto : undefined),
    ),
    action: actionOf(kv.get('action'), kv.get('event')),
    // `newconn*` repeat the original when that side was not translated.
    src_nat_ip: newSrc !== undefined && newSrc !== connSrc ? newSrc : undefined,
    src_nat_port:
      newSrc !== undefined && newSrc !== connSrc ? parsePort(kv.get('newconnsrcport')) : undefined,
    dst_nat_ip: newDst !== undefined && newDst !== connDst ? newDst : undefined,
    dst_nat_port:
      newDst !== undefined && newDst !== connDst ? parsePort(kv.get('newconndestport')) : undefined,
    bytes: sum(byteCount(body, 'origsent'), byteCount(body, 'termsent')),
    rule: text(kv.get('rule')),
    interface: text(kv.get('connrecvif')) ?? text(kv.get('recvif')),
    direction: recvZone !== undefined && destZone !== undefined ? `${recvZone}->${destZone}` : undefined,
  };
  return finish(NAME, draft);
}

export const family: ParserFamily = {
  name: NAME,
  products: ['Clavister cOS Core (NetWall)'],
  detect,
  parse,
};
