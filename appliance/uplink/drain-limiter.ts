/**
 * The backlog's drain rate (`uplinkMaxBytesPerS`): a token bucket in payload bytes, at most one
 * second's worth saved up. A batch may overdraw it (a large batch is never starved); the debt delays
 * the next one. Pure over a monotonic clock in milliseconds (`performance.now()` in the agent):
 * a wall clock stepped back by NTP or an operator must not hold uploads back for the length of the
 * step, nor one stepped forward release a burst.
 */
export class DrainLimiter {
  private tokens: number;
  private lastMs: number;

  constructor(
    private readonly bytesPerS: number,
    nowMs: number,
  ) {
    this.tokens = bytesPerS;
    this.lastMs = nowMs;
  }

  /** Milliseconds to wait before the next batch may go; 0 when it may go now. */
  waitMs(nowMs: number): number {
    const elapsed = nowMs - this.lastMs;
    // A clock that went backwards (only a wrong caller's) refills nothing but never freezes the bucket.
    if (elapsed > 0) this.tokens = Math.min(this.bytesPerS, this.tokens + (elapsed * this.bytesPerS) / 1000);
    this.lastMs = nowMs;
    return this.tokens > 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.bytesPerS) + 1;
  }

  spend(bytes: number): void {
    this.tokens -= bytes;
  }
}
