/**
 * Forcepoint NGFW (formerly Stonesoft/McAfee NGFW) log export as CEF (`CEF:0|FORCEPOINT|Firewall|
 * VER|EVENT-ID|SITUATION|SEV|act= src= dst= spt= dpt= proto= sourceTranslatedAddress= ... rt=Mmm dd
 * yyyy hh:mm:ss`) and LEEF (`LEEF:1.0|FORCEPOINT|Firewall|VER|SITUATION|devTimeFormat=MMM dd yyyy
 * HH:mm:ss<TAB>src= dst= srcPort= dstPort= proto= action= devTime= ...`), per the Forcepoint NGFW
 * "Log fields for CEF/LEEF export" reference. Actions: Allow, Discard, Refuse, Terminate, Permit,
 * Continue, Jump, Apply Blacklist.
 */
import type { Action } from '../../../protocol/event.js';
import { parseIp } from '../kit/address.js';
import {
  cefIndex,
  cefToDraft,
  cefVendorProduct,
  leefIndex,
  leefTime,
  parseCef,
  parseLeef,
} from '../kit/cef-format.js';
import { type EventDraft, finish, refuse } from '../kit/draft.js';
import { parsePort } from '../kit/number.js';
import { normaliseProto } from '../kit/proto.js';
import { text } from '../kit/text.js';
import { isoFromMonthDayYear } from '../kit/time.js';
import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'forcepoint_ngfw';

function isForcepointVendor(vendor: string): boolean {
  const v = vendor.toLowerCase();
  return v === 'forcepoint' || v === 'stonesoft' || v === 'mcafee' || v === 'websense';
}

function leefVendor(s: string): string | undefined {
  const at = leefIndex(s);
  if (at < 0) return undefined;
  const p1 = s.indexOf('|', at);
  const p2 = p1 < 0 ? -1 : s.indexOf('|', p1 + 1);
  return p2 < 0 ? undefined : s.slice(p1 + 1, p2);
}

function detect(msg: SyslogMessage): number {
  const s = msg.raw;
  if (cefIndex(s) >= 0) {
    const vp = cefVendorProduct(s);
    if (
      vp !== undefined &&
      isForcepointVendor(vp.vendor) &&
      /firewall|ngfw|security engine/i.test(vp.product)
    )
      return 0.95;
    return 0;
  }
  const lv = leefVendor(s);
  if (lv !== undefined && isForcepointVendor(lv) && s.includes('|Firewall|')) return 0.95;
  return 0;
}

/** Forcepoint's own action words. */
function actionOf(value: string | undefined): Action {
  switch (value?.trim().toLowerCase()) {
    case 'allow':
    case 'permit':
      return 'allow';
    case 'discard':
      return 'drop';
    case 'refuse':
      return 'reject';
    case 'terminate':
    case 'terminate_passive':
    case 'apply blacklist':
    case 'blacklist':
      return 'deny';
    default:
      return 'other';
  }
}

function parseCefForm(msg: SyslogMessage): ParseResult {
  const rec = parseCef(msg.raw);
  if (rec === undefined) return refuse('forcepoint: malformed CEF');
  const draft: EventDraft = {};
  cefToDraft(rec, draft, undefined);
  // Forcepoint writes `rt` as `Mmm dd yyyy hh:mm:ss` (engine local time, no zone).
  draft.ts = isoFromMonthDayYear(rec.ext.get('rt')) ?? draft.ts ?? msg.ts;
  draft.action = actionOf(rec.ext.get('act'));
  // `cs1Label=RuleID cs1=...`: the rule tag.
  if (rec.ext.get('cs1Label') === 'RuleID') draft.rule = text(rec.ext.get('cs1'));
  // The engine's numeric interface ids are not names; keep them only as given.
  draft.category = text(rec.ext.get('deviceFacility')) ?? draft.category;
  draft.severity = undefined;
  return finish(NAME, draft);
}

function parseLeefForm(msg: SyslogMessage): ParseResult {
  const rec = parseLeef(msg.raw);
  if (rec === undefined) return refuse('forcepoint: malformed LEEF');
  const a = rec.attrs;
  const src = parseIp(a.get('src'));
  const dst = parseIp(a.get('dst'));
  const srcNat = parseIp(a.get('srcPostNAT'));
  const dstNat = parseIp(a.get('dstPostNAT'));
  const draft: EventDraft = {
    ts: leefTime(a) ?? isoFromMonthDayYear(a.get('devTime')) ?? msg.ts,
    src_ip: src,
    src_port: parsePort(a.get('srcPort')),
    dst_ip: dst,
    dst_port: parsePort(a.get('dstPort')),
    proto: normaliseProto(text(a.get('proto'))),
    action: actionOf(a.get('action')),
    src_nat_ip: srcNat,
    src_nat_port: srcNat !== undefined ? parsePort(a.get('srcPostNATPort')) : undefined,
    dst_nat_ip: dstNat,
    dst_nat_port: dstNat !== undefined ? parsePort(a.get('dstPostNATPort')) : undefined,
    rule: text(a.get('ruleId')) ?? text(a.get('policy')),
  };
  return finish(NAME, draft);
}

function parse(msg: SyslogMessage): ParseResult {
  if (cefIndex(msg.raw) >= 0) return parseCefForm(msg);
  if (leefIndex(msg.raw) >= 0) return parseLeefForm(msg);
  return refuse('forcepoint: neither CEF nor LEEF');
}

export const family: ParserFamily = {
  name: NAME,
  products: ['Forcepoint NGFW (Stonesoft), CEF and LEEF export'],
  detect,
  parse,
};
