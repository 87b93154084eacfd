/**
 * MikroTik RouterOS firewall `log=yes` lines (RouterOS manual, "Firewall" → "log" / "log-prefix"):
 *   `[topics ][log-prefix ]CHAIN: in:IFACE out:IFACE, [connection-state:new ]src-mac MAC, proto TCP (SYN),
 *    SRC:SPORT->DST:DPORT, [NAT (SRC:SPORT->NEWSRC:PORT)->DST:DPORT, ]len N`
 * ICMP carries `(type T, code C)` and no ports; IPv6 addresses with ports are bracketed. RouterOS
 * logs no verdict, so the action comes from the log prefix (`other` without one).
 */

import { parseIp } from '../kit/address.js';
import { type EventDraft, finishAsWritten, refuse } from '../kit/draft.js';
import { parseCount, parsePort } from '../kit/number.js';
import { normaliseProto } from '../kit/proto.js';
import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';
import { actionFromPrefix } from './netfilter.js';

const NAME = 'mikrotik';

/** Start of the ` in:` (or leading `in:`) that opens the interface pair, or -1. */
function interfacesAt(text: string): number {
  if (text.startsWith('in:')) return 0;
  // The first ` in:`, found by hopping between colons (a `memchr` each): a search for ` in:` itself
  // stalls on every space of the line.
  for (let colon = text.indexOf(':', 3); colon >= 0; colon = text.indexOf(':', colon + 1)) {
    if (
      text.charCodeAt(colon - 1) === 110 /* n */ &&
      text.charCodeAt(colon - 2) === 105 /* i */ &&
      text.charCodeAt(colon - 3) === 32
    )
      return colon - 2;
  }
  return -1;
}

// Scratch for splitAddress: set by each call, read right after.
let addrIp: string | undefined;
let addrPort: number | undefined;

/** `1.2.3.4:80`, `1.2.3.4`, `[2001:db8::1]:80` or `2001:db8::1` in text[from, to). */
function splitAddress(text: string, from: number, to: number): void {
  addrIp = undefined;
  addrPort = undefined;
  if (text.charCodeAt(from) === 91 /* [ */) {
    const close = text.indexOf(']', from);
    if (close < 0 || close >= to) return;
    addrIp = parseIp(text.slice(from + 1, close));
    if (text.charCodeAt(close + 1) === 58) addrPort = parsePort(text.slice(close + 2, to));
    return;
  }
  const colon = text.indexOf(':', from);
  if (colon < 0 || colon >= to) {
    addrIp = parseIp(text.slice(from, to));
    return;
  }
  const second = text.indexOf(':', colon + 1);
  if (second >= 0 && second < to) {
    addrIp = parseIp(text.slice(from, to)); // bare IPv6, no port
    return;
  }
  addrIp = parseIp(text.slice(from, colon));
  addrPort = parsePort(text.slice(colon + 1, to));
}

/** RouterOS writes `(unknown 0)` for the missing side (e.g. `out:` of an input-chain packet). */
function unknownInterface(name: string): boolean {
  return name === '' || name.startsWith('(unknown');
}

function detect(msg: SyslogMessage): number {
  const text = msg.msg;
  const at = interfacesAt(text);
  if (at < 0 || text.indexOf(' out:', at) < 0) return 0;
  const arrow = text.indexOf('->', at);
  if (arrow < 0) return 0;
  return text.indexOf('proto ', at) > 0 ? 0.9 : 0.5;
}

