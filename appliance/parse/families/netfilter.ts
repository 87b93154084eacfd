/**
 * Linux netfilter `LOG` / nftables `log` target lines, as printed by the kernel's `nf_log_ipv4`/
 * `nf_log_ipv6` (`IN=eth0 OUT= MAC=... SRC=... DST=... LEN=60 ... PROTO=TCP SPT=... DPT=...`),
 * with the log prefix each distribution or appliance puts in front: plain iptables, UFW, UniFi/EdgeOS,
 * DD-WRT, firewalld and nftables. The body format is the kernel's, so one parser covers them all; the
 * prefix (free text chosen by the rule author) carries the action and becomes `rule`.
 */
import type { Action } from '../../../protocol/event.js';
import { parseIp } from '../kit/address.js';
import { type EventDraft, finishAsWritten, refuse } from '../kit/draft.js';
import { parseCount, parsePort } from '../kit/number.js';
import { normaliseProto } from '../kit/proto.js';
import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'netfilter';
const MAX_RULE = 128;

/** Action words a log prefix may contain (rule authors' conventions, any case). */
function actionWord(text: string, from: number, to: number): Action | undefined {
  const len = to - from;
  if (len < 4 || len > 8) return undefined;
  switch (text.slice(from, to).toLowerCase()) {
    case 'drop':
    case 'dropped':
      return 'drop';
    case 'deny':
    case 'denied':
    case 'block':
    case 'blocked':
      return 'deny';
    case 'reject':
    case 'rejected':
      return 'reject';
    case 'accept':
    case 'accepted':
    case 'allow':
    case 'allowed':
    case 'pass':
    case 'passed':
    case 'permit':
      return 'allow';
    default:
      return undefined;
  }
}

/**
 * The action a log prefix states. UniFi/EdgeOS name rules `RULESET-NUMBER-X` with X = A (accept),
 * D (drop) or R (reject); otherwise the first action word (DROP, BLOCK, REJECT, ACCEPT, ...) in the
 * prefix wins, and `other` when it has none (UFW AUDIT, a bare `LOG`).
 */
