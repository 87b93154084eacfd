/**
 * One conformance suite, two brokers: the embedded Aedes broker and a real Mosquitto started with
 * the configuration `broker-config` renders. Both must enforce the same rules (central/broker/acl.ts):
 * certificate required and from our CA, identity from the certificate, each device confined to its
 * own topics, client id bound to the identity, oversized packets refused.
 *
 * Known protocol differences: Aedes 1.2 speaks MQTT 3.1.1 only and closes the connection on a denied
 * publish; Mosquitto (MQTT v5) answers it with PUBACK reason 0x87. Aedes refuses a foreign
 * subscription in the SUBACK; Mosquitto's ACL file grants it and then filters every message on
 * delivery. The suite asserts what matters to both: refused, never delivered.
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { IClientOptions, MqttClient } from 'mqtt';
import t from 'tap';
import { startEmbeddedBroker } from '../../central/broker/aedes-broker.js';
import { renderMosquittoAcl, renderMosquittoConfig } from '../../central/broker/mosquitto-config.js';
import { createLogger } from '../../common/logger.js';
import {
  type CertificateAuthority,
  createCa,
  createCrl,
  issueDeviceCertificate,
  issueIngestCertificate,
  issueServerCertificate,
} from '../../provisioning/ca.js';
import { freePort, MOSQUITTO, startMosquitto } from '../../tools/demo/harness.js';
import { type ConnectOutcome, tryConnect } from '../support/mqtt-client.js';

const MAX_PACKET = 64 * 1024;

interface Pki {
  ca: CertificateAuthority;
  server: { certPem: string; keyPem: string };
  deviceA: { certPem: string; keyPem: string };
  deviceB: { certPem: string; keyPem: string };
  /** Central's ingest identity from the ingest CA: the only issuer Mosquitto's worker listener trusts. */
  ingest: { certPem: string; keyPem: string };
  ingestCa: CertificateAuthority;
  /** The same identity signed by the device CA, as the embedded broker (one CA) takes it. */
  ingestFromDeviceCa: { certPem: string; keyPem: string };
  /** Issued by our CA, then revoked: the CRL lists it and the embedded broker refuses its identity. */
  revoked: { certPem: string; keyPem: string };
  foreignDeviceA: { certPem: string; keyPem: string };
}

const pki: Pki = await (async () => {
  const ca = await createCa({ commonName: 'conformance CA' });
  const foreign = await createCa({ commonName: 'foreign CA' });
  const ingestCa = await createCa({ commonName: 'conformance ingest CA' });
  return {
    ingestCa,
    ingest: await issueIngestCertificate(ingestCa),
    ingestFromDeviceCa: await issueIngestCertificate(ca),
    ca,
    server: await issueServerCertificate(ca, { hostnames: ['localhost'], ips: ['127.0.0.1'] }),
    deviceA: await issueDeviceCertificate(ca, 'dev-a'),
    deviceB: await issueDeviceCertificate(ca, 'dev-b'),
    revoked: await issueDeviceCertificate(ca, 'dev-r'),
    foreignDeviceA: await issueDeviceCertificate(foreign, 'dev-a'),
  };
})();

interface BrokerUnderTest {
  readonly name: string;
  readonly protocolVersion: 4 | 5;
  /** Whether ingest has a listener of its own (Mosquitto); the embedded broker has one for all. */
  readonly separateIngestListener: boolean;
  readonly ingestIdentity: { certPem: string; keyPem: string };
  start(dir: string): Promise<{ url: string; ingestUrl: string; stop(): Promise<void> }>;
}

const aedes: BrokerUnderTest = {
  name: 'embedded Aedes',
  protocolVersion: 4,
  separateIngestListener: false,
  ingestIdentity: pki.ingestFromDeviceCa,
  async start() {
    const broker = await startEmbeddedBroker({
      host: '127.0.0.1',
      port: 0,
      tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem, caPem: pki.ca.certPem },
      maxPacketBytes: MAX_PACKET,
      logger: createLogger('conformance', 'silent'),
      isRefused: (identity) => identity.kind === 'device' && identity.deviceId === 'dev-r',
    });
    const url = `mqtts://localhost:${broker.port}`;
    return { url, ingestUrl: url, stop: () => broker.close() };
  },
};

