/**
 * Zyxel USG / ZyWALL / ATP / USG FLEX (ZLD) logs ("ZLD Log Reference Guide"):
 * `src="IP:PORT" dst="IP:PORT" msg="..." note="..." user="..." devID="MAC" cat="CATEGORY"
 * [class="..."] [ob="0" ob_mac="..."] [dir="IF:IF"] [protoID=N] [proto="SERVICE"] [sent= rcvd=]`.
 * `cat` tells what the line is (Security Policy Control, Firewall, Traffic Log, IDP, ...); the
 * decision is in `msg`/`note` (`Match default rule, DROP`, `ACCESS BLOCK`, `ACCESS FORWARD`...).
 */
import type { Action } from '../../../protocol/event.js';
import { hostPort } from '../kit/address.js';
import { type EventDraft, finish, refuse } from '../kit/draft.js';
import { parseKeyValues } from '../kit/key-values.js';
import { parseCount, sum } from '../kit/number.js';
import { normaliseProto } from '../kit/proto.js';
import { text } from '../kit/text.js';
import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'zyxel';

function detect(msg: SyslogMessage): number {
  const s = msg.raw;
  if (!s.includes('devID=')) return 0;
  if (s.includes(' cat="') && (s.includes('src="') || s.includes(' msg="'))) return 0.9;
  return 0.5;
}

const IP_WORDS = new Set(['tcp', 'udp', 'icmp', 'icmpv6', 'gre', 'esp', 'ah', 'sctp', 'igmp']);

function actionOf(message: string, note: string, cat: string): Action {
  const m = `${message} ${note}`.toUpperCase();
  if (m.includes('DROP')) return 'drop';
  if (m.includes('REJECT') || m.includes('RESET')) return 'reject';
  if (m.includes('BLOCK') || m.includes('DENY') || m.includes('DENIED')) return 'deny';
  if (m.includes('FORWARD') || m.includes('ALLOW') || m.includes('PERMIT') || m.includes('PASS'))
    return 'allow';
  // Session records (`cat="Traffic Log"`) describe connections the device carried.
  if (cat === 'Traffic Log') return 'allow';
  return 'other';
}

function parse(msg: SyslogMessage): ParseResult {
  const s = msg.raw;
  const at = s.search(/(?:^|\s)(?:src|dst|msg|time)="/);
  if (at < 0 || !s.includes('devID=')) return refuse('zyxel: no src=/msg= and devID= fields');
  const kv = parseKeyValues(s.slice(at));
  const src = hostPort(kv.get('src'));
  const dst = hostPort(kv.get('dst'));
  const dir = text(kv.get('dir'));
  const service = kv.get('proto')?.toLowerCase();
  const cat = kv.get('cat') ?? '';
  const message = kv.get('msg') ?? '';
  const draft: EventDraft = {
    ts: msg.ts,
    src_ip: src.ip,
    src_port: src.port,
    dst_ip: dst.ip,
    dst_port: dst.port,
    // `protoID` is the IP protocol number; `proto` is usually a service name (`https`, `others`).
    proto:
      normaliseProto(text(kv.get('protoID'))) ??
      (service !== undefined && IP_WORDS.has(service) ? service : undefined),
    action: actionOf(message, kv.get('note') ?? '', cat),
    bytes: sum(parseCount(kv.get('sent')), parseCount(kv.get('rcvd'))),
    interface: dir?.split(':')[0],
    direction: dir,
    category: cat === 'IDP' || cat === 'Anti-Virus' || cat === 'Anti-Malware' ? text(message) : undefined,
    severity: undefined,
  };
  const rule = /rule(?: name)?[ :]+"?([^",]{1,64})"?/i.exec(message);
  if (rule && !/^default/i.test(rule[1]!)) draft.rule = rule[1]!.trim();
  else if (/default rule/i.test(message)) draft.rule = 'default';
  return finish(NAME, draft);
}

export const family: ParserFamily = {
  name: NAME,
  products: ['Zyxel USG, ZyWALL, ATP, USG FLEX (ZLD)'],
  detect,
  parse,
};
