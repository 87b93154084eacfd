/**
 * Generic IBM QRadar LEEF 1.0/2.0, for any product that exports it. Vendor families that know their
 * own LEEF (Palo Alto, Check Point, ...) detect it with a higher confidence and win.
 */

import { leefStart, leefToDraft, parseLeef } from '../kit/cef-format.js';
import { type EventDraft, finishAsWritten, refuse } from '../kit/draft.js';
import type { ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'leef';

export const family: ParserFamily = {
  name: NAME,
  products: ['IBM QRadar Log Event Extended Format (LEEF 1.0, 2.0) from any product'],
  detect(msg: SyslogMessage): number {
    if (msg.msg.startsWith('LEEF:')) return 0.6;
    return leefStart(msg.raw) >= 0 ? 0.5 : 0;
  },
  parse(msg: SyslogMessage) {
    const rec = parseLeef(msg.msg) ?? parseLeef(msg.raw);
    if (rec === undefined) return refuse('not a LEEF message (no LEEF:Version|Vendor|Product|... header)');
    const ev: EventDraft = { vendor: NAME, action: 'other' };
    leefToDraft(rec, ev, msg.ts);
    return finishAsWritten(ev);
  },
};
