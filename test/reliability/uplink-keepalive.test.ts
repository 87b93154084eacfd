/**
 * The uplink survives its connection dying under in-flight batches. A keepalive timeout makes
 * mqtt.js fail every unacknowledged publish from its own `_flush` loop; the uplink used to end the
 * client right there, re-entering `_flush`, and mqtt.js then threw `TypeError: Cannot read
 * properties of undefined (reading 'cb')` out of a timer — an agent crash seen once draining a
 * backlog into a slow central. Here central is frozen (SIGSTOP) with batches in flight, the 1 s
 * keepalive runs out, and nothing may escape; after SIGCONT every batch is acknowledged.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Outbox } from '../../appliance/outbox/outbox.js';
import { Uplink } from '../../appliance/uplink/uplink.js';
import { createLogger } from '../../common/logger.js';
import { issueDevice, startCentralProcess, waitFor } from '../../tools/demo/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'ca-uplink-keepalive-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('a keepalive timeout with batches in flight: no crash, everything acknowledged later', async (t) => {
  const central = await startCentralProcess(join(dir, 'central'));
  t.teardown(() => central.kill());
  const identity = join(dir, 'identity');
  await issueDevice(central.dataDir, 'keepalive-1', identity);
  const read = (name: string) => readFileSync(join(identity, name), 'utf8');

  const escaped: Error[] = [];
  const onUncaught = (err: Error) => escaped.push(err);
  process.on('uncaughtException', onUncaught);
  t.teardown(() => process.off('uncaughtException', onUncaught));

  const outbox = new Outbox({
    dataDir: join(dir, 'agent'),
    deviceId: 'keepalive-1',
    batchMaxEvents: 1,
    batchMaxDelayMs: 5,
  });
  const uplink = new Uplink({
    url: `mqtts://localhost:${central.brokerPort}`,
    deviceId: 'keepalive-1',
    tls: { certPem: read('device.crt'), keyPem: read('device.key'), caPem: read('ca.crt') },
    inflightBatches: 8,
    reconnectMinMs: 100,
    reconnectMaxMs: 500,
    keepaliveS: 1,
    outbox,
    logger: createLogger('uplink-test', 'silent'),
  });
  t.teardown(async () => {
    central.child.kill('SIGCONT');
    await uplink.stop();
    await outbox.close();
  });
  const event = (i: number) => ({
    ts: '2026-12-07T12:00:00Z',
    vendor: 'netfilter',
    src_ip: '203.0.113.9',
    src_port: 40_000 + i,
    dst_ip: '192.0.2.10',
    dst_port: 22,
    proto: 'tcp',
    action: 'deny' as const,
  });
  uplink.start();
  await waitFor(
    'the uplink to connect',
    async () => (uplink.stats.state === 'connected' ? true : undefined),
    30_000,
  );

  central.child.kill('SIGSTOP');
  for (let i = 0; i < 6; i++) outbox.append(event(i));
  await outbox.flush();
  await waitFor('six batches in flight', async () => (uplink.stats.inflight >= 6 ? true : undefined), 30_000);
  await waitFor(
    'the keepalive to run out and the connection to drop',
    async () => (uplink.stats.state !== 'connected' ? true : undefined),
    30_000,
  );
  central.child.kill('SIGCONT');
  await waitFor(
    'every batch to be acknowledged after central wakes',
    async () => (outbox.stats().pendingEvents === 0 && uplink.stats.ackedBatches >= 6 ? true : undefined),
    60_000,
  );
  t.same(
    escaped.map((e) => e.message),
    [],
    'nothing escaped the uplink',
  );
  t.ok(uplink.stats.connects >= 2, 'it reconnected');
});
