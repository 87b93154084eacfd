/**
 * The detector fixture format (`detectors/<name>.jsonl`, one case a line), shared by the fixture
 * test and the summarising test:
 *
 *   {"case": "what it shows", "events": [TEMPLATE…], "alerts": [EXPECTED…],
 *    "settings": {"<detector>": {…}}, "ignore": "CIDRs", "background": ["addr"], "intel": {"addr": "list"}}
 *
 * A TEMPLATE is an event (minimised: internal addresses as `p:` pseudonyms or private addresses in
 * clear) with `t` (seconds after 2024-03-11T20:00:00Z) instead of `ts`, and optionally `repeat` (that
 * many events) and `stepS` (seconds between them); in a repeated template, `{i}` in a string is the
 * repetition's number from 1, and `{i+K}` that plus K (a port written as such a string becomes a
 * number). `vendor` defaults to `netfilter`, `action` to `deny`, `proto` to `tcp`.
 *
 * EXPECTED lists every alert the case must end with (its final report), by `detector` and `source`
 * plus any other fields to compare; an alert not listed fails the case, so a benign case is
 * `"alerts": []`.
 */
import type { ConnectionEvent } from '../../protocol/event.js';

export const FIXTURE_EPOCH_MS = Date.parse('2024-03-11T20:00:00Z');

export interface FixtureCase {
  readonly case: string;
  readonly events: readonly Record<string, unknown>[];
  readonly alerts: readonly Record<string, unknown>[];
  readonly settings?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly ignore?: string;
  readonly background?: readonly string[];
  readonly intel?: Readonly<Record<string, string>>;
}

const PORT_FIELDS = new Set(['src_port', 'dst_port', 'src_nat_port', 'dst_nat_port', 'count']);

function substitute(value: string, i: number): string {
  return value.replace(/\{i(?:\+(\d+))?\}/g, (_m, k: string | undefined) => String(i + (k ? Number(k) : 0)));
}

/** The events a case's templates stand for, in time order. */
export function expandEvents(templates: readonly Record<string, unknown>[]): ConnectionEvent[] {
  const out: { tMs: number; seq: number; event: ConnectionEvent }[] = [];
  let seq = 0;
  for (const template of templates) {
    const { t, repeat, stepS, ...fields } = template as { t?: number; repeat?: number; stepS?: number };
    const n = repeat ?? 1;
    for (let i = 1; i <= n; i++) {
      const tMs = FIXTURE_EPOCH_MS + ((t ?? 0) + (i - 1) * (stepS ?? 0)) * 1000;
      const event: Record<string, unknown> = { vendor: 'netfilter', action: 'deny', proto: 'tcp' };
      for (const [k, v] of Object.entries(fields)) {
        if (typeof v === 'string' && v.includes('{i')) {
          const s = substitute(v, i);
          event[k] = PORT_FIELDS.has(k) ? Number(s) : s;
        } else {
          event[k] = v;
        }
      }
      if (event.ts === undefined) event.ts = new Date(tMs).toISOString();
      out.push({ tMs: Date.parse(event.ts as string), seq: seq++, event: event as ConnectionEvent });
    }
  }
  out.sort((a, b) => a.tMs - b.tMs || a.seq - b.seq);
  return out.map((o) => o.event);
}
