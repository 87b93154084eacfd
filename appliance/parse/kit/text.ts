/** Small text helpers for per-line code. */
import type { SyslogMessage } from '../types.js';

/** `text.startsWith(word, at)` for a short `word`: a loop the compiler inlines costs less than the call. */
export function hasAt(text: string, at: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) if (text.charCodeAt(at + k) !== word.charCodeAt(k)) return false;
  return true;
}

/** A usable text value: not empty, not a vendor placeholder such as `N/A` or `-`. */
export function text(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '' || v === '-' || v === 'N/A' || v === 'n/a' || v === 'NA' || v === 'None' || v === 'none')
    return undefined;
  return v;
}

/**
 * The text to parse: the header-stripped body when it holds `anchor`, else the raw line from the
 * anchor on (header parsers sometimes mistake a vendor's leading tokens for header fields).
 * Undefined when the anchor is nowhere.
 */
export function bodyFrom(msg: SyslogMessage, anchor: string): string | undefined {
  const i = msg.msg.indexOf(anchor);
  if (i >= 0) return msg.msg.slice(i);
  const j = msg.raw.indexOf(anchor);
  return j >= 0 ? msg.raw.slice(j) : undefined;
}
