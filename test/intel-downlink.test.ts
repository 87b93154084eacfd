/**
 * Intel end to end over a real broker (the embedded Aedes broker, mutual TLS with certificates from
 * central's dev CA): central correlates several members' stored events, its publisher signs the
 * campaigns list and publishes it retained; two appliances of two members, each with central's
 * public key in its identity directory (as `device issue` writes it), subscribe with `attachIntel`
 * and verify and apply it. A tampered list is refused with its reason; a device cannot write a
 * list; and nothing a device receives names a member or a device.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import t from 'tap';
import { IntelStore } from '../appliance/detect/intel/intel-store.js';
import { attachIntel, loadIntelKey, readIntelKey } from '../appliance/detect/intel/intel-subscription.js';
import { startEmbeddedBroker } from '../central/broker/aedes-broker.js';
import { runCorrelation } from '../central/correlate/run-correlation.js';
import { storeBatch } from '../central/ingest/store-batch.js';
import { intelDir } from '../central/intel/intel-files.js';
import { publishIntelLists } from '../central/intel/intel-publisher.js';
import { embeddedIntelSink } from '../central/intel/intel-sink.js';
import { loadOrCreateIntelSigningKey, writeIntelPublicKey } from '../central/intel/signing-key.js';
import { initDevCa, loadOrCreateCa, writeDeviceIdentity } from '../central/pki/ca-files.js';
import { createLogger } from '../common/logger.js';
import { encodeBatch } from '../protocol/codec.js';
import { limits } from '../protocol/limits.js';
import { downlinkTopic, intelTopic, uplinkTopic } from '../protocol/topics.js';
import { waitFor } from '../tools/demo/harness.js';
import { freshDatabase } from './support/test-databases.js';

const CAMPAIGN_SRC = '198.51.100.77';
const PRIVATE = [
  'member-alpha',
  'member-beta',
  'member-gamma',
  'Alpha Academy',
  'Beta Bakery',
  'Gamma Garage',
];
const DEVICES = ['intel-dev-alpha', 'intel-dev-beta', 'intel-dev-gamma'];

interface Warned {
  readonly obj: Record<string, unknown>;
  readonly msg: string;
}
function recordingLogger() {
  const warned: Warned[] = [];
  return {
    warned,
    logger: {
      info: () => {},
      debug: () => {},
      warn: (obj: object, msg: string) => warned.push({ obj: obj as Record<string, unknown>, msg }),
    },
  };
}

t.test(
  'a list central publishes is verified and applied; tampering is refused; no member data goes down',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ca-intel-downlink-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const centralDir = join(dir, 'central');
    const pki = await initDevCa(centralDir, { hostnames: [], ips: [] });
    const read = (f: string) => readFileSync(f, 'utf8');
    const broker = await startEmbeddedBroker({
      host: '127.0.0.1',
      port: 0,
      tls: { certPem: read(pki.serverCert), keyPem: read(pki.serverKey), caPem: read(pki.caCert) },
      maxPacketBytes: limits.maxPayloadBytes + 4096,
      logger: createLogger('test', 'silent'),
    });
    t.teardown(() => broker.close());

    // Central: three members' denials of one source, stored as ingest stores them, then correlated.
    const { db } = await freshDatabase(t, 'pglite');
    await db.exec(`
    INSERT INTO regions (region_id, name) VALUES ('r1', 'Region');
    INSERT INTO forces (force_id, name, region_id) VALUES ('f1', 'Force one', 'r1'), ('f2', 'Force two', 'r1');
    INSERT INTO members (member_id, name, force_id) VALUES ('member-alpha', 'Alpha Academy', 'f1'),
      ('member-beta', 'Beta Bakery', 'f1'), ('member-gamma', 'Gamma Garage', 'f2');
    INSERT INTO devices (device_id, member_id, first_seen, last_seen) VALUES
      ('intel-dev-alpha', 'member-alpha', now(), now()), ('intel-dev-beta', 'member-beta', now(), now()),
      ('intel-dev-gamma', 'member-gamma', now(), now());
  `);
    const now = Date.now();
    for (const device of DEVICES) {
      await storeBatch(db, {
        deviceId: device,
        topic: uplinkTopic(device, 'events'),
        payload: encodeBatch({
          v: 1,
          device,
          seq: 1,
          created: 0,
          events: [
            { vendor: 'netfilter', action: 'deny', src_ip: CAMPAIGN_SRC, dst_port: 3389, proto: 'tcp' },
          ],
        }),
        receivedAt: new Date(now - 3_600_000),
      });
    }
    const run = await runCorrelation(db, {
      from: new Date(now - 86_400_000),
      to: new Date(now),
      settings: {
        campaignMinMembers: 3,
        campaignWindowH: 24,
        scannerMinMembers: 10,
        emergingPortMinRatio: 3,
        emergingPortMinSources: 10,
        emergingPortBaselineDays: 28,
      },
    });
    t.equal(run.counts.campaigns, 1);

    // Two appliances of two members, identities written as `device issue` writes them.
    const signer = loadOrCreateIntelSigningKey(intelDir(centralDir));
    const ca = await loadOrCreateCa(join(centralDir, 'ca'));
    const appliances: {
      id: string;
      client: MqttClient;
      store: IntelStore;
      warned: Warned[];
      received: { topic: string; payload: Buffer }[];
    }[] = [];
    for (const id of DEVICES.slice(0, 2)) {
      const identityDir = join(dir, id, 'identity');
      t.match(readIntelKey(identityDir), { ok: false, reason: /no intel-signing.pub.*intel lists are off/ });
      await writeDeviceIdentity(identityDir, id, ca);
      writeIntelPublicKey(identityDir, signer);
      const keys = loadIntelKey(identityDir);
      if (keys === undefined) throw new Error('no key');
      const store = new IntelStore({ dataDir: join(dir, id, 'intel'), keys, now: Date.now });
      store.load();
      const client = mqtt.connect(`mqtts://localhost:${broker.port}`, {
        protocolVersion: 4,
        clientId: id,
        clean: true,
        reconnectPeriod: 0,
        cert: read(join(identityDir, 'device.crt')),
        key: read(join(identityDir, 'device.key')),
        ca: read(join(identityDir, 'ca.crt')),
        rejectUnauthorized: true,
      });
      client.on('error', () => {});
      t.teardown(() => new Promise<void>((resolve) => client.end(true, {}, () => resolve())));
      const { warned, logger } = recordingLogger();
      const received: { topic: string; payload: Buffer }[] = [];
      client.on('message', (topic, payload) => received.push({ topic, payload }));
      attachIntel(client, store, logger); // before the connection is up: subscribes on 'connect'
      client.subscribe(downlinkTopic(id, 'config'), { qos: 1 });
      appliances.push({ id, client, store, warned, received });
    }
    const [alpha, beta] = appliances as [(typeof appliances)[0], (typeof appliances)[0]];
    await waitFor(
      'both connected',
      async () => (alpha.client.connected && beta.client.connected) || undefined,
      10_000,
    );

    // Central publishes; both appliances apply the signed list.
    const outcomes = await publishIntelLists({
      dataDir: centralDir,
      db,
      signer,
      sink: embeddedIntelSink(broker),
      settings: { scannerMinMembers: 10, intelListDays: 7 },
    });
    t.match(outcomes[0], { list: 'campaigns', action: 'published', kind: 'full', version: 1, entries: 1 });
    for (const a of [alpha, beta]) {
      await waitFor(
        `${a.id} to apply the campaigns list`,
        async () => a.store.status().find((s) => s.list === 'campaigns' && s.version === 1) ?? undefined,
        10_000,
      );
      t.equal(a.store.lookup(CAMPAIGN_SRC), 'campaign', `${a.id} matches the campaign source`);
      t.equal(a.store.lookup('198.51.100.78'), undefined);
    }

    // Central's message for beta's downlink reaches beta only; alpha cannot even subscribe to it.
    await broker.publish(downlinkTopic(beta.id, 'config'), Buffer.from('{"member":"member-beta"}'), {
      retain: false,
    });
    await waitFor(
      'beta gets its own downlink',
      async () => beta.received.some((m) => m.topic === downlinkTopic(beta.id, 'config')) || undefined,
      10_000,
    );
    const refused = await alpha.client.subscribeAsync(downlinkTopic(beta.id, 'config'), { qos: 1 }).then(
      (granted) => granted[0]?.qos === 128,
      (err: Error) => /Subscribe error/.test(err.message),
    );
    t.ok(refused, "alpha is refused beta's downlink");

    // A tampered copy of the list (one byte of the signed payload changed) is refused with its reason.
    const full = alpha.received.find((m) => m.topic === intelTopic('campaigns', 'full'))?.payload;
    t.ok(full, 'alpha received the full list');
    const tampered = Buffer.from(full!);
    const at = tampered.length - 80;
    tampered[at] = (tampered[at] ?? 0) ^ 0x01;
    await broker.publish(intelTopic('campaigns', 'full'), tampered, { retain: true });
    for (const a of [alpha, beta]) {
      await waitFor(
        `${a.id} to refuse the tampered list`,
        async () => a.warned.find((w) => w.msg === 'intel list refused'),
        10_000,
      );
      t.match(a.warned.find((w) => w.msg === 'intel list refused')?.obj, {
        reason: 'bad signature',
        kind: 'full',
      });
      t.equal(a.store.lookup(CAMPAIGN_SRC), 'campaign', 'the good list stays in use');
    }

    // A device cannot write a list: the broker closes its connection, the other device sees nothing.
    const before = alpha.received.length;
    beta.client.publish(intelTopic('campaigns', 'full'), Buffer.from('forged'), { qos: 1, retain: true });
    await waitFor('beta to be disconnected', async () => (!beta.client.connected ? true : undefined), 10_000);
    await new Promise((r) => setTimeout(r, 300));
    t.equal(alpha.received.length, before, 'the forged list never reached alpha');

    // Nothing either device received names a member or a device (intel carries addresses only).
    for (const a of [alpha, beta]) {
      const intel = a.received.filter((m) => m.topic.startsWith('ca/v1/intel/'));
      t.ok(intel.length >= 2, `${a.id} received intel`);
      for (const m of intel) {
        const text = m.payload.toString('latin1');
        for (const word of [...PRIVATE, ...DEVICES])
          t.notOk(text.includes(word), `${a.id}: intel names no ${word}`);
      }
      t.ok(
        a.received.every(
          (m) => m.topic.startsWith('ca/v1/intel/') || m.topic === downlinkTopic(a.id, 'config'),
        ),
        `${a.id} received only intel and its own downlink`,
      );
    }
    t.notOk(
      alpha.received.some((m) => m.payload.toString().includes('member-beta')),
      "alpha never saw beta's message",
    );
  },
);
