/**
 * In-process ingest accounting for /metrics (the durable totals live in the database): plain
 * counters (JSON-safe: /api/stats returns them), a per-second events window for the throughput
 * gauge and a recent-lag window for the lag quantiles. The windows take the clock as an argument, so
 * their tests need no sleeps.
 */
export interface IngestCounters {
  batches: number;
  stored: number;
  storedEvents: number;
  duplicates: number;
  quarantined: number;
  quarantinedByReason: Record<string, number>;
  storeErrors: number;
  bytes: number;
  /** Devices this process flagged for sending bad batches (see flag-device.ts). */
  devicesFlagged: number;
  /** Failed attempts to flag a device (retried at the next bad batch). */
  flagErrors: number;
  /**
   * Uplink messages of a kind central has no store for yet, by kind: quarantined whole
   * (handlers/not-ingested-yet.ts), so also in `quarantined`. Every kind has a store today, so this
   * stays empty until the protocol names a new kind. Kinds are the protocol's, so bounded.
   */
  ignoredByKind: Record<string, number>;
  /** Messages on a topic that is not a device uplink topic at all. */
  ignoredForeign: number;
  /** Address fields stored empty: their text was neither an address nor a pseudonym. */
  clearedAddresses: number;
  /** Event times stored empty: more than a day ahead of central's clock. */
  clearedTimes: number;
  /** Alerts batches received / stored / redelivered (handlers/alerts.ts). */
  alertBatches: number;
  alertBatchesStored: number;
  alertDuplicates: number;
  /** New alerts stored, by `detector|severity` (at most 64 pairs, then `other|other`). */
  alertsStoredBy: Record<string, number>;
  /** Reports that replaced a stored alert (update, final). */
  alertsUpdated: number;
  /** Reports older than the stored one (a late copy of an earlier batch): ignored. */
  alertsStale: number;
  /** Heartbeats received / stored / redelivered (handlers/health.ts). */
  healthReports: number;
  healthStored: number;
  healthDuplicates: number;
  /** Heartbeats stored under central's receipt time: the device's clock was implausible. */
  healthTimesReplaced: number;
}

export function newIngestCounters(): IngestCounters {
  return {
    batches: 0,
    stored: 0,
    storedEvents: 0,
    duplicates: 0,
    quarantined: 0,
    quarantinedByReason: {},
    storeErrors: 0,
    bytes: 0,
    devicesFlagged: 0,
    flagErrors: 0,
    ignoredByKind: {},
    ignoredForeign: 0,
    clearedAddresses: 0,
    clearedTimes: 0,
    alertBatches: 0,
    alertBatchesStored: 0,
    alertDuplicates: 0,
    alertsStoredBy: {},
    alertsUpdated: 0,
    alertsStale: 0,
    healthReports: 0,
    healthStored: 0,
    healthDuplicates: 0,
    healthTimesReplaced: 0,
  };
}

/**
 * Events stored per second over the last `seconds` whole seconds: a ring of per-second buckets, so a
 * record is one array write and a scrape sums at most 60 numbers.
 */
export class ThroughputWindow {
  private readonly buckets: Float64Array;
  private readonly bucketSecond: Float64Array;

  constructor(private readonly seconds = 60) {
    this.buckets = new Float64Array(seconds);
    this.bucketSecond = new Float64Array(seconds).fill(-1);
  }

  record(events: number, nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    const i = second % this.seconds;
    if (this.bucketSecond[i] !== second) {
      this.bucketSecond[i] = second;
      this.buckets[i] = 0;
    }
    this.buckets[i]! += events;
  }

  /** Mean rate over the window's completed seconds (the current, partial second is left out). */
  perSecond(nowMs: number): number {
    const current = Math.floor(nowMs / 1000);
    let sum = 0;
    for (let i = 0; i < this.seconds; i++) {
      const s = this.bucketSecond[i]!;
      if (s < current && s >= current - this.seconds) sum += this.buckets[i]!;
    }
    return sum / this.seconds;
  }
}

/**
 * The lag (commit time − batch created, by the device's clock) of the most recent batches stored
 * within `windowMs`, for p50/p99 gauges. A bounded ring: quantiles over at most `capacity` samples.
 * (common/metrics.ts renders counters and gauges only, so lag is quantile gauges, not a histogram.)
 */
export class LagWindow {
  private readonly lagMs: Float64Array;
  private readonly atMs: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(
    private readonly capacity = 4096,
    private readonly windowMs = 60_000,
  ) {
    this.lagMs = new Float64Array(capacity);
    this.atMs = new Float64Array(capacity);
  }

  record(lagMs: number, nowMs: number): void {
    this.lagMs[this.next] = lagMs;
    this.atMs[this.next] = nowMs;
    this.next = (this.next + 1) % this.capacity;
    if (this.filled < this.capacity) this.filled++;
  }

  /** Quantiles (nearest rank) of the samples recorded within the window; undefined when none. */
  quantiles(qs: readonly number[], nowMs: number): number[] | undefined {
    const recent: number[] = [];
    for (let i = 0; i < this.filled; i++)
      if (nowMs - this.atMs[i]! <= this.windowMs) recent.push(this.lagMs[i]!);
    if (recent.length === 0) return undefined;
    recent.sort((a, b) => a - b);
    return qs.map((q) => recent[Math.min(recent.length - 1, Math.max(0, Math.ceil(q * recent.length) - 1))]!);
  }
}

/** The gauges' state for one ingest process. */
export interface IngestWindows {
  readonly throughput: ThroughputWindow;
  readonly lag: LagWindow;
}

export function newIngestWindows(): IngestWindows {
  return { throughput: new ThroughputWindow(), lag: new LagWindow() };
}
