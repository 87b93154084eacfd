/**
 * Heartbeats end to end, as separate processes: a real agent (`--health-interval-s 2`) and a real
 * central (embedded broker, PGlite). Heartbeats arrive in device_health with the agent's version,
 * its log sources as counts and formats (no address), and keep arriving; the outbox's data still
 * flows beside them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { replay } from '../appliance/replay/replay.js';
import { openDatabase } from '../central/store/db.js';
import { VERSION } from '../common/version.js';
import { issueDevice, startAgentProcess, startCentralProcess, waitFor } from '../tools/demo/harness.js';
import { generateTraffic } from '../tools/demo/traffic.js';

const DEVICE = 'e2e-health-1';
const dir = mkdtempSync(join(tmpdir(), 'ca-e2e-health-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

interface HealthStats {
  process: { healthReports: number; healthStored: number; quarantined: number; storedEvents: number };
}

t.test('heartbeats from a running agent are stored in device_health', async (t) => {
  const central = await startCentralProcess(join(dir, 'central'));
  t.teardown(() => central.kill());
  const identity = join(dir, 'agent', 'identity');
  await issueDevice(central.dataDir, DEVICE, identity);
  const agent = await startAgentProcess(
    join(dir, 'agent'),
    identity,
    `mqtts://localhost:${central.brokerPort}`,
    ['--health-interval-s', '2'],
  );
  t.teardown(() => agent.kill());
  const stats = async () => ((await central.stats()) as unknown as HealthStats).process;

  await waitFor(
    'a first heartbeat',
    async () => ((await stats()).healthStored >= 1 ? true : undefined),
    30_000,
  );
  // One log source sends firewall lines: the next heartbeats count it, by format only.
  const sent = await replay(generateTraffic(200, { seed: 3 }), {
    to: `udp://127.0.0.1:${agent.udpPort}`,
    rate: 2000,
  });
  t.equal(sent.sent, 200);
  await waitFor(
    'data and two more heartbeats',
    async () => {
      const s = await stats();
      return s.storedEvents > 0 && s.healthStored >= 4 ? s : undefined;
    },
    60_000,
  );
  const agentStatus = (await agent.status()) as unknown as { heartbeat?: { acked: number; invalid: number } };
  t.ok((agentStatus.heartbeat?.acked ?? 0) >= 4, 'the agent counts its acknowledged heartbeats');
  t.equal(agentStatus.heartbeat?.invalid, 0);
  t.equal((await stats()).quarantined, 0, 'nothing quarantined');

  await agent.kill();
  await central.kill();
  const db = await openDatabase(undefined, central.dataDir);
  try {
    const rows = await db.query<{
      version: string;
      reported_at: Date;
      received_at: Date;
      source_count: number;
      active_sources: number;
      source_formats: Record<string, number>;
      outbox_state: string;
      detection_enabled: boolean;
      uptime_s: string | number | null;
      disk_total_bytes: string | number | null;
      last_upload_at: Date | null;
      parsed_total: string | number;
    }>(
      `SELECT version, reported_at, received_at, source_count, active_sources, source_formats, outbox_state,
              detection_enabled, uptime_s, disk_total_bytes, last_upload_at, parsed_total
         FROM device_health WHERE device_id = $1 ORDER BY reported_at`,
      [DEVICE],
    );
    t.ok(rows.length >= 4, `heartbeats stored (${rows.length})`);
    const last = rows.at(-1)!;
    t.equal(last.version, VERSION, "the agent's version");
    t.equal(last.source_count, 1, 'one log source');
    t.equal(last.active_sources, 1);
    t.same(Object.values(last.source_formats), [1], 'counted under one format');
    t.notMatch(JSON.stringify(rows), /127\.0\.0\.1/, 'no source address left the box');
    t.equal(last.outbox_state, 'ok');
    t.equal(last.detection_enabled, true);
    t.ok(Number(last.uptime_s) > 0, 'uptime');
    t.ok(Number(last.disk_total_bytes) > 0, "the data directory's disk");
    t.ok(last.last_upload_at, 'the last successful upload');
    t.ok(Number(last.parsed_total) > 0, 'parse totals');
    const gapsMs = rows.slice(1).map((r, i) => r.reported_at.getTime() - rows[i]!.reported_at.getTime());
    t.ok(
      gapsMs.every((g) => g > 0 && g < 10_000),
      `every ~2 s (${gapsMs.join(', ')} ms)`,
    );
  } finally {
    await db.close();
  }
});
