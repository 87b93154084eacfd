/**
 * Datagrams the kernel dropped before the agent could read them (receive buffer full). UDP loss
 * happens below the process, so the only honest count comes from the kernel: Linux reports it per
 * socket in the last column of /proc/net/udp and /proc/net/udp6. Elsewhere the count is unknown.
 */
import { readFileSync } from 'node:fs';

/** Sums the `drops` column of every socket bound to `port` in one /proc/net/udp{,6} table. */
export function dropsForPort(table: string, port: number): number {
  const portHex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let drops = 0;
  const lines = table.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const fields = lines[i]?.trim().split(/\s+/) ?? [];
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    if (fields.length < 13 || !fields[1]?.endsWith(portHex)) continue;
    const value = Number(fields[12]);
    if (Number.isSafeInteger(value)) drops += value;
  }
  return drops;
}

/** Kernel drops for our UDP port, or undefined where /proc/net is not available. */
export function readUdpKernelDrops(port: number): number | undefined {
  let found = false;
  let drops = 0;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    try {
      drops += dropsForPort(readFileSync(file, 'utf8'), port);
      found = true;
    } catch {
      // not Linux, or no IPv6 table
    }
  }
  return found ? drops : undefined;
}
