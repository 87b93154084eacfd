/**
 * Publishes sealed batches from the outbox to central over MQTT with mutual TLS, QoS 1, with a
 * window of several unacknowledged batches in flight. A batch leaves the outbox only when the broker
 * acknowledges it (PUBACK). Speaks MQTT v5 and falls back to 3.1.1 only when the broker refuses v5
 * (the embedded Aedes broker does): see docs/ARCHITECTURE.md for what that changes.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../../common/logger.js';
import { uplinkTopic } from '../../protocol/topics.js';
import type { Outbox } from '../outbox/outbox.js';
import { backoffDelayMs } from './backoff.js';

export interface UplinkOptions {
  readonly url: string;
  readonly deviceId: string;
  readonly tls: { readonly certPem: string; readonly keyPem: string; readonly caPem: string };
  readonly inflightBatches: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly outbox: Outbox;
  readonly logger: Logger;
}

export interface UplinkStats {
  state: 'connecting' | 'connected' | 'disconnected' | 'stopped';
  protocolVersion: 4 | 5;
  connects: number;
  connectFailures: number;
  publishedBatches: number;
  ackedBatches: number;
  ackedEvents: number;
  refusedBatches: number;
  inflight: number;
  bytesSent: number;
  lastAckAt?: string;
  lastError?: string;
}

export class Uplink {
  private client: MqttClient | undefined;
  private protocolVersion: 4 | 5 = 5;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Highest seq handed to the client in this connection; reset on reconnect so unacked ones go again. */
  private sentThrough = -1;
  private readonly inflight = new Set<number>();
  private stopped = false;
  readonly stats: UplinkStats = {
    state: 'disconnected',
    protocolVersion: 5,
    connects: 0,
    connectFailures: 0,
    publishedBatches: 0,
    ackedBatches: 0,
    ackedEvents: 0,
    refusedBatches: 0,
    inflight: 0,
    bytesSent: 0,
  };

  constructor(private readonly options: UplinkOptions) {
    options.outbox.onSealed(() => this.pump());
  }

  start(): void {
    this.connect();
  }

  private connect(): void {
    if (this.stopped) return;
    this.stats.state = 'connecting';
    this.stats.protocolVersion = this.protocolVersion;
    const { tls } = this.options;
    const client = mqtt.connect(this.options.url, {
      protocolVersion: this.protocolVersion,
      clientId: this.options.deviceId,
      clean: true,
      reconnectPeriod: 0, // we reconnect ourselves, with backoff and jitter
      connectTimeout: 10_000,
      keepalive: 30,
      cert: tls.certPem,
      key: tls.keyPem,
      ca: tls.caPem,
      rejectUnauthorized: true,
    });
    this.client = client;
    client.on('connect', () => {
      this.attempt = 0;
      this.stats.connects++;
      this.stats.state = 'connected';
      this.options.logger.info(
        { url: this.options.url, protocolVersion: this.protocolVersion },
        'uplink connected',
      );
      this.pump();
    });
    client.on('error', (err: Error & { code?: number }) => {
      this.stats.lastError = err.message;
      // 3.1.1 CONNACK return code 1 / v5 reason 0x84: the broker does not speak v5.
      if (this.protocolVersion === 5 && (err.code === 1 || err.code === 0x84)) {
        this.options.logger.info('broker refused MQTT v5; falling back to 3.1.1');
        this.protocolVersion = 4;
        this.attempt = -1; // retry at once
      }
    });
    client.on('close', () => this.onClose(client));
  }

  private onClose(client: MqttClient): void {
    if (client !== this.client) return;
    if (this.stats.state !== 'connected') this.stats.connectFailures++;
    this.stats.state = this.stopped ? 'stopped' : 'disconnected';
    this.client = undefined;
    client.removeAllListeners();
    client.end(true);
    this.inflight.clear();
    this.stats.inflight = 0;
    this.sentThrough = -1;
    if (this.stopped) return;
    const delay =
      this.attempt < 0
        ? 0
        : backoffDelayMs(this.attempt, this.options.reconnectMinMs, this.options.reconnectMaxMs);
    this.attempt = Math.max(0, this.attempt) + 1;
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  /** Fills the in-flight window from the outbox, oldest batch first. */
  private pump(): void {
    const client = this.client;
    if (!client || this.stats.state !== 'connected') return;
    const room = this.options.inflightBatches - this.inflight.size;
    if (room <= 0) return;
    const next = this.options.outbox.peek(this.sentThrough, room);
    for (const batch of next) {
      this.sentThrough = batch.seq;
      this.inflight.add(batch.seq);
      this.stats.inflight = this.inflight.size;
      this.stats.publishedBatches++;
      this.stats.bytesSent += batch.payload.length;
      const topic = uplinkTopic(this.options.deviceId, 'events');
      client.publish(topic, Buffer.from(batch.payload), { qos: 1 }, (err, packet) => {
        if (client !== this.client) return; // a callback from a connection we already dropped
        const reason = (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
        if (err || reason >= 0x80) {
          // Refused (v5 reason code) or failed: keep the batch; reconnect and send it again.
          this.stats.refusedBatches++;
          this.stats.lastError = err?.message ?? `PUBACK reason 0x${reason.toString(16)}`;
          client.end(true);
          return;
        }
        this.inflight.delete(batch.seq);
        this.stats.inflight = this.inflight.size;
        this.stats.ackedBatches++;
        this.stats.ackedEvents += batch.events;
        this.stats.lastAckAt = new Date().toISOString();
        this.options.outbox.ack(batch.seq).then(
          () => this.pump(),
          (ackErr: Error) => this.options.logger.error({ err: ackErr, seq: batch.seq }, 'outbox ack failed'),
        );
      });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.stats.state = 'stopped';
    if (client) await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
  }
}
