/**
 * Heartbeats: the health sample plus what the agent knows about its own pipeline, sent to central
 * every `healthIntervalS` on the `health` uplink kind (protocol/health.ts).
 *
 * Best-effort by design: a heartbeat is published straight on the uplink's connection
 * (`Uplink.publishHealth`), never through the outbox, so it can never evict or delay event data.
 * One that cannot be sent (no connection) is dropped and counted as `skipped`; the next replaces it,
 * and the first connect after a skipped one (or after start) sends one at once, so central learns
 * of a box coming back without waiting a whole interval.
 *
 * `buildHealthReport` is pure (the clock and every input are arguments); `Heartbeats` is the timer.
 * Log sources leave as counts only (how many, how many active, how many per format): their
 * addresses are the member's internal information.
 */
import type { Logger } from '../../common/logger.js';
import {
  encodeHealthReport,
  HEALTH_VERSION,
  type HealthReport,
  isValidHealthReport,
  MAX_HEALTH_FORMATS,
  OUTBOX_STATES,
  UNKNOWN_FORMAT,
} from '../../protocol/health.js';
import type { HealthSample } from './health.js';

/** A source counts as active when it sent anything within this long. */
export const ACTIVE_SOURCE_MS = 3_600_000;
const FORMAT_NAME = /^[a-z0-9_]{1,48}$/;

/** What a heartbeat is built from: slices of the agent's status, so tests need no agent. */
export interface HeartbeatInputs {
  readonly deviceId: string;
  readonly version: string;
  readonly nowMs: number;
  readonly health: HealthSample;
  readonly sources: readonly { readonly lastSeen: string; readonly format?: string }[];
  readonly pipeline: { readonly parsed: number; readonly unparsed: number };
  readonly outbox: {
    readonly depthEvents: number;
    readonly depthBytes: number;
    readonly state: string;
    readonly lostEvents: number;
  };
  readonly uplink: { readonly lastAckAt?: string; readonly connects: number };
  readonly uplinkRestarts: number;
  readonly detection: boolean;
}

const count = (n: number): number =>
  Number.isFinite(n) && n > 0 ? Math.min(Math.round(n), Number.MAX_SAFE_INTEGER) : 0;
const within = (n: number | null, min: number, max: number): number | null =>
  n !== null && Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : null;

export function buildHealthReport(i: HeartbeatInputs): HealthReport {
  const byFormat: Record<string, number> = {};
  let active = 0;
  for (const source of i.sources) {
    const seen = Date.parse(source.lastSeen);
    if (Number.isFinite(seen) && i.nowMs - seen <= ACTIVE_SOURCE_MS) active++;
    let format =
      source.format !== undefined && FORMAT_NAME.test(source.format) ? source.format : UNKNOWN_FORMAT;
    // The families are ~20: the bound only matters if that ever changes.
    if (!(format in byFormat) && Object.keys(byFormat).length >= MAX_HEALTH_FORMATS - 1) format = 'other';
    byFormat[format] = (byFormat[format] ?? 0) + 1;
  }
  const h = i.health;
  const lastAck = i.uplink.lastAckAt === undefined ? Number.NaN : Date.parse(i.uplink.lastAckAt);
  const state = (OUTBOX_STATES as readonly string[]).includes(i.outbox.state)
    ? (i.outbox.state as HealthReport['outbox']['state'])
    : 'error';
  return {
    v: HEALTH_VERSION,
    device: i.deviceId,
    at: count(i.nowMs),
    version: i.version,
    uptimeS: h.uptimeS === null ? null : count(h.uptimeS),
    cpuLoadPct: within(h.cpuLoadPercent, 0, 100),
    memory: h.memory && {
      totalBytes: count(h.memory.totalBytes),
      availableBytes: count(h.memory.availableBytes),
    },
    disk: h.disk && {
      totalBytes: count(h.disk.sizeBytes),
      freeBytes: count(h.disk.sizeBytes - h.disk.usedBytes),
    },
    temperatureC:
      h.temperatureC !== null && h.temperatureC > -100 && h.temperatureC < 250 ? h.temperatureC : null,
    sources: { count: i.sources.length, active, byFormat },
    parse: { parsed: count(i.pipeline.parsed), unparsed: count(i.pipeline.unparsed) },
    outbox: {
      events: count(i.outbox.depthEvents),
      bytes: count(i.outbox.depthBytes),
      state,
      lostEvents: count(i.outbox.lostEvents),
    },
    uplink: {
      lastUploadAt: Number.isFinite(lastAck) ? count(lastAck) : null,
      restarts: count(i.uplinkRestarts),
      connects: count(i.uplink.connects),
    },
    detection: i.detection,
  };
}

export interface HeartbeatStats {
  /** Handed to the connection / acknowledged by the broker / refused or lost on the way. */
  sent: number;
  acked: number;
  failed: number;
  /** Due while there was no connection: dropped (the next one replaces it). */
  skipped: number;
  /** Built but refused by the wire schema before sending (a bug; logged). */
  invalid: number;
  lastAckedAt: string | null;
}

export interface HeartbeatOptions {
  readonly intervalMs: number;
  /** Refreshes the health sample (HealthSampler.sample: shares a sample in progress). */
  readonly sample: () => Promise<void>;
  readonly build: () => HealthReport;
  /** Uplink.publishHealth, or false when there is no uplink (not enrolled yet). */
  readonly publish: (payload: Uint8Array, done: (acked: boolean) => void) => boolean;
  readonly logger: Logger;
}

export class Heartbeats {
  readonly stats: HeartbeatStats = {
    sent: 0,
    acked: 0,
    failed: 0,
    skipped: 0,
    invalid: 0,
    lastAckedAt: null,
  };
  private timer: NodeJS.Timeout | undefined;
  /** True until one is sent, and after one was skipped: the next connect sends one at once. */
  private owed = true;
  private beating: Promise<void> | undefined;

  constructor(private readonly options: HeartbeatOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.beat(), this.options.intervalMs);
    this.timer.unref();
  }

  /** The uplink connected: send the heartbeat that was missed (or the first one). */
  onConnected(): void {
    if (this.owed) void this.beat();
  }

  /** One heartbeat now; never rejects. Overlapping calls share the one in progress. */
  beat(): Promise<void> {
    this.beating ??= this.beatOnce().finally(() => {
      this.beating = undefined;
    });
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    try {
      await this.options.sample();
      const report = this.options.build();
      if (!isValidHealthReport(report)) {
        this.stats.invalid++;
        this.options.logger.error({ report }, 'heartbeat refused by the wire schema; not sent');
        return;
      }
      const published = this.options.publish(encodeHealthReport(report), (acked) => {
        if (acked) {
          this.stats.acked++;
          this.stats.lastAckedAt = new Date().toISOString();
        } else this.stats.failed++;
      });
      if (published) {
        this.stats.sent++;
        this.owed = false;
      } else {
        this.stats.skipped++;
        this.owed = true;
      }
    } catch (err) {
      this.options.logger.error({ err }, 'heartbeat failed');
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.beating;
  }
}
