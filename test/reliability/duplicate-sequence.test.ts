/**
 * A repeated (device, seq) with different content keeps the FIRST copy central received, on both
 * ingest paths: the embedded broker (a device's pipelined publishes are handed over concurrently;
 * before ingest kept each device's messages in order the two copies raced to the INSERT and the
 * second won whenever the first was slower to reach the database), and an external broker
 * (Mosquitto) whose worker runs several sessions on one shared subscription (still open: todo).
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
import { encodeBatch } from '../../protocol/codec.js';
import { limits } from '../../protocol/limits.js';
import { uplinkTopic } from '../../protocol/topics.js';
import { issueDeviceCertificate } from '../../provisioning/ca.js';
import { freePort, MOSQUITTO, startMosquitto } from '../../tools/demo/harness.js';
import { freshDatabase } from '../support/test-databases.js';

const DEVICE = 'dup-seq-dev';
const PAIRS = 3;
const HOLD_MS = 2000;

const batch = (seq: number, dstPort: number): Uint8Array =>
  encodeBatch({
    v: 1,
    device: DEVICE,
    seq,
    created: Date.now(),
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
  while (ctx.counters.stored + ctx.counters.duplicates < 2 * PAIRS) {
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
  t.equal(ctx.counters.duplicates, PAIRS, 'each second copy is a duplicate');
});

t.test(
  'external broker, worker with 4 sessions: the first copy is kept',
  {
    skip: MOSQUITTO ? false : 'mosquitto is not installed',
    // Open defect: the worker's sessions each hand mqtt.js one message at a time (PUBACK after the
    // commit), so a copy the broker sent first can sit unread in a busy session's socket while the
    // next copy, on an idle session, is stored. Arrival order at the worker is not the broker's, and
    // ordering ingest per device in the worker does not help (tried). "First" must come from the
    // message (the device's seal order), or one session per device.
    todo: 'repeated (device, seq) on a multi-session worker: the first copy is not guaranteed yet',
  },
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
    t.same(await storedPorts(db), firsts, 'each sequence holds its first copy');
    t.equal(ctx.counters.duplicates, PAIRS, 'each second copy is a duplicate');
  },
);
