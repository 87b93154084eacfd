/** A well-formed heartbeat for tests on both sides of the wire (not built into dist/). */
import { HEALTH_VERSION, type HealthReport } from './health.js';

export const sampleHealth = (over: Partial<HealthReport> = {}): HealthReport => ({
  v: HEALTH_VERSION,
  device: 'dev-1',
  at: 1_765_108_800_000,
  version: '0.9.0',
  uptimeS: 86_400,
  cpuLoadPct: 12.5,
  memory: { totalBytes: 4e9, availableBytes: 1.5e9 },
  disk: { totalBytes: 32e9, freeBytes: 20e9 },
  temperatureC: 51.2,
  sources: { count: 2, active: 2, byFormat: { fortinet_fortigate: 1, unknown: 1 } },
  parse: { parsed: 10_000, unparsed: 12 },
  outbox: { events: 0, bytes: 0, state: 'ok', lostEvents: 0 },
  uplink: { lastUploadAt: 1_765_108_790_000, restarts: 0, connects: 1 },
  detection: true,
  ...over,
});
