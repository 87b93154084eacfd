/**
 * DrayTek Vigor routers. Two syslog shapes ("Vigor Syslog" utility / router manual, Syslog/Mail
 * Alert Setup):
 *
 * - firewall filter log: `[FILTER][Pass|Block][LAN/RT/VPN->WAN, UPTIME ][@S:R=SET:RULE, SRC:SP->DST:DP]
 *   [TCP|UDP|ICMP][HLen=20, TLen=60, Flag=S, Seq=..., Ack=..., Win=...]` (ICMP without ports; the
 *   `@S:R=` part reads `@DEFAULT` for the default rule)
 * - user access log: `Local User (MAC=xx-xx-xx-xx-xx-xx): SRC:SP -> DST:DP (PROTO) [extra]` for
 *   NAT sessions the router opened (so permitted).
 *
 * Both usually follow the `Vigor:` tag. Vigor sends no year and often no zone: the header's time is
 * used.
 */
import type { Action } from '../../../protocol/event.js';
import { hostPort } from '../kit/address.js';
import { type EventDraft, finish, refuse } from '../kit/draft.js';
import { normaliseProto } from '../kit/proto.js';
import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'draytek';

function detect(msg: SyslogMessage): number {
  const s = msg.raw;
  if (s.includes('[FILTER][')) return 0.9;
  if (s.includes('Local User') && s.includes(' -> ')) return s.includes('Vigor') ? 0.9 : 0.6;
  return 0;
}

function filterAction(word: string): Action {
  switch (word.toLowerCase()) {
    case 'pass':
      return 'allow';
    case 'block':
      return 'deny';
    default:
      return 'other';
  }
}

const FILTER =
  /\[FILTER\]\[([A-Za-z]{1,10})\]\[([^,\]]{1,40})(?:,[^\]]{0,40})?\]\[@([^,\]]{1,40}),\s?([^\]]{3,120})\]\[([A-Za-z0-9-]{1,16})\]/;

function parseFilter(s: string, msg: SyslogMessage): ParseResult {
  const m = FILTER.exec(s);
  if (!m) return refuse('draytek: malformed [FILTER] line');
  const flow = m[4]!;
  const arrow = flow.indexOf('->');
  const src = hostPort(arrow < 0 ? flow : flow.slice(0, arrow).trim());
  const dst = hostPort(arrow < 0 ? undefined : flow.slice(arrow + 2).trim());
  const rule = m[3]!.trim();
  const draft: EventDraft = {
    ts: msg.ts,
    src_ip: src.ip,
    src_port: src.port,
    dst_ip: dst.ip,
    dst_port: dst.port,
    proto: normaliseProto(m[5]),
    action: filterAction(m[1]!),
    rule: rule.startsWith('S:R=') ? rule.slice(4) : rule,
    direction: m[2]!.trim(),
  };
  return finish(NAME, draft);
}

const ACCESS =
  /Local User(?: \(MAC=([0-9A-Fa-f:-]{11,17})\))?: ?(\S{3,60}) -> (\S{3,60}) \(([A-Za-z0-9-]{1,16})\)/;

function parseAccess(s: string, msg: SyslogMessage): ParseResult {
  const m = ACCESS.exec(s);
  if (!m) return refuse('draytek: malformed Local User line');
  const src = hostPort(m[2]);
  const dst = hostPort(m[3]);
  if (src.ip === undefined || dst.ip === undefined)
    return refuse('draytek: Local User line without addresses');
  const draft: EventDraft = {
    ts: msg.ts,
    src_ip: src.ip,
    src_port: src.port,
    dst_ip: dst.ip,
    dst_port: dst.port,
    proto: normaliseProto(m[4]),
    action: 'allow',
    direction: 'out',
  };
  return finish(NAME, draft);
}

function parse(msg: SyslogMessage): ParseResult {
  const s = msg.raw;
  if (s.includes('[FILTER][')) return parseFilter(s, msg);
  if (s.includes('Local User')) return parseAccess(s, msg);
  return refuse('draytek: neither [FILTER] nor Local User line');
}

export const family: ParserFamily = {
  name: NAME,
  products: ['DrayTek Vigor'],
  detect,
  parse,
};
