/**
 * The one way a family builds its event: a mutable `EventDraft` filled with direct writes (a value
 * known to be present) or `put` (a value that may be missing or empty), then returned with `finish`
 * or `finishAsWritten`, or a `refuse` with the reason.
 *
 * Two finishers because the event's key order shows in `cyberalarm-agent parse` output and each
 * family keeps the order it has always had: `finish` writes the wire order (`EVENT_FIELD_NAMES`)
 * and cuts text to the schema's limits; `finishAsWritten` returns the draft in the order the family
 * wrote it (the hot-path families write wire order themselves and need no second object).
 */
import type { ConnectionEvent } from '../../../protocol/event.js';
import { EVENT_FIELD_NAMES, TEXT_MAX_LENGTH } from '../../../protocol/event-fields.js';
import type { ParseResult } from '../types.js';

/** An event under construction: every key optional and writable until it is returned. */
export type EventDraft = { -readonly [K in keyof ConnectionEvent]?: ConnectionEvent[K] };

/** Sets `key` only when `value` carries something: events never hold `undefined` or empty text. */
export function put<K extends keyof ConnectionEvent>(
  ev: EventDraft,
  key: K,
  value: ConnectionEvent[K] | undefined,
): void {
  if (value === undefined || value === '') return;
  ev[key] = value;
}

/** The event's fields a parser fills in, in wire order: `vendor` comes from `finish`, the rest from
 * the summariser. */
const DRAFT_KEYS = EVENT_FIELD_NAMES.filter(
  (key): key is keyof EventDraft & (typeof EVENT_FIELD_NAMES)[number] =>
    key !== 'vendor' && key !== 'count' && key !== 'last_seen' && key !== 'src_ports',
);

/** The schema's limits for the text fields parsers fill in as they please (addresses are checked). */
const TEXT_LIMITS: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(TEXT_MAX_LENGTH).filter(([key]) => !key.endsWith('_ip')),
);

/** The event in wire order with only the keys that carry a value; text is cut to the schema's limits. */
export function finish(vendor: string, draft: EventDraft): ParseResult {
  const event: Record<string, unknown> = { vendor };
  for (const key of DRAFT_KEYS) {
    const value = draft[key];
    if (value === undefined || value === '') continue;
    if (typeof value === 'string') {
      const limit = TEXT_LIMITS[key];
      event[key] = limit !== undefined && value.length > limit ? value.slice(0, limit) : value;
    } else event[key] = value;
  }
  return { ok: true, event: event as ConnectionEvent };
}

/** The draft itself as the event: it must already hold `vendor` and `action`, its text within limits. */
export function finishAsWritten(ev: EventDraft): ParseResult {
  return { ok: true, event: ev as ConnectionEvent };
}

export function refuse(reason: string): ParseResult {
  return { ok: false, reason };
}
