/**
 * A token bucket: `ratePerS` tokens a second, at most `burst` saved up, one token per message. Pure:
 * the caller passes a monotonic clock in milliseconds, so tests need no sleeps and the hot path reads
 * the clock once per message for every stage that needs it.
 */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;
  private readonly perMs: number;

  constructor(
    ratePerS: number,
    private readonly burst: number,
    nowMs: number,
  ) {
    this.perMs = ratePerS / 1000;
    this.tokens = burst;
    this.lastMs = nowMs;
  }

  /** True when a token was available (and is now spent). */
  take(nowMs: number): boolean {
    const elapsed = nowMs - this.lastMs;
    if (elapsed !== 0) {
      // A clock that went backwards refills nothing but must not freeze the bucket until it catches up.
      if (elapsed > 0) {
        const refilled = this.tokens + elapsed * this.perMs;
        this.tokens = Math.min(refilled, this.burst);
      }
      this.lastMs = nowMs;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}
