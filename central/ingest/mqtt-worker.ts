/**
 * The external-broker client: an ingest worker for Mosquitto (or any MQTT v5 cluster). It joins a
 * shared subscription on every device's uplink topics of the kinds ingest handles and hands each
 * message to ingest.ts (the same entry the embedded broker uses), acknowledging it only after it is
 * committed, so a worker killed mid-batch loses nothing (the broker redelivers and the unique
 * (device, seq) absorbs the repeat).
 *
 * mqtt.js hands a connection's publishes to `handleMessage` one at a time and sends the PUBACK when
 * it calls back, so one connection stores one batch at a time. A worker therefore opens
 * `connections` MQTT sessions (client ids `<clientId>-0`, `-1`, ...) on the same shared subscription:
 * the broker spreads batches over them and the worker keeps that many transactions in flight.
 *
 * Sessions are persistent (clean start off, an expiry interval) and the client ids must be stable
 * across restarts: Mosquitto keeps routing a share of the group's messages to a member whose session
 * is alive but disconnected (and keeps its unacknowledged ones), and delivers them only when that
 * client id reconnects. A worker leaving for good retires (`close({ retire: true })`): it unsubscribes,
 * drains what is queued for it, then ends its sessions. See docs/DEPLOY.md.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { uplinkFilterAllDevices } from '../../protocol/topics.js';
import { INGESTED_KINDS } from './handlers/index.js';
import { type IngestContext, ingestMessage } from './ingest.js';

export interface MqttWorkerOptions {
  readonly url: string;
  readonly group: string;
  /** Stable across restarts (see above); each connection appends `-<n>` when there are several. */
  readonly clientId: string;
  /** MQTT sessions (and so transactions in flight) this worker runs; default 1. */
  readonly connections?: number;
  /** How long the broker keeps a disconnected worker's session and queue; default 1 day. */
  readonly sessionExpirySeconds?: number;
  readonly tls: { readonly certPem: string; readonly keyPem: string; readonly caPem: string };
  readonly ingest: IngestContext;
}

export interface MqttWorker {
  readonly clientIds: readonly string[];
  /** Connections currently up (a gauge). */
  connected(): number;
  /**
   * Normal close keeps the sessions, so the broker queues this worker's share until it comes back.
   * `retire` unsubscribes, drains what the broker still has for these sessions (until `idleMs`
   * without a message) and ends the sessions, so nothing stays queued for a worker that is gone.
   */
  close(options?: { retire?: boolean; idleMs?: number }): Promise<void>;
}

export async function startMqttWorker(options: MqttWorkerOptions): Promise<MqttWorker> {
  // Every kind ingest handles (events, loss records, ...): one never acknowledged would be resent by
  // the device forever.
  const filters = INGESTED_KINDS.map((kind) => `$share/${options.group}/${uplinkFilterAllDevices(kind)}`);
  const n = Math.max(1, options.connections ?? 1);
  const clientIds = workerClientIds(options.clientId, n);
  const { logger } = options.ingest;
  let lastMessageAt = Date.now();
  let inFlight = 0;
  const clients = clientIds.map((clientId) => {
    const client: MqttClient = mqtt.connect(options.url, {
      protocolVersion: 5,
      clientId,
      clean: false, // a persistent session: the broker queues QoS 1 messages while this worker restarts
      properties: { sessionExpiryInterval: options.sessionExpirySeconds ?? 86_400 },
      cert: options.tls.certPem,
      key: options.tls.keyPem,
      ca: options.tls.caPem,
      rejectUnauthorized: true,
      reconnectPeriod: 1000,
    });
    // mqtt.js sends the PUBACK for a QoS 1 message only when handleMessage calls back: after the commit.
    client.handleMessage = (packet, callback) => {
      lastMessageAt = Date.now();
      inFlight++;
      const payload = packet.payload as Buffer;
      ingestMessage(options.ingest, { topic: packet.topic, payload }).then(
        () => {
          inFlight--;
          callback();
        },
        (err: Error) => {
          inFlight--;
          // Not acknowledged: drop the connection so the broker redelivers to this session.
          logger.error({ err, topic: packet.topic, clientId }, 'store failed; batch will be redelivered');
          client.end(true, () => client.reconnect());
        },
      );
    };
    client.on('error', (err) => logger.warn({ err, clientId }, 'broker connection error'));
    return client;
  });
  await Promise.all(
    clients.map(async (client) => {
      if (!client.connected) {
        await new Promise<void>((resolve, reject) => {
          const onError = (err: Error) => {
            client.off('connect', onConnect);
            reject(err);
          };
          const onConnect = () => {
            client.off('error', onError);
            resolve();
          };
          client.once('connect', onConnect);
          client.once('error', onError);
        });
      }
      await client.subscribeAsync(filters, { qos: 1 });
    }),
  );
  logger.info({ url: options.url, filters, clientIds }, 'ingest worker subscribed');
  return {
    clientIds,
    connected: () => clients.filter((c) => c.connected).length,
    close: async (closeOptions = {}) => {
      if (closeOptions.retire) {
        await Promise.all(clients.map((c) => c.unsubscribeAsync(filters)));
        const idleMs = closeOptions.idleMs ?? 2000;
        lastMessageAt = Date.now();
        while (inFlight > 0 || Date.now() - lastMessageAt < idleMs)
          await new Promise((r) => setTimeout(r, 200));
        await Promise.all(
          clients.map((c) => c.endAsync(false, { properties: { sessionExpiryInterval: 0 } })),
        );
        logger.info({ clientIds }, 'ingest worker retired: sessions ended');
        return;
      }
      await Promise.all(clients.map((c) => c.endAsync()));
    },
  };
}

/**
 * The MQTT client ids of a worker's sessions. Always `central-…`: client ids are one namespace across
 * a broker's listeners, and central's CA never issues a device id starting with `central`, so no
 * device can ever present a worker's client id and take over its session.
 */
export function workerClientIds(clientId: string, sessions: number): string[] {
  const base = clientId.startsWith('central') ? clientId : `central-${clientId}`;
  return Array.from({ length: sessions }, (_, i) => (sessions === 1 ? base : `${base}-${i}`));
}
