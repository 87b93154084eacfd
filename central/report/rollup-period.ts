/**
 * Rollup reports answer for whole buckets (hours for members, days for forces). A requested period
 * is widened outward to bucket boundaries and the report states the period it actually covers,
 * rather than answering for a different period than it says or refusing a reasonable request.
 */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export interface Period {
  readonly from: Date;
  readonly to: Date;
}

/** [floor(from), ceil(to)) on `bucketMs` boundaries (UTC: epoch ms are UTC and hours/days divide them). */
export function alignPeriod(period: Period, bucketMs: number): Period {
  const from = Math.floor(period.from.getTime() / bucketMs) * bucketMs;
  const to = Math.ceil(period.to.getTime() / bucketMs) * bucketMs;
  return { from: new Date(from), to: new Date(Math.max(from, to)) };
}

/** Rollups store a missing protocol as '' (a key column cannot be null); reports say null. */
export const protoOut = (proto: string): string | null => (proto === '' ? null : proto);

export interface ActionCount {
  readonly action: string;
  readonly events: number;
}
export interface ProtocolCount {
  readonly proto: string | null;
  readonly events: number;
}
export interface SourceCount {
  readonly ip: string;
  readonly events: number;
}
export interface PortCount {
  readonly port: number;
  readonly proto: string | null;
  readonly events: number;
}

/** Rows of a `GROUPING SETS ((action), (proto), (<other>))` query over an actions rollup. */
export interface GroupedActionRow {
  /** Which set the row belongs to: 'action' | 'proto' | the third key's name. */
  readonly grp: string;
  readonly key: string;
  readonly events: number;
}

/** Splits grouped rows by set, keeping the query's order within each. */
export function splitGroups(rows: readonly GroupedActionRow[]): Map<string, GroupedActionRow[]> {
  const groups = new Map<string, GroupedActionRow[]>();
  for (const row of rows) {
    const list = groups.get(row.grp);
    if (list) list.push(row);
    else groups.set(row.grp, [row]);
  }
  return groups;
}
