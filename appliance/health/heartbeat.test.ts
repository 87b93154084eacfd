import t from 'tap';
import { createLogger } from '../../common/logger.js';
import { decodeHealthReport, isValidHealthReport } from '../../protocol/health.js';
import type { HealthSample } from './health.js';
import { buildHealthReport, type HeartbeatInputs, Heartbeats } from './heartbeat.js';

const NOW = Date.parse('2026-12-07T12:00:00.000Z');
const sample: HealthSample = {
  sampledAt: '2026-12-07T11:59:50.000Z',
  version: '0.9.0',
  cpuLoadPercent: 12.3,
  memory: { totalBytes: 4e9, availableBytes: 1e9, usedPercent: 75 },
  disk: { mount: '/var', sizeBytes: 32e9, usedBytes: 30e9, usedPercent: 93.8 },
  temperatureC: 51.2,
  uptimeS: 3600.4,
  errors: [],
};
const inputs = (over: Partial<HeartbeatInputs> = {}): HeartbeatInputs => ({
  deviceId: 'dev-1',
  version: '0.9.0',
  nowMs: NOW,
  health: sample,
  // The agent passes its full SourceStats (with the address); only counts may come out.
  sources: [
    { source: '192.168.77.1', lastSeen: '2026-12-07T11:59:00.000Z', format: 'fortinet_fortigate' },
    { source: '192.168.77.2', lastSeen: '2026-12-07T11:30:00.000Z', format: 'fortinet_fortigate' },
    { source: 'fw-secret.internal', lastSeen: '2026-12-06T11:00:00.000Z' },
  ] as unknown as HeartbeatInputs['sources'],
  pipeline: { parsed: 1000, unparsed: 5 },
  outbox: { depthEvents: 12, depthBytes: 3456, state: 'ok', lostEvents: 0 },
  uplink: { lastAckAt: '2026-12-07T11:59:59.000Z', connects: 2 },
  uplinkRestarts: 1,
  detection: true,
  ...over,
});

t.test('a heartbeat from the agent status: counts, not addresses', async (t) => {
  const report = buildHealthReport(inputs());
  t.ok(isValidHealthReport(report), 'passes the wire schema');
  t.match(report, {
    device: 'dev-1',
    at: NOW,
    uptimeS: 3600,
    cpuLoadPct: 12.3,
    memory: { totalBytes: 4e9, availableBytes: 1e9 },
    disk: { totalBytes: 32e9, freeBytes: 2e9 },
    temperatureC: 51.2,
    sources: { count: 3, active: 2, byFormat: { fortinet_fortigate: 2, unknown: 1 } },
    parse: { parsed: 1000, unparsed: 5 },
    outbox: { events: 12, bytes: 3456, state: 'ok', lostEvents: 0 },
    uplink: { lastUploadAt: Date.parse('2026-12-07T11:59:59.000Z'), restarts: 1, connects: 2 },
    detection: true,
  });
  const text = JSON.stringify(report);
  t.notMatch(text, /192\.168|fw-secret/, 'no source address or name leaves the box');
});

t.test('odd inputs still give a valid heartbeat', async (t) => {
  const report = buildHealthReport(
    inputs({
      health: { ...sample, cpuLoadPercent: 180, memory: null, disk: null, temperatureC: null, uptimeS: null },
      sources: [{ lastSeen: 'never', format: 'Not A Family!' }],
      outbox: { depthEvents: -1, depthBytes: Number.NaN, state: 'something new', lostEvents: 0 },
      uplink: { connects: 0 },
      detection: false,
    }),
  );
  t.ok(isValidHealthReport(report));
  t.match(report, {
    cpuLoadPct: 100,
    memory: null,
    sources: { count: 1, active: 0, byFormat: { unknown: 1 } },
    outbox: { events: 0, bytes: 0, state: 'error' },
    uplink: { lastUploadAt: null },
  });
});

t.test('no connection: skipped, and the next connect sends one at once', async (t) => {
  const published: Uint8Array[] = [];
  let connected = false;
  let ack: ((acked: boolean) => void) | undefined;
  const beats = new Heartbeats({
    intervalMs: 60_000,
    sample: async () => undefined,
    build: () => buildHealthReport(inputs()),
    publish: (payload, done) => {
      if (!connected) return false;
      published.push(payload);
      ack = done;
      return true;
    },
    logger: createLogger('test', 'silent'),
  });
  await beats.beat();
  t.match(beats.stats, { sent: 0, skipped: 1 });
  connected = true;
  beats.onConnected();
  await beats.beat(); // joins the one onConnected started
  t.equal(published.length, 1, 'the missed heartbeat goes out on connect');
  const decoded = decodeHealthReport(published[0]!);
  t.ok(decoded.ok && decoded.report.device === 'dev-1');
  ack?.(true);
  t.match(beats.stats, { sent: 1, acked: 1, skipped: 1 });
  t.ok(beats.stats.lastAckedAt);
  beats.onConnected();
  await beats.beat();
  t.equal(published.length, 2, 'a timer beat still sends');
  ack?.(false);
  t.equal(beats.stats.failed, 1);
  await beats.stop();
});

t.test('a heartbeat the schema would refuse is counted, not sent', async (t) => {
  let calls = 0;
  const beats = new Heartbeats({
    intervalMs: 60_000,
    sample: async () => undefined,
    build: () => buildHealthReport(inputs({ version: '<bad version>' })),
    publish: () => {
      calls++;
      return true;
    },
    logger: createLogger('test', 'silent'),
  });
  await beats.beat();
  t.equal(calls, 0);
  t.equal(beats.stats.invalid, 1);
});
