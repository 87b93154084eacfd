/**
 * Alerts end to end: a real central process (embedded broker, PGlite) and the agent's Outbox and
 * Uplink. An alert reaches the alerts table once; the same payload sent again is counted as a
 * duplicate and writes nothing; an alert raised while central is down waits in the outbox and
 * arrives once central is back.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import type { Alert } from '../appliance/detect/alert.js';
import { Outbox } from '../appliance/outbox/outbox.js';
import { Uplink } from '../appliance/uplink/uplink.js';
import { openDatabase } from '../central/store/db.js';
import { createLogger } from '../common/logger.js';
import { uplinkTopic } from '../protocol/topics.js';
import { type CentralProc, issueDevice, startCentralProcess, waitFor } from '../tools/demo/harness.js';

const DEVICE = 'e2e-alerts-1';
const dir = mkdtempSync(join(tmpdir(), 'ca-e2e-alerts-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const alert = (source: string, over: Partial<Alert> = {}): Alert => ({
  id: `horizontal-scan:${source}:2026-12-07T12:00:00.000Z`,
  detector: 'horizontal-scan',
  kind: 'sweep',
  status: 'new',
  severity: 'medium',
  source,
  keyRole: 'source',
  targets: ['p:abcdefghijkl', 'p:bcdefghijklm'],
  ports: [445],
  protocols: ['tcp'],
  events: 64,
  distinctTargets: 64,
  distinctPorts: 1,
  distinctCapped: false,
  firstSeen: '2026-12-07T12:00:00.000Z',
  lastSeen: '2026-12-07T12:01:00.000Z',
  thresholds: { distinctTargets: 20, windowS: 60 },
  label: 'targeted',
  summary: `${source} swept 64 of your hosts on port 445.`,
  advice: 'Make sure SMB is not reachable from the internet.',
  ...over,
});

interface AlertStats {
  process: { alertBatchesStored: number; alertDuplicates: number; alertsStoredBy: Record<string, number> };
}
const alertStats = async (central: CentralProc) => ((await central.stats()) as unknown as AlertStats).process;

function restartCentral(central: CentralProc): Promise<CentralProc> {
  return startCentralProcess(central.dataDir, [
    '--broker-port',
    String(central.brokerPort),
    '--portal-port',
    String(central.portalPort),
  ]);
}

t.test(
  'an alert is stored once, a resend is a duplicate, an alert raised during an outage arrives after it',
  async (t) => {
    let central = await startCentralProcess(join(dir, 'central'));
    t.teardown(() => central.kill());
    const identity = join(dir, 'identity');
    await issueDevice(central.dataDir, DEVICE, identity);
    const read = (name: string) => readFileSync(join(identity, name), 'utf8');
    const tls = { certPem: read('device.crt'), keyPem: read('device.key'), caPem: read('ca.crt') };

    const outbox = new Outbox({
      dataDir: join(dir, 'agent'),
      deviceId: DEVICE,
      batchMaxEvents: 100,
      batchMaxDelayMs: 1000,
    });
    const newUplink = () =>
      new Uplink({
        url: `mqtts://localhost:${central.brokerPort}`,
        deviceId: DEVICE,
        tls,
        inflightBatches: 4,
        reconnectMinMs: 100,
        reconnectMaxMs: 1000,
        outbox,
        logger: createLogger('uplink-test', 'silent'),
      });

    // 1. Sealed before the uplink starts, so the test holds the exact bytes the uplink sends.
    outbox.appendAlert(alert('198.51.100.20'));
    await outbox.flush();
    const [sent] = outbox.peekAlerts(-1, 1);
    t.ok(sent, 'the alert is sealed');
    let uplink = newUplink();
    t.teardown(async () => {
      await uplink.stop();
      await outbox.close();
    });
    uplink.start();
    await waitFor(
      'the alert to be stored',
      async () => ((await alertStats(central)).alertBatchesStored >= 1 ? true : undefined),
      30_000,
    );
    await waitFor(
      'the outbox to let it go',
      async () => (outbox.stats().alertsPending === 0 ? true : undefined),
      10_000,
    );
    t.same((await alertStats(central)).alertsStoredBy, { 'horizontal-scan|medium': 1 });

    // 2. The same payload again (a redelivery after a lost PUBACK looks exactly like this).
    await uplink.stop();
    const client = await mqtt.connectAsync(`mqtts://localhost:${central.brokerPort}`, {
      protocolVersion: 4,
      clientId: DEVICE,
      cert: tls.certPem,
      key: tls.keyPem,
      ca: tls.caPem,
      reconnectPeriod: 0,
    });
    await client.publishAsync(uplinkTopic(DEVICE, 'alerts'), Buffer.from(sent!.payload), { qos: 1 });
    await client.endAsync();
    const afterResend = await alertStats(central);
    t.equal(afterResend.alertDuplicates, 1, 'the resend is counted as a duplicate');
    t.equal(afterResend.alertBatchesStored, 1, 'and not stored again');

    // 3. Central goes down; an alert raised meanwhile waits in the outbox and arrives after.
    uplink = newUplink();
    uplink.start();
    await central.kill();
    outbox.appendAlert(alert('198.51.100.21', { severity: 'high' }));
    await outbox.flush();
    t.equal(outbox.stats().alertsPending, 1, 'held in the outbox while central is down');
    await new Promise((r) => setTimeout(r, 500));
    t.equal(outbox.stats().alertsPending, 1, 'still held');
    central = await restartCentral(central);
    await waitFor(
      'the held alert to be stored after central comes back',
      async () => ((await alertStats(central)).alertBatchesStored >= 1 ? true : undefined),
      60_000,
    );
    await waitFor(
      'the outbox to let it go',
      async () => (outbox.stats().alertsPending === 0 ? true : undefined),
      10_000,
    );
    t.match(outbox.stats(), { alertsAccepted: 2, alertsAcked: 2, alertsLost: 0 });

    await uplink.stop();
    await central.kill();
    const db = await openDatabase(undefined, central.dataDir);
    try {
      const rows = await db.query<{ alert_id: string; severity: string; reports: number; src_ip: string }>(
        'SELECT alert_id, severity, reports, src_ip FROM alerts WHERE device_id = $1 ORDER BY alert_id',
        [DEVICE],
      );
      t.same(
        rows,
        [
          { alert_id: alert('198.51.100.20').id, severity: 'medium', reports: 1, src_ip: '198.51.100.20' },
          { alert_id: alert('198.51.100.21').id, severity: 'high', reports: 1, src_ip: '198.51.100.21' },
        ],
        'each alert is in the alerts table exactly once',
      );
      const [batches] = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM alert_batches WHERE device_id = $1',
        [DEVICE],
      );
      t.equal(batches?.n, 2);
    } finally {
      await db.close();
    }
  },
);