export function actionFromPrefix(prefix: string): Action {
  const n = prefix.length;
  if (n >= 3 && prefix.charCodeAt(n - 2) === 45 /* - */) {
    switch (prefix.charCodeAt(n - 1)) {
      case 65 /* A */:
        return 'allow';
      case 68 /* D */:
        return 'drop';
      case 82 /* R */:
        return 'reject';
    }
  }
  let i = 0;
  while (i < n) {
    while (i < n && !isLetter(prefix.charCodeAt(i))) i++;
    const start = i;
    while (i < n && isLetter(prefix.charCodeAt(i))) i++;
    if (i > start) {
      const action = actionWord(prefix, start, i);
      if (action !== undefined) return action;
    }
  }
  return 'other';
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isUptimeChar(c: number): boolean {
  return c === 32 || c === 46 || (c >= 48 && c <= 57);
}

/**
 * The rule author's prefix from the text before `IN=`: without the `kernel:` tag, the `[12345.678]`
 * uptime stamp, surrounding brackets (`[UFW BLOCK]`) and the trailing colon (`FINAL_REJECT:`).
 */
export function cleanPrefix(text: string, end: number): string {
  let a = 0;
  let b = end;
  while (a < b && text.charCodeAt(a) === 32) a++;
  if (text.startsWith('kernel:', a)) {
    a += 7;
    while (a < b && text.charCodeAt(a) === 32) a++;
  }
  if (text.charCodeAt(a) === 91 /* [ */) {
    let j = a + 1;
    while (j < b && isUptimeChar(text.charCodeAt(j))) j++;
    if (j > a + 1 && j < b && text.charCodeAt(j) === 93 /* ] */) {
      a = j + 1;
      while (a < b && text.charCodeAt(a) === 32) a++;
    }
  }
  while (b > a && (text.charCodeAt(b - 1) === 32 || text.charCodeAt(b - 1) === 58) /* : */) b--;
  if (b - a >= 2 && text.charCodeAt(a) === 91 && text.charCodeAt(b - 1) === 93) {
    a++;
    b--;
  }
  while (a < b && text.charCodeAt(a) === 32) a++;
  while (b > a && text.charCodeAt(b - 1) === 32) b--;
  if (b - a > MAX_RULE) b = a + MAX_RULE;
  return text.slice(a, b);
}

/**
 * Index of the `IN=` that starts the kernel's field list: the one whose value is followed by
 * ` OUT=`. The prefix is free text and may be glued to it (`--log-prefix "DROP"` gives `DROPIN=`).
 */
function bodyStart(text: string): number {
  let idx = text.indexOf('IN=');
  while (idx >= 0) {
    const sp = text.indexOf(' ', idx);
    if (sp < 0) return -1;
    if (text.startsWith('OUT=', sp + 1)) return idx;
    idx = text.indexOf('IN=', idx + 3);
  }
  return -1;
}

function detect(msg: SyslogMessage): number {
  const text = msg.msg;
  const idx = text.indexOf('IN=');
  if (idx < 0) return 0;
  const src = text.indexOf(' SRC=', idx);
  if (src < 0) return 0;
  return text.indexOf(' OUT=', idx) > 0 && text.indexOf(' PROTO=', src) > 0 ? 0.95 : 0.6;
}

function parse(msg: SyslogMessage): ParseResult {
  const text = msg.msg;
  const start = bodyStart(text);
  if (start < 0) return refuse('netfilter: no IN=/OUT= fields');
  const n = text.length;
  let inIf = '';
  let outIf = '';
  let src: string | undefined;
  let dst: string | undefined;
  let len: string | undefined;
  let proto: string | undefined;
  let spt: string | undefined;
  let dpt: string | undefined;
  let i = start;
  while (i < n) {
    let e = text.indexOf(' ', i);
    if (e < 0) e = n;
    const c = text.charCodeAt(i);
    // ICMP errors quote the offending packet in brackets (`[SRC=... DST=... ]`): not this packet.
    if (c === 91 /* [ */) break;
    switch (c) {
      case 73 /* I */:
        if (text.startsWith('IN=', i) && i === start) inIf = text.slice(i + 3, e);
        break;
      case 79 /* O */:
        if (text.startsWith('OUT=', i)) outIf = text.slice(i + 4, e);
        break;
      case 83 /* S */:
        if (src === undefined && text.startsWith('SRC=', i)) src = text.slice(i + 4, e);
        else if (spt === undefined && text.startsWith('SPT=', i)) spt = text.slice(i + 4, e);
        break;
      case 68 /* D */:
        if (dst === undefined && text.startsWith('DST=', i)) dst = text.slice(i + 4, e);
        else if (dpt === undefined && text.startsWith('DPT=', i)) dpt = text.slice(i + 4, e);
        break;
      case 76 /* L */:
        // The first LEN is the IP total length; UDP repeats LEN= for its own header.
        if (len === undefined && text.startsWith('LEN=', i)) len = text.slice(i + 4, e);
        break;
      case 80 /* P */:
        if (proto === undefined && text.startsWith('PROTO=', i)) proto = text.slice(i + 6, e);
        break;
    }
    i = e + 1;
  }
  const srcIp = parseIp(src);
  const dstIp = parseIp(dst);
  if (srcIp === undefined || dstIp === undefined) return refuse('netfilter: no SRC/DST address');
  const rule = cleanPrefix(text, start);
  // Direct writes in wire order (see kit/draft.ts): the hot path; named stores benched at least
  // as fast as `put`'s shared keyed store (an A/B run of `npm run bench -- parse`).
  const event: EventDraft = {};
  if (msg.ts !== undefined) event.ts = msg.ts;
  event.vendor = NAME;
  event.src_ip = srcIp;
  const srcPort = parsePort(spt);
  if (srcPort !== undefined) event.src_port = srcPort;
  event.dst_ip = dstIp;
  const dstPort = parsePort(dpt);
  if (dstPort !== undefined) event.dst_port = dstPort;
  const p = normaliseProto(proto);
  if (p !== undefined) event.proto = p;
  event.action = actionFromPrefix(rule);
  const bytes = parseCount(len);
  if (bytes !== undefined) event.bytes = bytes;
  if (rule !== '') event.rule = rule;
  if (inIf !== '') event.interface = inIf.slice(0, 64);
  else if (outIf !== '') event.interface = outIf.slice(0, 64);
  if (inIf !== '' && outIf !== '') event.direction = 'forward';
  else if (inIf !== '') event.direction = 'in';
  else if (outIf !== '') event.direction = 'out';
  return finishAsWritten(event);
}

export const family: ParserFamily = {
  name: NAME,
  products: [
    'Linux iptables/ip6tables LOG',
    'nftables log',
    'UFW',
    'firewalld',
    'Ubiquiti UniFi / EdgeOS',
    'DD-WRT',
    'OpenWrt',
  ],
  detect,
  parse,
};
