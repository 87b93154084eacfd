/** Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff and Jitter"):
 * a thousand devices coming back after an outage spread their reconnects instead of arriving together. */
export function backoffDelayMs(
  attempt: number,
  minMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(minMs + random() * (ceiling - minMs));
}
