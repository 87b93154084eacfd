/**
 * The uplink's alert path against a real broker (the embedded Aedes broker over mutual TLS, with
 * central's ingest in the same process on PGlite): with a backlog of event batches already waiting,
 * an alert raised afterwards is published first, reaches the alerts table, and its acknowledgement
 * removes it from the outbox.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Alert } from '../appliance/detect/alert.js';
import { Outbox } from '../appliance/outbox/outbox.js';
import { Uplink } from '../appliance/uplink/uplink.js';
import { startEmbeddedBroker } from '../central/broker/aedes-broker.js';
import { BadBatchTracker } from '../central/ingest/flag-device.js';
import { type IngestContext, ingestMessage } from '../central/ingest/ingest.js';
import { newIngestCounters, newIngestWindows } from '../central/ingest/ingest-counters.js';
import { initDevCa, loadOrCreateCa } from '../central/pki/ca-files.js';
import { createLogger } from '../common/logger.js';
import { limits } from '../protocol/limits.js';
import { parseUplinkTopic } from '../protocol/topics.js';
import { issueDeviceCertificate } from '../provisioning/ca.js';
import { waitFor } from '../tools/demo/harness.js';
import { freshDatabase } from './support/test-databases.js';

const DEVICE = 'uplink-alerts-1';

const alert: Alert = {
  id: 'brute-force:198.51.100.66:2026-12-07T12:00:00.000Z',
  detector: 'brute-force',
  kind: 'repeated',
  status: 'new',
  severity: 'high',
  source: '198.51.100.66',
  keyRole: 'source',
  targets: ['p:abcdefghijkl'],
  ports: [22],
  protocols: ['tcp'],
  events: 300,
  distinctTargets: 1,
  distinctPorts: 1,
  distinctCapped: false,
  firstSeen: '2026-12-07T12:00:00.000Z',
  lastSeen: '2026-12-07T12:05:00.000Z',
  thresholds: { attempts: 100, windowS: 600 },
  label: 'targeted',
  summary: '198.51.100.66 tried to log in to p:abcdefghijkl 300 times.',
  advice: 'Block the address and check the account.',
};

t.test('alerts go before the event backlog and leave the outbox when acknowledged', async (t) => {
  const { db } = await freshDatabase(t, 'pglite');
  const ctx: IngestContext = {
    db,
    counters: newIngestCounters(),
    windows: newIngestWindows(),
    badBatches: new BadBatchTracker({ threshold: 100, windowMs: 60_000 }),
    logger: createLogger('test', 'silent'),
  };
  const dir = mkdtempSync(join(tmpdir(), 'ca-uplink-alerts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pki = await initDevCa(join(dir, 'central'), { hostnames: [], ips: [] });
  const read = (f: string) => readFileSync(f, 'utf8');
  const order: string[] = [];
  const broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    tls: { certPem: read(pki.serverCert), keyPem: read(pki.serverKey), caPem: read(pki.caCert) },
    maxPacketBytes: limits.maxPayloadBytes + 4096,
    logger: createLogger('test', 'silent'),
    onPublishAuthorised: async (identity, packet) => {
      if (identity.kind !== 'device') return;
      order.push(parseUplinkTopic(packet.topic)?.kind ?? 'foreign');
      await ingestMessage(ctx, { topic: packet.topic, payload: packet.payload, deviceId: identity.deviceId });
    },
  });
  t.teardown(() => broker.close());
  const ca = await loadOrCreateCa(join(dir, 'central', 'ca'));
  const cert = await issueDeviceCertificate(ca, DEVICE);

  const outbox = new Outbox({
    dataDir: join(dir, 'agent'),
    deviceId: DEVICE,
    batchMaxEvents: 10,
    batchMaxDelayMs: 60_000,
  });
  // The backlog: 20 event batches sealed before the alert.
  for (let i = 0; i < 200; i++)
    outbox.append({
      vendor: 'netfilter',
      action: 'deny',
      src_ip: '203.0.113.9',
      src_port: 40_000 + i,
      dst_port: 22,
    });
  await outbox.flush();
  outbox.appendAlert(alert);
  await outbox.flush();
  t.match(outbox.stats(), { depthBatches: 20, alertsPending: 1 });

  const uplink = new Uplink({
    url: `mqtts://localhost:${broker.port}`,
    deviceId: DEVICE,
    tls: { certPem: cert.certPem, keyPem: cert.keyPem, caPem: ca.certPem },
    inflightBatches: 4,
    reconnectMinMs: 100,
    reconnectMaxMs: 500,
    outbox,
    logger: createLogger('uplink-test', 'silent'),
  });
  t.teardown(async () => {
    await uplink.stop();
    await outbox.close();
  });
  uplink.start();
  await waitFor(
    'the backlog and the alert to be acknowledged',
    async () => (outbox.stats().depthBatches === 0 && outbox.stats().alertsPending === 0 ? true : undefined),
    30_000,
  );
  t.equal(order[0], 'alerts', 'the alert batch was the first publish, ahead of 20 older event batches');
  t.equal(order.filter((k) => k === 'alerts').length, 1, 'sent once');
  t.match(outbox.stats(), { alertsAccepted: 1, alertsAcked: 1, alertsPending: 0, alertsLost: 0 });
  t.match(uplink.stats, {
    alertBatchesPublished: 1,
    alertBatchesAcked: 1,
    alertsAcked: 1,
    alertsInflight: 0,
  });
  const rows = await db.query<{ alert_id: string; severity: string; src_ip: string }>(
    'SELECT alert_id, severity, src_ip FROM alerts WHERE device_id = $1',
    [DEVICE],
  );
  t.same(rows, [{ alert_id: alert.id, severity: 'high', src_ip: '198.51.100.66' }]);

  // A later report of the same alert while connected goes straight out and updates the row.
  outbox.appendAlert({ ...alert, status: 'final', events: 450 });
  await waitFor(
    'the final report to be stored',
    async () => {
      const [row] = await db.query<{ status: string; events: number }>(
        'SELECT status, events::int8 AS events FROM alerts WHERE device_id = $1',
        [DEVICE],
      );
      return row?.status === 'final' ? row : undefined;
    },
    10_000,
  );
  // The row is committed before central's PUBACK reaches the uplink: wait for the acknowledgement.
  await waitFor(
    'the final report to be acknowledged',
    async () => (outbox.stats().alertsAcked === 2 ? true : undefined),
    10_000,
  );
  t.equal(outbox.stats().alertsAcked, 2);
});
