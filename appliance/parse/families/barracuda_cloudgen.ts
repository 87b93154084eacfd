/**
 * Barracuda CloudGen Firewall (formerly NextGen / phion netfence). Its log file structure
 * ("Log File Structure", "Firewall Activity Log") is `LEVEL(8, padded) HOST TEXT`, where LEVEL is
 * one of Panic, Security, Fatal, Error, Warning, Notice, Info, Debug. Firewall activity text comes
 * in two shapes:
 *
 * - structured: `ACTION: type=FWD|proto=TCP|srcIF=...|srcIP=...|srcPort=...|srcMAC=...|dstIP=...|
 *   dstPort=...|dstService=...|dstIF=...|rule=...|info=...|srcNAT=...|dstNAT=...|duration=...|
 *   count=...|receivedBytes=...|sentBytes=...|receivedPackets=...|sentPackets=...|user=...|...`
 * - positional: `ACTION: TYPE|PROTO|SRCIF|SRCIP|SRCPORT|SRCMAC|DSTIP|DSTPORT|DSTSERVICE|DSTIF|RULE|
 *   INFO|SRCNAT|DSTNAT|DURATION|COUNT|RECVBYTES|SENTBYTES|RECVPKTS|SENTPKTS|USER|...`
 *
 * ACTION is e.g. Allow, Block, Drop, Remove (session end), Fail, LocalAllow, LocalBlock, LocalDrop,
 * LocalRemove, ForwardBlock. Everything else (logins, box services, IPS) is text that names its
 * peer in words; those lines carry no traffic decision unless they say so.
 */
import type { Action } from '../../../protocol/event.js';
import { findIpv4, parseIp, portAfter } from '../kit/address.js';
import { type EventDraft, finish, refuse } from '../kit/draft.js';
import { parseCount, parsePort, sum } from '../kit/number.js';
import { normaliseProto } from '../kit/proto.js';
import { text } from '../kit/text.js';
import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'barracuda_cloudgen';

const LEVELS = ['Panic', 'Security', 'Fatal', 'Error', 'Warning', 'Notice', 'Info', 'Debug'];

/**
 * True when `s` starts with the `LEVEL    HOST ` prefix (the level word padded with spaces to 8
 * columns, then the host name).
 */
function hasLevelPrefix(s: string): boolean {
  for (const level of LEVELS) {
    if (!s.startsWith(level)) continue;
    for (let i = level.length; i < 9; i++) if (s.charCodeAt(i) !== 32) return false;
    const c = s.charCodeAt(9);
    return c > 32 && c !== 124; /* | */
  }
  return false;
}

/** Activity-log action words and their meaning. */
function activityAction(word: string): Action | undefined {
  const w = word.replace(/^(?:Local|Forward|Loop)/, '');
  switch (w) {
    case 'Allow':
    case 'Remove':
      return 'allow';
    case 'Block':
    case 'Deny':
      return 'deny';
    case 'Drop':
      return 'drop';
    case 'Reject':
      return 'reject';
    case 'Fail':
    case 'Detect':
    case 'Log':
      return 'other';
    default:
      return undefined;
  }
}

const ACTIVITY =
  /(?:^|\s)((?:Local|Forward|Loop)?(?:Allow|Remove|Block|Deny|Drop|Reject|Fail|Detect)): +(.*)$/;

function detect(msg: SyslogMessage): number {
  const s = msg.raw;
  if (s.includes('|srcIP=') && s.includes('|dstIP=')) return 0.95;
  if (hasLevelPrefix(msg.msg)) {
    const m = ACTIVITY.exec(s);
    return m && m[2]!.split('|').length > 10 ? 0.9 : 0.6;
  }
  return 0;
}

