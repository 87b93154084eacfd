/**
 * Where central's intel messages go: the embedded broker's own publish (in-process, no client), or
 * an external broker (Mosquitto) through an mqtt.js client with central's ingest identity
 * (`CN=central-ingest, OU=central`, the one identity the ACL lets write `ca/v1/intel/#`), connected
 * to the broker's worker listener like the ingest workers, under a client id of its own.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { EmbeddedBroker } from '../broker/aedes-broker.js';

export interface IntelSink {
  /** Resolves when the broker has taken the message (QoS 1); rejects on failure or timeout. */
  publish(topic: string, payload: Uint8Array, retain: boolean): Promise<void>;
  close(): Promise<void>;
}

export function embeddedIntelSink(broker: Pick<EmbeddedBroker, 'publish'>): IntelSink {
  return {
    publish: (topic, payload, retain) => broker.publish(topic, payload, { retain }),
    close: async () => {},
  };
}

export interface MqttIntelSinkOptions {
  readonly url: string;
  readonly clientId: string;
  readonly tls: { readonly certPem: string; readonly keyPem: string; readonly caPem: string };
  /** Per publish (including waiting for a connection); default 30 s. */
  readonly timeoutMs?: number;
}

/** An mqtt.js client that reconnects on its own; a publish waits for the connection up to the timeout. */
export function mqttIntelSink(options: MqttIntelSinkOptions): IntelSink {
  const client: MqttClient = mqtt.connect(options.url, {
    protocolVersion: 5,
    clientId: options.clientId,
    clean: true,
    cert: options.tls.certPem,
    key: options.tls.keyPem,
    ca: options.tls.caPem,
    rejectUnauthorized: true,
    reconnectPeriod: 2000,
    connectTimeout: 10_000,
  });
  client.on('error', () => {}); // reported through the publish that fails; the client reconnects
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    publish: (topic, payload, retain) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`intel publish to ${options.url} timed out after ${timeoutMs} ms`)),
          timeoutMs,
        );
        client.publish(topic, Buffer.from(payload), { qos: 1, retain }, (err) => {
          clearTimeout(timer);
          if (err) reject(err);
          else resolve();
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        client.end(false, {}, () => resolve());
      }),
  };
}
