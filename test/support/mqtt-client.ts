/**
 * Test support: one MQTT connection attempt that settles either way — the connected client, or the
 * reason it was refused (TLS alert, CONNACK refusal, closed before CONNACK). Tests that probe what a
 * broker lets in need both answers, not a rejection.
 */
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
