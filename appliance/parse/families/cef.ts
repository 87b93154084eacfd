/**
 * Generic ArcSight CEF, for any product that exports it. Vendor families that know their own CEF
 * (Palo Alto, Check Point, Fortinet, ...) detect it with a higher confidence and win; this one
 * takes the rest at a lower confidence.
 */

import { cefIndex, cefStart, cefToDraft, parseCef } from '../kit/cef-format.js';
import { type EventDraft, finishAsWritten, refuse } from '../kit/draft.js';
import type { ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'cef';

/** True when `text` holds at least `count` pipes (stops counting there). */
function pipes(text: string, count: number): boolean {
  let at = -1;
  for (let i = 0; i < count; i++) {
    at = text.indexOf('|', at + 1);
    if (at < 0) return false;
  }
  return true;
}

export const family: ParserFamily = {
  name: NAME,
  products: ['ArcSight Common Event Format (CEF) from any product'],
  detect(msg: SyslogMessage): number {
    const m = msg.msg;
    if (m.startsWith('CEF:')) return 0.6;
    if (cefIndex(m) >= 0 || cefIndex(msg.raw) >= 0) return cefStart(msg.raw) >= 0 ? 0.5 : 0;
    // `0|Vendor|Product|Version|SignatureID|Name|Severity|...` with the `CEF:` prefix stripped.
    return cefStart(m) === 0 && pipes(m, 7) ? 0.3 : 0;
  },
  parse(msg: SyslogMessage) {
    const rec = parseCef(msg.msg) ?? parseCef(msg.raw);
    if (rec === undefined) return refuse('not a CEF message (no CEF:Version|Vendor|Product|... header)');
    const ev: EventDraft = { vendor: NAME, action: 'other' };
    cefToDraft(rec, ev, msg.ts);
    return finishAsWritten(ev);
  },
};
