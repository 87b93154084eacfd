/**
 * Test support: one MQTT connection attempt that settles either way — the connected client, or the
 * reason it was refused (TLS alert, CONNACK refusal, closed before CONNACK). Tests that probe what a
 * broker lets in need both answers, not a rejection.
 */
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export type ConnectOutcome = { client: MqttClient; error?: undefined } | { client?: undefined; error: Error };

export function tryConnect(url: string, options: IClientOptions): Promise<ConnectOutcome> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 10_000, ...options });
    const fail = (error: Error) => {
      client.end(true);
      resolve({ error });
    };
    const onClose = () => fail(new Error('connection closed before CONNACK'));
    client.once('connect', () => {
      client.off('error', fail);
      client.off('close', onClose);
      resolve({ client });
    });
    client.once('error', fail);
    client.once('close', onClose);
  });
}

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** The files of an identity directory written by `device issue` (or enrolment). */
export function deviceTlsFiles(identityDir: string): TlsFiles {
  return {
    cert: join(identityDir, 'device.crt'),
    key: join(identityDir, 'device.key'),
    ca: join(identityDir, 'ca.crt'),
  };
}

/** Central's ingest identity, as an external broker's worker listener wants it. */
export function ingestTlsFiles(centralDir: string): TlsFiles {
  return {
    cert: join(centralDir, 'tls', 'ingest.crt'),
    key: join(centralDir, 'tls', 'ingest.key'),
    ca: join(centralDir, 'ca', 'ca.crt'),
  };
}
