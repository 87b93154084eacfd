/**
 * An ingest worker for an external broker (Mosquitto, or any MQTT v5 cluster): joins a shared
 * subscription on every device's events topic and acknowledges each message only after it is
 * committed to the database, so a worker killed mid-batch loses nothing (the broker redelivers and
 * the unique (device, seq) absorbs the repeat).
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../../common/logger.js';
import { uplinkFilterAllDevices } from '../../protocol/topics.js';
import type { Database } from '../store/db.js';
import { handleUplinkMessage } from './handle-publish.js';
import type { IngestCounters } from './ingest-counters.js';

export interface MqttWorkerOptions {
  readonly url: string;
  readonly group: string;
  readonly clientId: string;
  readonly tls: { readonly certPem: string; readonly keyPem: string; readonly caPem: string };
  readonly db: Database;
  readonly counters: IngestCounters;
  readonly logger: Logger;
}

export interface MqttWorker {
  close(): Promise<void>;
}

export async function startMqttWorker(options: MqttWorkerOptions): Promise<MqttWorker> {
  const filter = `$share/${options.group}/${uplinkFilterAllDevices('events')}`;
  const client: MqttClient = mqtt.connect(options.url, {
    protocolVersion: 5,
    clientId: options.clientId,
    clean: false, // a persistent session: the broker queues QoS 1 messages while this worker restarts
    properties: { sessionExpiryInterval: 3600 },
    cert: options.tls.certPem,
    key: options.tls.keyPem,
    ca: options.tls.caPem,
    rejectUnauthorized: true,
    reconnectPeriod: 1000,
  });
  // mqtt.js sends the PUBACK for a QoS 1 message only when handleMessage calls back: after the commit.
  client.handleMessage = (packet, callback) => {
    const payload = packet.payload as Buffer;
    handleUplinkMessage(options.db, options.counters, { topic: packet.topic, payload }).then(
      () => callback(),
      (err: Error) => {
        // Not acknowledged: drop the connection so the broker redelivers to this or another worker.
        options.logger.error({ err, topic: packet.topic }, 'store failed; batch will be redelivered');
        client.end(true, () => client.reconnect());
      },
    );
  };
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync(filter, { qos: 1 });
  options.logger.info({ url: options.url, filter }, 'ingest worker subscribed');
  return { close: () => client.endAsync().then(() => undefined) };
}
