/**
 * Revocation reaches a real Mosquitto within one reload, not at its next restart: `device revoke`
 * rewrites the CRL and the ACL (the revoked device denied every topic) that `broker-config`
 * registered, and signals Mosquitto (SIGHUP via its pid file). A device that stays connected is
 * refused at its next publishes; a reconnect is refused too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import t from 'tap';
import {
  CENTRAL_CLI,
  issueDevice,
  MOSQUITTO,
  runCli,
  startGeneratedMosquitto,
  waitFor,
} from '../../tools/demo/harness.js';
import { deviceTlsFiles, ingestTlsFiles, tryConnect } from '../support/mqtt-client.js';

const skip = MOSQUITTO ? false : 'mosquitto is not installed';
if (skip && process.env.CI === 'true') t.fail(`CI must run the Mosquitto revocation test: ${skip}`);

async function connect(url: string, files: { cert: string; key: string; ca: string }, clientId: string) {
  const outcome = await tryConnect(url, {
    protocolVersion: 5,
    clientId,
    cert: readFileSync(files.cert),
    key: readFileSync(files.key),
    ca: readFileSync(files.ca),
    connectTimeout: 5000,
  });
  return outcome.client ?? outcome.error;
}

/** Acknowledged, refused (PUBACK reason ≥ 0x80) or the connection closed. */
function publish(client: MqttClient, topic: string, payload: string) {
  return new Promise<'acked' | 'refused' | 'closed'>((resolve) => {
    if (!client.connected) return resolve('closed');
    const onClose = () => resolve('closed');
    client.once('close', onClose);
    client.publish(topic, payload, { qos: 1 }, (err) => {
      client.off('close', onClose);
      resolve(err ? 'refused' : 'acked');
    });
  });
}

t.test('a revoked device can no longer publish anything ingest receives', { skip }, async (t) => {
  const dir = t.testdir();
  const centralDir = join(dir, 'central');
  const identity = join(dir, 'identity');
  await issueDevice(centralDir, 'rev-dev-1', identity);
  const mosquitto = await startGeneratedMosquitto(join(dir, 'mosquitto'), centralDir);
  t.teardown(() => mosquitto.kill());
  const device = deviceTlsFiles(identity);
  const ingest = ingestTlsFiles(centralDir);
  const observer = await connect(`mqtts://localhost:${mosquitto.workerPort}`, ingest, 'central-observer');
  if (observer instanceof Error) throw observer;
  t.teardown(() => observer.endAsync());
  const received: string[] = [];
  observer.on('message', (_topic, payload) => received.push(payload.toString()));
  await observer.subscribeAsync('ca/v1/dev/+/up/#', { qos: 1 });

  const topic = 'ca/v1/dev/rev-dev-1/up/events';
  const client = await connect(`mqtts://localhost:${mosquitto.brokerPort}`, device, 'rev-dev-1');
  if (client instanceof Error) throw client;
  t.teardown(() => client.end(true));
  t.equal(await publish(client, topic, 'before'), 'acked');
  await waitFor(
    'ingest to receive the batch sent before revocation',
    async () => (received.includes('before') ? true : undefined),
    10_000,
    50,
  );

  await runCli(CENTRAL_CLI, ['device', 'revoke', '--id', 'rev-dev-1', '--data-dir', centralDir]);

  // Mosquitto reloads asynchronously after the signal: allow a bounded number of publishes (each one
  // a full PUBACK round trip through the broker's event loop, which handles the signal between them).
  const MAX_TRIES = 50;
  let tries = 0;
  let outcome: 'acked' | 'refused' | 'closed' = 'acked';
  while (tries < MAX_TRIES) {
    tries += 1;
    outcome = await publish(client, topic, `after-${tries}`);
    if (outcome !== 'acked') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  t.not(outcome, 'acked', `refused after ${tries} publish(es) (${outcome}); the bound is ${MAX_TRIES}`);
  const late = [];
  for (let i = 0; i < 5; i++) late.push(await publish(client, topic, `late-${i}`));
  t.notOk(late.includes('acked'), `every later publish refused (${late.join(', ')})`);

  const again = await connect(`mqtts://localhost:${mosquitto.brokerPort}`, device, 'rev-dev-1');
  if (again instanceof Error) {
    t.pass(`a reconnect is refused (${again.message})`);
  } else {
    t.not(await publish(again, topic, 'reconnected'), 'acked', 'a reconnect cannot publish');
    again.end(true);
  }
  // The observer is subscribed to every uplink: what it has not seen, ingest cannot store.
  await observer
    .publishAsync('ca/v1/dev/rev-dev-1/down/config', 'barrier', { qos: 1 })
    .catch(() => undefined);
  t.notOk(
    received.some((p) => p.startsWith('late-') || p === 'reconnected'),
    'nothing after the refusal reached ingest',
  );
  t.match(
    readFileSync(join(dir, 'mosquitto', 'acl'), 'utf8'),
    /user rev-dev-1\ntopic deny #/,
    'the ACL denies it',
  );
});