function parseStructured(action: Action, body: string, msg: SyslogMessage): ParseResult {
  const kv = new Map<string, string>();
  for (const part of body.split('|', 64)) {
    const eq = part.indexOf('=');
    if (eq > 0) kv.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const srcNat = parseIp(kv.get('srcNAT'));
  const dstNat = parseIp(kv.get('dstNAT'));
  const draft: EventDraft = {
    ts: msg.ts,
    src_ip: parseIp(kv.get('srcIP')),
    src_port: parsePort(kv.get('srcPort')),
    dst_ip: parseIp(kv.get('dstIP')),
    dst_port: parsePort(kv.get('dstPort')),
    proto: normaliseProto(text(kv.get('proto')) ?? text(kv.get('protocol'))),
    action,
    src_nat_ip: srcNat !== '0.0.0.0' ? srcNat : undefined,
    dst_nat_ip: dstNat !== '0.0.0.0' ? dstNat : undefined,
    bytes: sum(parseCount(kv.get('receivedBytes')), parseCount(kv.get('sentBytes'))),
    packets: sum(parseCount(kv.get('receivedPackets')), parseCount(kv.get('sentPackets'))),
    rule: text(kv.get('rule')),
    interface: text(kv.get('srcIF')),
  };
  return finish(NAME, draft);
}

function parsePositional(action: Action, body: string, msg: SyslogMessage): ParseResult {
  const f = body.split('|', 24);
  const rule = text(f[10]);
  const srcNat = parseIp(f[12]);
  const dstNat = parseIp(f[13]);
  const draft: EventDraft = {
    ts: msg.ts,
    src_ip: parseIp(f[3]),
    src_port: parsePort(f[4]),
    dst_ip: parseIp(f[6]),
    dst_port: parsePort(f[7]),
    proto: normaliseProto(text(f[1])),
    action,
    src_nat_ip: srcNat !== '0.0.0.0' ? srcNat : undefined,
    dst_nat_ip: dstNat !== '0.0.0.0' ? dstNat : undefined,
    bytes: sum(parseCount(f[16]), parseCount(f[17])),
    packets: sum(parseCount(f[18]), parseCount(f[19])),
    rule: rule === '<no-match>' ? undefined : rule,
    interface: text(f[2]),
  };
  return finish(NAME, draft);
}

/** `[Request] Allow:   IPS ALLIP(0) SRC -> DST:PORT |[ID: ...]||SEV|CATEGORY` (IPS reports). */
const ARROW = /([0-9a-fA-F:.]{7,45}?)(?::(\d{1,5}))? -> ([0-9a-fA-F:.]{7,45}?)(?::(\d{1,5}))?(?:\s|$|\|)/;

/** Text events: take the peer the text names (`from A`, `peer=A`, `A:P`, `A_P`, `to ... A`). */
function parseText(s: string, textStart: number, msg: SyslogMessage): ParseResult {
  const body = s.slice(textStart);
  const draft: EventDraft = { ts: msg.ts, action: 'other' };
  const arrow = ARROW.exec(body);
  if (arrow && parseIp(arrow[1]) !== undefined) {
    draft.src_ip = parseIp(arrow[1]);
    draft.src_port = parsePort(arrow[2]);
    draft.dst_ip = parseIp(arrow[3]);
    draft.dst_port = parsePort(arrow[4]);
    const act = /\] (Allow|Block|Deny|Drop|Detect):/.exec(body);
    if (act) draft.action = activityAction(act[1]!) ?? 'other';
    const tail = body.slice(arrow.index + arrow[0].length).split('|');
    if (tail.length >= 4) {
      draft.severity = text(tail[tail.length - 2]);
      draft.category = text(tail[tail.length - 1]);
    }
    return finish(NAME, draft);
  }
  const peer = /\bpeer=([0-9a-fA-F:.]{2,45})/.exec(body);
  if (peer) {
    draft.src_ip = parseIp(peer[1]);
    return finish(NAME, draft);
  }
  const hit = findIpv4(body);
  if (hit !== undefined) {
    const before = body.slice(Math.max(0, hit.index - 24), hit.index);
    // The address a message sends *to* is the destination (`Send Event ... to Control Center A`).
    if (/\bto (?:[A-Z][A-Za-z]* ){0,3}$/.test(before)) draft.dst_ip = hit.ip;
    else {
      draft.src_ip = hit.ip;
      draft.src_port = portAfter(body, hit.end);
    }
  }
  return finish(NAME, draft);
}

function parse(msg: SyslogMessage): ParseResult {
  const s = msg.raw;
  const m = ACTIVITY.exec(s);
  if (m) {
    const action = activityAction(m[1]!);
    const body = m[2]!;
    if (action !== undefined && body.includes('|srcIP=')) return parseStructured(action, body, msg);
    if (
      action !== undefined &&
      body.split('|', 12).length >= 12 &&
      parseIp(body.split('|', 5)[3]) !== undefined
    )
      return parsePositional(action, body, msg);
  }
  const body = msg.msg;
  if (!hasLevelPrefix(body)) return refuse('barracuda: no LEVEL HOST prefix nor activity fields');
  // Skip `LEVEL    HOST ` to the text.
  const hostEnd = body.indexOf(' ', 9);
  if (hostEnd < 0 || hostEnd + 1 >= body.length) return refuse('barracuda: LEVEL HOST prefix without text');
  return parseText(body, hostEnd + 1, msg);
}

export const family: ParserFamily = {
  name: NAME,
  products: ['Barracuda CloudGen Firewall (NextGen Firewall F-Series)'],
  detect,
  parse,
};
