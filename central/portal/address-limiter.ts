/**
 * A fixed-window request limit per client address for unauthenticated routes (device registration):
 * each refused request would otherwise cost a CSR check and an audit row, so a flood could grow the
 * audit log without bound. Memory is bounded too: at most `maxAddresses` windows are kept, the
 * oldest dropped first (a dropped address simply starts a fresh window).
 */
export class AddressLimiter {
  private readonly windows = new Map<string, { startedMs: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxAddresses = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request from `address`; false when it is over the limit for the current window. */
  allow(address: string): boolean {
    const now = this.now();
    let w = this.windows.get(address);
    if (!w || now - w.startedMs >= this.windowMs) {
      this.windows.delete(address);
      if (this.windows.size >= this.maxAddresses) {
        const oldest = this.windows.keys().next().value;
        if (oldest !== undefined) this.windows.delete(oldest);
      }
      w = { startedMs: now, count: 0 };
      this.windows.set(address, w);
    }
    w.count++;
    return w.count <= this.limit;
  }
}
