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

/**
 * `created` (epoch ms) of an encoded batch, read from the head of the CBOR map without decoding the
 * events: storeBatch has already decoded and validated the payload, and decoding it a second time
 * just for a lag sample would cost more than the sample is worth. The appliance encodes the keys in
 * the order v, device, seq, created, events (appliance/outbox), so `created` sits in the first few
 * dozen bytes. Anything unexpected gives undefined (no sample), never a wrong number or an exception.
 */
export function peekBatchCreated(payload: Uint8Array): number | undefined {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let pos = 0;
  const head = payload[pos++];
  if (head === undefined || head >> 5 !== 5) return undefined; // not a map
  let keys = head & 0x1f;
  if (keys === 24) keys = payload[pos++] ?? 0;
  else if (keys > 23) return undefined;
  const readUint = (info: number): number | undefined => {
    if (info < 24) return info;
    const at = pos;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0 || at + size > payload.length) return undefined;
    pos += size;
    if (size === 1) return payload[at];
    if (size === 2) return view.getUint16(at);
    if (size === 4) return view.getUint32(at);
    return Number(view.getBigUint64(at));
  };
  for (let k = 0; k < keys; k++) {
    const keyHead = payload[pos++];
    if (keyHead === undefined || keyHead >> 5 !== 3) return undefined; // keys are text
    const keyLen = readUint(keyHead & 0x1f);
    if (keyLen === undefined || pos + keyLen > payload.length) return undefined;
    const key = keyLen <= 16 ? String.fromCharCode(...payload.subarray(pos, pos + keyLen)) : '';
    pos += keyLen;
    const valueHead = payload[pos++];
    if (valueHead === undefined) return undefined;
    const major = valueHead >> 5;
    const info = valueHead & 0x1f;
    if (key === 'created') {
      if (major === 0) return readUint(info);
      if (valueHead === 0xfb && pos + 8 <= payload.length) return view.getFloat64(pos);
      if (valueHead === 0xfa && pos + 4 <= payload.length) return view.getFloat32(pos);
      return undefined;
    }
    // Skip the scalar or text values that precede `created`; anything else ends the peek.
    if (major === 0 || major === 1) {
      if (readUint(info) === undefined) return undefined;
    } else if (major === 3) {
      const len = readUint(info);
      if (len === undefined) return undefined;
      pos += len;
    } else if (valueHead === 0xfb) pos += 8;
    else if (valueHead === 0xfa) pos += 4;
    else return undefined;
  }
  return undefined;
}