function parse(msg: SyslogMessage): ParseResult {
  const text = msg.msg;
  const at = interfacesAt(text);
  if (at < 0) return refuse('mikrotik: no in:/out: interfaces');
  const outAt = text.indexOf(' out:', at);
  if (outAt < 0) return refuse('mikrotik: no in:/out: interfaces');
  let outEnd = text.indexOf(',', outAt);
  if (outEnd < 0) outEnd = text.length;
  const inIf = text.slice(at + 3, outAt);
  const outIf = text.slice(outAt + 5, outEnd);

  // Head: `[topics ][prefix ]chain:` (the chain may have gone to the header as a TAG).
  let chain = msg.app ?? '';
  let prefix = '';
  let headEnd = at;
  while (headEnd > 0 && text.charCodeAt(headEnd - 1) === 32) headEnd--;
  if (headEnd > 0 && text.charCodeAt(headEnd - 1) === 58 /* : */) {
    const chainEnd = headEnd - 1;
    const chainStart = text.lastIndexOf(' ', chainEnd) + 1;
    chain = text.slice(chainStart, chainEnd);
    let p = 0;
    const firstSpace = text.indexOf(' ');
    // Topics (`firewall,info`) lead the text when the sender includes them; they are not the prefix.
    if (firstSpace > 0 && firstSpace < chainStart) {
      const comma = text.indexOf(',');
      if (comma >= 0 && comma < firstSpace) p = firstSpace + 1;
    }
    if (chainStart > p)
      prefix = text
        .slice(p, chainStart - 1)
        .trim()
        .slice(0, 128);
  }

  const protoAt = text.indexOf('proto ', outEnd);
  let proto: string | undefined;
  let searchFrom = outEnd;
  if (protoAt >= 0) {
    let e = protoAt + 6;
    while (e < text.length && text.charCodeAt(e) !== 32 && text.charCodeAt(e) !== 44) e++;
    proto = normaliseProto(text.slice(protoAt + 6, e));
    searchFrom = e;
  }
  const arrow = text.indexOf('->', searchFrom);
  if (arrow < 0) return refuse('mikrotik: no SRC->DST addresses');
  const addrStart = text.lastIndexOf(' ', arrow) + 1;
  let addrEnd = text.indexOf(',', arrow);
  if (addrEnd < 0) addrEnd = text.length;
  splitAddress(text, addrStart, arrow);
  const srcIp = addrIp;
  const srcPort = addrPort;
  splitAddress(text, arrow + 2, addrEnd);
  const dstIp = addrIp;
  const dstPort = addrPort;
  if (srcIp === undefined || dstIp === undefined) return refuse('mikrotik: bad addresses');

  // NAT: source NAT `NAT (src->newsrc)->dst`, destination NAT `NAT src->(dst->newdst)`.
  let srcNatIp: string | undefined;
  let srcNatPort: number | undefined;
  let dstNatIp: string | undefined;
  let dstNatPort: number | undefined;
  const natAt = text.indexOf(', NAT ', addrEnd - 1);
  if (natAt >= 0) {
    const open = text.indexOf('(', natAt);
    const close = open >= 0 ? text.indexOf(')', open) : -1;
    if (open >= 0 && close > open) {
      const inner = text.indexOf('->', open);
      if (inner > open && inner < close) {
        const srcNat = text.charCodeAt(open - 1) === 32; // `NAT (` opens at once: source NAT
        splitAddress(text, inner + 2, close);
        if (srcNat) {
          srcNatIp = addrIp;
          srcNatPort = addrPort;
        } else {
          dstNatIp = addrIp;
          dstNatPort = addrPort;
        }
      }
    }
  }
  const lenAt = text.indexOf(', len ', addrEnd - 1);
  let bytes: number | undefined;
  if (lenAt >= 0) {
    let e = lenAt + 6;
    while (e < text.length && text.charCodeAt(e) >= 48 && text.charCodeAt(e) <= 57) e++;
    bytes = parseCount(text.slice(lenAt + 6, e));
  }

  // Direct writes in wire order (see kit/draft.ts): the hot path; named stores benched at least
  // as fast as `put`'s shared keyed store (an A/B run of `npm run bench -- parse`).
  const event: EventDraft = {};
  if (msg.ts !== undefined) event.ts = msg.ts;
  event.vendor = NAME;
  event.src_ip = srcIp;
  if (srcPort !== undefined) event.src_port = srcPort;
  event.dst_ip = dstIp;
  if (dstPort !== undefined) event.dst_port = dstPort;
  if (proto !== undefined) event.proto = proto;
  event.action = actionFromPrefix(prefix);
  if (srcNatIp !== undefined) event.src_nat_ip = srcNatIp;
  if (srcNatPort !== undefined) event.src_nat_port = srcNatPort;
  if (dstNatIp !== undefined) event.dst_nat_ip = dstNatIp;
  if (dstNatPort !== undefined) event.dst_nat_port = dstNatPort;
  if (bytes !== undefined) event.bytes = bytes;
  if (prefix !== '') event.rule = prefix;
  if (!unknownInterface(inIf)) event.interface = inIf.slice(0, 64);
  else if (!unknownInterface(outIf)) event.interface = outIf.slice(0, 64);
  if (chain === 'input') event.direction = 'in';
  else if (chain === 'output') event.direction = 'out';
  else if (chain === 'forward') event.direction = 'forward';
  return finishAsWritten(event);
}

export const family: ParserFamily = {
  name: NAME,
  products: ['MikroTik RouterOS firewall log'],
  detect,
  parse,
};