const mosquitto: BrokerUnderTest = {
  name: 'Mosquitto',
  protocolVersion: 5,
  separateIngestListener: true,
  ingestIdentity: pki.ingest,
  async start(dir) {
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, name), text, { mode: 0o600 });
      return join(dir, name);
    };
    const port = await freePort();
    const workerPort = await freePort();
    mkdirSync(join(dir, 'data'), { recursive: true });
    const config = write(
      'mosquitto.conf',
      renderMosquittoConfig({
        port,
        bindAddress: '127.0.0.1',
        workerPort,
        workerBindAddress: '127.0.0.1',
        runAsUser: userInfo().username,
        certFile: write('server.crt', pki.server.certPem),
        keyFile: write('server.key', pki.server.keyPem),
        caFile: write('ca.crt', pki.ca.certPem),
        workerCaFile: write('ingest-ca.crt', pki.ingestCa.certPem),
        crlFile: write(
          'crl.pem',
          await createCrl(
            pki.ca,
            [{ serialNumber: new X509Certificate(pki.revoked.certPem).serialNumber, revokedAt: new Date() }],
            { crlNumber: 1, validDays: 30 },
          ),
        ),
        aclFile: write('acl', renderMosquittoAcl()),
        persistenceDir: join(dir, 'data'),
        maxPacketBytes: MAX_PACKET,
      }),
    );
    const child = await startMosquitto(config, port);
    return {
      url: `mqtts://localhost:${port}`,
      ingestUrl: `mqtts://localhost:${workerPort}`,
      stop: () => child.kill(),
    };
  },
};

function connect(
  url: string,
  protocolVersion: 4 | 5,
  identity: { certPem: string; keyPem: string } | undefined,
  clientId: string,
): Promise<ConnectOutcome> {
  const options: IClientOptions = {
    protocolVersion,
    clientId,
    ca: pki.ca.certPem,
    rejectUnauthorized: true,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...(identity ? { cert: identity.certPem, key: identity.keyPem } : {}),
  };
  return tryConnect(url, options);
}

/** Collects what an ingest subscriber receives on every device's uplink. */
async function ingestObserver(
  url: string,
  protocolVersion: 4 | 5,
  identity: { certPem: string; keyPem: string },
) {
  const { client, error } = await connect(url, protocolVersion, identity, `ingest-${Date.now()}`);
  if (!client) throw error;
  const received: { topic: string; payload: string }[] = [];
  client.on('message', (topic, payload) => received.push({ topic, payload: payload.toString() }));
  await client.subscribeAsync('ca/v1/dev/+/up/#', { qos: 1 });
  return { received, close: () => client.endAsync() };
}

/** Publishes and reports how the broker answered: acknowledged, refused, or connection closed. */
async function publishOutcome(client: MqttClient, topic: string, payload: Buffer | string) {
  return new Promise<'acked' | 'refused' | 'closed'>((resolve) => {
    const onClose = () => resolve('closed');
    client.once('close', onClose);
    client.publish(topic, payload, { qos: 1 }, (err) => {
      client.off('close', onClose);
      resolve(err ? 'refused' : 'acked');
    });
  });
}

