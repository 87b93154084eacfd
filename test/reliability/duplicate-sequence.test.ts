/**
 * A repeated (device, seq) with different content: the first copy central's ingest handles is
 * stored, every other copy is quarantined as a conflicting copy and counted against the device, so
 * no copy is dropped silently (before: the second copy was dropped as a plain duplicate). On the
 * embedded broker "first" is the device's publish order (a device's pipelined publishes are handed
 * over concurrently; before ingest kept each device's messages in order the two copies raced to the
 * INSERT and the second won whenever the first was slower to reach the database). On Mosquitto with
 * a worker of several sessions it is the order the sessions hand them over, which need not be the
 * device's (each session holds one message until it is committed), so there the test checks that
 * each sequence has one stored copy and the other in quarantine.
 *
 * The race is made certain, not left to timing: the database wrapper below holds the first copy's
 * insert until the second copy's insert arrives (then lets the second go first), or 2 s pass. With
 * the fix the second copy never reaches the database while the first is held, so the hold ends by
 * the timeout and the first is stored; a slow machine can only make the pre-fix race less likely,
 * never make the fixed code fail.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import mqtt from 'mqtt';
import t, { type Test } from 'tap';
import { startEmbeddedBroker } from '../../central/broker/aedes-broker.js';
import { BadBatchTracker } from '../../central/ingest/flag-device.js';
import { type IngestContext, ingestMessage } from '../../central/ingest/ingest.js';
import { newIngestCounters, newIngestWindows } from '../../central/ingest/ingest-counters.js';
import { startMqttWorker } from '../../central/ingest/mqtt-worker.js';
import { initDevCa, loadOrCreateCa } from '../../central/pki/ca-files.js';
import type { Database } from '../../central/store/db.js';
import { createLogger } from '../../common/logger.js';
import type { Batch } from '../../protocol/batch.js';
import { decodeBatch, encodeBatch } from '../../protocol/codec.js';
import { limits } from '../../protocol/limits.js';
import { uplinkTopic } from '../../protocol/topics.js';
import { issueDeviceCertificate } from '../../provisioning/ca.js';
import { freePort, MOSQUITTO, startMosquitto } from '../../tools/demo/harness.js';
import { freshDatabase } from '../support/test-databases.js';

const DEVICE = 'dup-seq-dev';
const PAIRS = 3;
const HOLD_MS = 2000;

// One creation time: the same (seq, port) encodes to the same bytes, as the agent's resends do.
const CREATED = Date.now();
const batch = (seq: number, dstPort: number): Uint8Array =>
  encodeBatch({
    v: 1,
    device: DEVICE,
    seq,
    created: CREATED,
    events: [{ vendor: 'netfilter', action: 'deny', dst_port: dstPort }],
  } satisfies Batch);
const FIRST = (seq: number) => 1000 + seq;
const SECOND = (seq: number) => 2000 + seq;

/** Holds the first insert of each (device, seq) until a second one arrives (which goes first) or HOLD_MS. */
function racingDatabase(db: Database): Database {
  const waiting = new Map<string, () => void>();
  return Object.assign(Object.create(db) as Database, {
    query: async <T>(sql: string, params?: readonly unknown[]): Promise<T[]> => {
      if (sql.includes('INSERT INTO batches') && params) {
        const key = `${params[0]}:${params[1]}`;
        const firstWaiting = waiting.get(key);
        if (firstWaiting === undefined) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, HOLD_MS);
            waiting.set(key, () => {
              clearTimeout(timer);
              // Let the second copy's insert reach the database before the first one's.
              setTimeout(resolve, 50);
            });
          });
        } else {
          firstWaiting();
        }
      }
      return db.query<T>(sql, params);
    },
  });
}

async function context(t: Test): Promise<{ ctx: IngestContext; db: Database }> {
  const { db } = await freshDatabase(t, 'pglite');
  return {
    db,
    ctx: {
      db: racingDatabase(db),
      counters: newIngestCounters(),
      windows: newIngestWindows(),
      badBatches: new BadBatchTracker({ threshold: 100, windowMs: 60_000 }),
      logger: createLogger('test', 'silent'),
    },
  };
}

async function storedPorts(db: Database): Promise<number[]> {
  const rows = await db.query<{ dst_port: number }>(
    'SELECT dst_port FROM events WHERE device_id = $1 ORDER BY seq',
    [DEVICE],
  );
  return rows.map((r) => r.dst_port);
}

const firsts = Array.from({ length: PAIRS }, (_, s) => FIRST(s));
const seconds = Array.from({ length: PAIRS }, (_, s) => SECOND(s));

/** The destination port of each quarantined copy (the samples hold these small payloads whole). */
async function quarantinedPorts(db: Database): Promise<number[]> {
  const rows = await db.query<{ sample: Uint8Array; reason: string }>(
    'SELECT sample, reason FROM quarantine WHERE device_id = $1',
    [DEVICE],
  );
  return rows
    .map((r) => {
      const decoded = decodeBatch(r.sample);
      if (!decoded.ok || !r.reason.startsWith('conflicting copy of sequence')) return -1;
      return decoded.batch.events[0]?.dst_port ?? -1;
    })
    .sort((a, b) => a - b);
}

