/**
 * The generated Mosquitto configuration persists what it acknowledged: batches published at QoS 1
 * while the ingest worker is away are queued in the worker's persistent session; once Mosquitto has
 * saved (SIGUSR1 here; `autosave_interval` in production) a kill -9 and a restart lose none of them.
 * Before broker-config created the persistence directory every save failed and all were lost.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import t from 'tap';
import {
  issueDevice,
  MOSQUITTO,
  startGeneratedMosquitto,
  startMosquitto,
  waitFor,
} from '../../tools/demo/harness.js';
import { deviceTlsFiles, ingestTlsFiles, tryConnect } from '../support/mqtt-client.js';

const skip = MOSQUITTO ? false : 'mosquitto is not installed';
if (skip && process.env.CI === 'true') t.fail(`CI must run the Mosquitto persistence test: ${skip}`);

const GROUP_FILTER = '$share/cyberalarm-ingest/ca/v1/dev/+/up/events';
const BATCHES = 12;

async function connect(
  url: string,
  files: { cert: string; key: string; ca: string },
  clientId: string,
  persistent: boolean,
): Promise<MqttClient> {
  const outcome = await tryConnect(url, {
    protocolVersion: 5,
    clientId,
    clean: !persistent,
    ...(persistent ? { properties: { sessionExpiryInterval: 86_400 } } : {}),
    cert: readFileSync(files.cert),
    key: readFileSync(files.key),
    ca: readFileSync(files.ca),
    connectTimeout: 5000,
  });
  if (outcome.error) throw outcome.error;
  return outcome.client;
}

function mtimeMs(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

t.test(
  'acknowledged batches queued for a stopped worker survive kill -9 after a save',
  { skip },
  async (t) => {
    const dir = t.testdir();
    const centralDir = join(dir, 'central');
    const identity = join(dir, 'identity');
    await issueDevice(centralDir, 'persist-dev-1', identity);
    const mosquitto = await startGeneratedMosquitto(join(dir, 'mosquitto'), centralDir);
    let running: { kill(): Promise<void> } = mosquitto;
    t.teardown(() => running.kill());
    const device = deviceTlsFiles(identity);
    const ingest = ingestTlsFiles(centralDir);
    const workerUrl = `mqtts://localhost:${mosquitto.workerPort}`;

    // The worker joins the group with a persistent session, then goes away (as a stopped worker does).
    const worker = await connect(workerUrl, ingest, 'central-w1-0', true);
    await worker.subscribeAsync(GROUP_FILTER, { qos: 1 });
    await worker.endAsync();

    const client = await connect(`mqtts://localhost:${mosquitto.brokerPort}`, device, 'persist-dev-1', false);
    for (let i = 0; i < BATCHES; i++) {
      await client.publishAsync('ca/v1/dev/persist-dev-1/up/events', `batch-${i}`, { qos: 1 });
    }
    await client.endAsync();

    // Save now, wait until the database file is written, then kill without a save of its own.
    const dbFile = join(dir, 'mosquitto', 'data', 'mosquitto.db');
    const before = mtimeMs(dbFile);
    mosquitto.signal('SIGUSR1');
    await waitFor(
      'Mosquitto to save its database',
      async () => {
        if (/Error saving in-memory database|Error: No such file or directory/.test(mosquitto.log()))
          throw new Error(mosquitto.log());
        return mtimeMs(dbFile) > before ? true : undefined;
      },
      15_000,
      50,
    ).catch((err) => t.fail(`${(err as Error).message}\n${mosquitto.log()}`));
    mosquitto.signal('SIGKILL');
    await mosquitto.exited;

    const restarted = await startMosquitto(mosquitto.configFile, mosquitto.brokerPort);
    running = restarted;
    const received = new Set<string>();
    const again = mqtt.connect(workerUrl, {
      protocolVersion: 5,
      clientId: 'central-w1-0',
      clean: false,
      properties: { sessionExpiryInterval: 86_400 },
      cert: readFileSync(ingest.cert),
      key: readFileSync(ingest.key),
      ca: readFileSync(ingest.ca),
      reconnectPeriod: 0,
    });
    t.teardown(() => again.end(true));
    again.on('message', (_topic, payload) => received.add(payload.toString()));
    const connack = await new Promise<boolean>((resolve, reject) => {
      again.once('connect', (packet) => resolve(packet.sessionPresent));
      again.once('error', reject);
    });
    t.ok(connack, 'the worker session survived the kill');
    // Redelivery needs no new subscription: it starts right after CONNACK. Bound by count, then by a
    // generous timeout that only a lost batch would hit.
    await waitFor(
      'every acknowledged batch',
      async () => (received.size >= BATCHES ? true : undefined),
      15_000,
      50,
    ).catch(() => undefined);
    t.equal(
      received.size,
      BATCHES,
      `all ${BATCHES} acknowledged batches delivered after kill -9 (${received.size})`,
    );
    t.notMatch(
      restarted.log() + mosquitto.log(),
      /Error saving in-memory database|Error: No such file or directory/,
      'no failed save',
    );
  },
);