/** mqtt.js rejects on a 3.1.1 failure code (0x80) and resolves with the code for v5 (≥ 0x80). */
async function subscribeOutcome(client: MqttClient, filter: string): Promise<'granted' | 'refused'> {
  try {
    const granted = await client.subscribeAsync(filter, { qos: 1 });
    return (granted[0]?.qos ?? 0x80) < 0x80 ? 'granted' : 'refused';
  } catch {
    return 'refused';
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

for (const broker of [aedes, mosquitto]) {
  const skip = broker === mosquitto && !MOSQUITTO ? 'mosquitto is not installed' : false;
  if (skip && process.env.CI === 'true') t.fail(`CI must run the Mosquitto conformance suite: ${skip}`);
  t.test(broker.name, { skip }, async (t) => {
    const dir = t.testdir();
    const running = await broker.start(dir);
    t.teardown(() => running.stop());
    const v = broker.protocolVersion;
    const observer = await ingestObserver(running.ingestUrl, v, broker.ingestIdentity);
    t.teardown(() => observer.close());

    t.test('a device publishes its own uplink and ingest receives it', async (t) => {
      const { client } = await connect(running.url, v, pki.deviceA, 'dev-a');
      t.ok(client, 'device A connects');
      if (!client) return;
      t.equal(await publishOutcome(client, 'ca/v1/dev/dev-a/up/events', 'hello'), 'acked');
      await settle();
      t.ok(
        observer.received.some((m) => m.topic === 'ca/v1/dev/dev-a/up/events' && m.payload === 'hello'),
        'delivered to ingest',
      );
      await client.endAsync();
    });

    t.test('no client certificate: refused', async (t) => {
      const { client, error } = await connect(running.url, v, undefined, 'anon');
      t.notOk(client, 'not connected');
      t.ok(error, `error: ${error?.message}`);
      client?.end(true);
    });

    t.test('revoked certificate: refused', async (t) => {
      const { client, error } = await connect(running.url, v, pki.revoked, 'dev-r');
      t.notOk(client, 'not connected');
      t.ok(error, `error: ${error?.message}`);
      client?.end(true);
    });

    t.test('certificate from a foreign CA: refused', async (t) => {
      const { client, error } = await connect(running.url, v, pki.foreignDeviceA, 'dev-a');
      t.notOk(client, 'not connected');
      t.ok(error, `error: ${error?.message}`);
      client?.end(true);
    });

    t.test("device A publishing to device B's topic: refused, not delivered", async (t) => {
      const { client } = await connect(running.url, v, pki.deviceA, 'dev-a');
      if (!client) return t.fail('device A connects');
      const outcome = await publishOutcome(client, 'ca/v1/dev/dev-b/up/events', 'forged');
      t.not(outcome, 'acked', `the broker refused it (${outcome})`);
      await settle();
      t.notOk(
        observer.received.some((m) => m.payload === 'forged'),
        'ingest never sees the forged message',
      );
      client.end(true);
    });

    t.test("device A never reads device B's downlink", async (t) => {
      const { client } = await connect(running.url, v, pki.deviceA, 'dev-a');
      if (!client) return t.fail('device A connects');
      const seen: string[] = [];
      client.on('message', (topic) => seen.push(topic));
      const foreign = await subscribeOutcome(client, 'ca/v1/dev/dev-b/down/#');
      const wildcard = await subscribeOutcome(client, 'ca/v1/dev/+/down/#');
      t.equal(await subscribeOutcome(client, 'ca/v1/dev/dev-a/down/#'), 'granted', 'its own downlink');
      const sender = await connect(running.ingestUrl, v, broker.ingestIdentity, `ingest-send-${Date.now()}`);
      if (!sender.client) return t.fail('ingest connects');
      await sender.client.publishAsync('ca/v1/dev/dev-b/down/config', 'for b', { qos: 1 });
      await sender.client.publishAsync('ca/v1/dev/dev-a/down/config', 'for a', { qos: 1 });
      await settle();
      // Mosquitto may deliver its own message once per matching subscription; B's never arrives.
      t.same(
        [...new Set(seen)],
        ['ca/v1/dev/dev-a/down/config'],
        `only its own (SUBACK: ${foreign}, ${wildcard})`,
      );
      await sender.client.endAsync();
      await client.endAsync();
    });

    t.test('a device cannot take over another device by its client id', async (t) => {
      const b = await connect(running.url, v, pki.deviceB, 'dev-b');
      if (!b.client) return t.fail('device B connects');
      let bClosed = false;
      b.client.on('close', () => {
        bClosed = true;
      });
      const a = await connect(running.url, v, pki.deviceA, 'dev-b');
      t.ok(a.client, 'device A connects (its client id is replaced by its identity)');
      await settle();
      t.notOk(bClosed, "device B's session was not taken over");
      a.client?.end(true);
      await b.client.endAsync();
    });

    t.test(
      "a device certificate cannot connect on the ingest listener (no worker's or device's session taken over)",
      { skip: broker.separateIngestListener ? false : 'one listener for devices and ingest' },
      async (t) => {
        const worker = await connect(running.ingestUrl, v, broker.ingestIdentity, 'central-w1-0');
        if (!worker.client) return t.fail(`the worker connects: ${worker.error?.message}`);
        const b = await connect(running.url, v, pki.deviceB, 'dev-b');
        if (!b.client) return t.fail('device B connects');
        let workerClosed = false;
        let bClosed = false;
        worker.client.on('close', () => {
          workerClosed = true;
        });
        b.client.on('close', () => {
          bClosed = true;
        });
        for (const clientId of ['central-w1-0', 'dev-b', 'dev-a']) {
          const attempt = await connect(running.ingestUrl, v, pki.deviceA, clientId);
          t.notOk(attempt.client, `device A as ${clientId}: refused (${attempt.error?.message})`);
          attempt.client?.end(true);
        }
        const ingestAsDevice = await connect(running.url, v, broker.ingestIdentity, 'central-w1-0');
        t.notOk(ingestAsDevice.client, 'the ingest certificate is refused on the device listener too');
        ingestAsDevice.client?.end(true);
        await settle();
        t.notOk(workerClosed, "the worker's session was not taken over");
        t.notOk(bClosed, "device B's session was not taken over");
        t.equal(
          await publishOutcome(b.client, 'ca/v1/dev/dev-b/up/events', 'still b'),
          'acked',
          'device B still publishes',
        );
        await settle();
        t.ok(
          observer.received.some((m) => m.payload === 'still b'),
          'and ingest still receives it',
        );
        await b.client.endAsync();
        await worker.client.endAsync();
      },
    );

    t.test('an oversized packet: refused, connection closed, not delivered', async (t) => {
      const { client } = await connect(running.url, v, pki.deviceA, 'dev-a');
      if (!client) return t.fail('device A connects');
      const big = Buffer.alloc(MAX_PACKET + 1024, 0x61);
      const outcome = await publishOutcome(client, 'ca/v1/dev/dev-a/up/events', big);
      t.not(outcome, 'acked', `refused (${outcome})`);
      await settle();
      t.notOk(
        observer.received.some((m) => m.payload.length > MAX_PACKET),
        'ingest never sees it',
      );
      client.end(true);
    });
  });
}