/** Publishes each seq twice (first, then second content) without waiting in between: a device's window. */
async function publishPairs(client: mqtt.MqttClient): Promise<void> {
  const acks: Promise<unknown>[] = [];
  for (let s = 0; s < PAIRS; s++) {
    acks.push(
      client.publishAsync(uplinkTopic(DEVICE, 'events'), Buffer.from(batch(s, FIRST(s))), { qos: 1 }),
    );
    acks.push(
      client.publishAsync(uplinkTopic(DEVICE, 'events'), Buffer.from(batch(s, SECOND(s))), { qos: 1 }),
    );
  }
  await Promise.all(acks);
}

async function waitForStored(ctx: IngestContext): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (ctx.counters.stored + ctx.counters.duplicates + ctx.counters.quarantined < 2 * PAIRS) {
    if (Date.now() > deadline) throw new Error(`stored ${JSON.stringify(ctx.counters)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('embedded broker: the first copy of a repeated sequence is kept', async (t) => {
  const { ctx, db } = await context(t);
  // Not t.testdir(): freshDatabase's PGlite already lives there, and a second call clears it.
  const dir = mkdtempSync(join(tmpdir(), 'dup-seq-pki-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pki = await initDevCa(dir, { hostnames: [], ips: [] });
  const read = (f: string) => readFileSync(f, 'utf8');
  const broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    tls: { certPem: read(pki.serverCert), keyPem: read(pki.serverKey), caPem: read(pki.caCert) },
    maxPacketBytes: limits.maxPayloadBytes + 4096,
    logger: createLogger('test', 'silent'),
    onPublishAuthorised: async (identity, packet) => {
      if (identity.kind !== 'device') return;
      await ingestMessage(ctx, { topic: packet.topic, payload: packet.payload, deviceId: identity.deviceId });
    },
  });
  t.teardown(() => broker.close());
  const ca = await loadOrCreateCa(join(dir, 'ca'));
  const cert = await issueDeviceCertificate(ca, DEVICE);
  const client = await mqtt.connectAsync(`mqtts://localhost:${broker.port}`, {
    protocolVersion: 4,
    clientId: DEVICE,
    cert: cert.certPem,
    key: cert.keyPem,
    ca: ca.certPem,
    reconnectPeriod: 0,
  });
  t.teardown(() => client.endAsync());
  await publishPairs(client);
  await waitForStored(ctx);
  t.same(await storedPorts(db), firsts, 'each sequence holds its first copy');
  t.same(await quarantinedPorts(db), seconds, 'each second copy is in quarantine, not dropped');
  t.equal(ctx.counters.quarantined, PAIRS, 'each second copy is counted');
  t.equal(ctx.counters.duplicates, 0, 'a conflicting copy is not a redelivery');
  // The same bytes again is a redelivery: counted as a duplicate, nothing quarantined.
  await client.publishAsync(uplinkTopic(DEVICE, 'events'), Buffer.from(batch(0, FIRST(0))), { qos: 1 });
  const deadline = Date.now() + 30_000;
  while (ctx.counters.duplicates < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.equal(ctx.counters.duplicates, 1, 'a resent copy is a duplicate');
  t.equal(ctx.counters.quarantined, PAIRS, 'and is not quarantined');
});

t.test(
  'external broker, worker with 4 sessions: one copy stored, the other quarantined',
  { skip: MOSQUITTO ? false : 'mosquitto is not installed' },
  async (t) => {
    const { ctx, db } = await context(t);
    const port = await freePort();
    const conf = join(mkdtempSync(join(tmpdir(), 'dup-seq-mosquitto-')), 'mosquitto.conf');
    t.teardown(() => rmSync(dirname(conf), { recursive: true, force: true }));
    // Plain TCP on loopback: this test is about ordering; TLS and the ACL have their own tests.
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    const mosquitto = await startMosquitto(conf, port);
    t.teardown(() => mosquitto.kill());
    const worker = await startMqttWorker({
      url: `mqtt://127.0.0.1:${port}`,
      group: 'dup-test',
      clientId: `dup-test-${process.pid}`,
      connections: 4,
      tls: { certPem: '', keyPem: '', caPem: '' },
      ingest: ctx,
    });
    t.teardown(() => worker.close({ retire: true, idleMs: 100 }));
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 5,
      clientId: DEVICE,
      reconnectPeriod: 0,
    });
    t.teardown(() => client.endAsync());
    await publishPairs(client);
    await waitForStored(ctx);
    const stored = await storedPorts(db);
    t.equal(stored.length, PAIRS, 'each sequence has one stored copy');
    const all = [...stored, ...(await quarantinedPorts(db))].sort((a, b) => a - b);
    t.same(all, [...firsts, ...seconds], 'and its other copy is in quarantine: none dropped');
    t.equal(ctx.counters.quarantined, PAIRS, 'each conflicting copy is counted');
  },
);
