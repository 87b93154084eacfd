/**
 * Stormshield Network Security (SNS) logs ("Description of audit logs"): key=value lines
 * `id=firewall time="YYYY-MM-DD hh:mm:ss" fw="SERIAL" tz=+0100 startime="..." pri=5 ... logtype="..."`
 * for every log type (connection, filter, alarm, plugin, auth, vpn, xvpn, system, monitor ...).
 * Traffic fields: `src srcport dst dstport ipproto` (proto is the application protocol name),
 * `action=pass|block|log|bypass`, `modsrc/modsrcport` (translated source), `origdst/origdstport`
 * (destination before translation), `sent/rcvd` bytes, `ruleid/rulename`, `srcif/srcifname`.
 * `time` is local time; `tz` is that time's offset from UTC.
 */
import type { Action } from '../../../protocol/event.js';
import { parseIp } from '../kit/address.js';
import { type EventDraft, finish, refuse } from '../kit/draft.js';
import { parseKeyValues } from '../kit/key-values.js';
import { parseCount, parsePort, sum } from '../kit/number.js';
import { normaliseProto } from '../kit/proto.js';
import { text } from '../kit/text.js';
import { isoFromDateTime, zoneOffset } from '../kit/time.js';
import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'stormshield';

/** `startime=` (sic) and `tz=` appear in every SNS log line and in no other vendor's. */
function detect(msg: SyslogMessage): number {
  const s = msg.raw;
  if (!s.includes('startime=')) return 0;
  if (s.includes(' tz=') && s.includes('fw='))
    return s.includes('fw="SN') || s.includes('id=firewall') ? 0.95 : 0.9;
  return s.includes('logtype=') ? 0.7 : 0;
}

/** `time="YYYY-MM-DD hh:mm:ss"`; some exports leave the value unquoted, so read it from the text. */
const TIME = /(?:^|\s)time="?(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})/;

function actionOf(value: string | undefined): Action {
  switch (value?.toLowerCase()) {
    case 'pass':
    case 'bypass':
      return 'allow';
    case 'block':
      return 'deny';
    case 'drop':
      return 'drop';
    case 'reset':
    case 'reject':
      return 'reject';
    default:
      return 'other';
  }
}

/** `ipproto` is the IP protocol; `proto` names the application protocol (https, dns ...). */
function protoOf(kv: Map<string, string>): string | undefined {
  const ipproto = text(kv.get('ipproto'));
  if (ipproto !== undefined) return normaliseProto(ipproto);
  return undefined;
}

function parse(msg: SyslogMessage): ParseResult {
  const s = msg.raw;
  const at = s.search(/(?:^|\s)(?:id=firewall|time=)/);
  if (at < 0 || !s.includes('startime='))
    return refuse('stormshield: no id=firewall/time= and startime= fields');
  const body = s.slice(at);
  const kv = parseKeyValues(body);
  const t = TIME.exec(body);
  const tz = kv.get('tz');
  const ts = t ? isoFromDateTime(t[1]!, t[2]!, zoneOffset(tz) ?? 'Z') : undefined;
  const src = parseIp(kv.get('src'));
  const dst = parseIp(kv.get('dst'));
  const origDst = parseIp(kv.get('origdst'));
  const modSrc = parseIp(kv.get('modsrc'));
  const logtype = kv.get('logtype');
  const alarm = logtype === 'alarm';
  const draft: EventDraft = {
    ts: ts ?? msg.ts,
    src_ip: src,
    src_port: parsePort(kv.get('srcport')),
    // `dst` is the address after any destination translation; `origdst` the one the client asked for.
    dst_ip: origDst ?? dst,
    dst_port: parsePort(kv.get('origdstport')) ?? parsePort(kv.get('dstport')),
    proto: protoOf(kv),
    action: actionOf(kv.get('action')),
    src_nat_ip: modSrc,
    src_nat_port: modSrc !== undefined ? parsePort(kv.get('modsrcport')) : undefined,
    dst_nat_ip: origDst !== undefined ? dst : undefined,
    dst_nat_port: origDst !== undefined ? parsePort(kv.get('dstport')) : undefined,
    bytes: sum(parseCount(kv.get('sent')), parseCount(kv.get('rcvd'))),
    rule: text(kv.get('rulename')) ?? text(kv.get('ruleid')),
    interface: text(kv.get('srcifname')) ?? text(kv.get('srcif')),
    category: alarm ? (text(kv.get('msg')) ?? text(kv.get('class'))) : undefined,
    severity: alarm ? text(kv.get('pri')) : undefined,
  };
  return finish(NAME, draft);
}

export const family: ParserFamily = {
  name: NAME,
  products: ['Stormshield Network Security (SNS)'],
  detect,
  parse,
};
