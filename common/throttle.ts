/**
 * The wait a throttled sign-in imposes: `free` failures cost nothing, then each further one doubles
 * the wait from `baseMs`, up to `maxMs`. Used per client on the status page and per (account,
 * client) on the portal, so a flood from one place slows only that place.
 */
export function doublingDelayMs(
  failures: number,
  policy: { readonly free: number; readonly baseMs: number; readonly maxMs: number },
): number {
  if (failures < policy.free) return 0;
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(failures - policy.free, 30));
}
