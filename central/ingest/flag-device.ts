/**
 * A device that keeps sending bad batches is flagged for an analyst, not allowed to stall the others.
 *
 * Its bad batches cost little already: each is quarantined and acknowledged (storeBatch), so it never
 * blocks a queue or comes back. What is left is telling someone: after `threshold` quarantines within
 * `windowMs` this process sets `devices.flagged` and logs it once. The count is per process, in memory
 * (workers stay stateless: with N workers on a shared subscription a device is flagged after at most
 * N × threshold bad batches in a window, which is as good for a "this device is broken" signal);
 * the durable per-device total is `devices.bad_batches`, which storeBatch maintains.
 */
import type { Queryable } from '../store/db.js';

export interface BadBatchTrackerOptions {
  /** Quarantines within the window that flag a device. */
  readonly threshold: number;
  readonly windowMs: number;
  /** Devices tracked at once; the oldest window is forgotten first (a hostile fleet cannot grow it). */
  readonly maxDevices?: number;
}

interface DeviceWindow {
  startMs: number;
  count: number;
}

export class BadBatchTracker {
  private readonly windows = new Map<string, DeviceWindow>();
  private readonly flagged = new Set<string>();
  private readonly maxDevices: number;

  constructor(private readonly options: BadBatchTrackerOptions) {
    this.maxDevices = options.maxDevices ?? 10_000;
  }

  /**
   * Counts one quarantined batch; true when the device has just reached the threshold and is not yet
   * flagged by this process (the caller flags it and calls `markFlagged`, or retries next time).
   */
  record(deviceId: string, nowMs: number): boolean {
    if (this.flagged.has(deviceId)) return false;
    let w = this.windows.get(deviceId);
    if (w === undefined || nowMs - w.startMs > this.options.windowMs) {
      this.windows.delete(deviceId); // re-insert: Map order is then oldest-window-first
      if (this.windows.size >= this.maxDevices) {
        const oldest = this.windows.keys().next().value;
        if (oldest !== undefined) this.windows.delete(oldest);
      }
      w = { startMs: nowMs, count: 0 };
      this.windows.set(deviceId, w);
    }
    w.count++;
    return w.count >= this.options.threshold;
  }

  markFlagged(deviceId: string): void {
    this.windows.delete(deviceId);
    if (this.flagged.size >= this.maxDevices) this.flagged.clear(); // worst case: flagged again (idempotent)
    this.flagged.add(deviceId);
  }

  /** Devices with a quarantine in the current window (for the metrics gauge). */
  get trackedDevices(): number {
    return this.windows.size;
  }
}

/**
 * Sets `devices.flagged`; true when this call changed it (false: already flagged, or no such
 * device — storeBatch creates the row when it quarantines, so that means it was deleted).
 */
export async function flagDevice(db: Queryable, deviceId: string): Promise<boolean> {
  const rows = await db.query(
    'UPDATE devices SET flagged = true WHERE device_id = $1 AND NOT flagged RETURNING 1',
    [deviceId],
  );
  return rows.length > 0;
}
