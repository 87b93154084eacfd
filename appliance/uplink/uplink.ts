/**
 * Publishes sealed batches from the outbox to central over MQTT with mutual TLS, QoS 1, with a
 * window of several unacknowledged batches in flight. A batch leaves the outbox only when the broker
 * acknowledges it (PUBACK). Speaks MQTT v5 and falls back to 3.1.1 only when the broker refuses v5
 * (the embedded Aedes broker does): see docs/ARCHITECTURE.md for what that changes.
 *
 * Priority: loss records, then alert batches (`ca/v1/dev/<id>/up/alerts`, their own window of
 * `inflightBatches`), are published before any event batch and are not rate-limited; while an alert
 * batch waits for room in its window, no event batch is sent either. Heartbeats (`publishHealth`,
 * appliance/health/heartbeat.ts) are best-effort and bypass all of this: published QoS 1 on the
 * current connection only, never stored, never counted in a window. Backlog drains through a token bucket of
 * `maxBytesPerS` payload bytes (one second of burst), so a thousand devices coming back from an
 * outage at once arrive at central at a bounded rate instead of all their backlog at line speed.
 */

import { performance } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import { explainTlsError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { encodeLossRecord } from '../../protocol/codec.js';
import type { LossReason } from '../../protocol/loss.js';
import { uplinkTopic } from '../../protocol/topics.js';
import type { Outbox } from '../outbox/outbox.js';
import { backoffDelayMs } from './backoff.js';
import { DrainLimiter } from './drain-limiter.js';

export interface UplinkOptions {
  readonly url: string;
  readonly deviceId: string;
  readonly tls: { readonly certPem: string; readonly keyPem: string; readonly caPem: string };
  readonly inflightBatches: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  /** Backlog drain rate in payload bytes per second; 0 = unlimited. */
  readonly maxBytesPerS?: number;
  readonly outbox: Outbox;
  readonly logger: Logger;
  /** Called with each event batch as it is published (the status page's "what leaves this box"). */
  readonly onPublish?: (topic: string, seq: number, payload: Uint8Array) => void;
  /** MQTT keepalive in seconds (default 30; tests shorten it). */
  readonly keepaliveS?: number;
  /** A monotonic clock in ms for the drain rate (tests pass a fake); never the wall clock. */
  readonly monotonicNowMs?: () => number;
  /** Each new MQTT client, before it connects: others subscribe on it (central's intel lists). */
  readonly onClient?: (client: MqttClient) => void;
  /** After each successful connect (the heartbeat sends one it missed while disconnected). */
  readonly onConnected?: () => void;
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
  /** Payload bytes published (batches, alert batches and loss records). */
  bytesSent: number;
  /** Bytes of the PUBLISH packets (fixed header, topic, packet id, properties, payload). */
  wireBytes: number;
  lossRecordsSent: number;
  lossRecordsAcked: number;
  alertBatchesPublished: number;
  alertBatchesAcked: number;
  alertsAcked: number;
  alertsInflight: number;
  /** Times the drain rate held the backlog back. */
  throttled: number;
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
  /** The same for alert batches (their numbers come from the same sequence as event batches). */
  private alertsSentThrough = -1;
  private readonly alertsInflight = new Set<number>();
  /** Loss record versions published on this connection (reason → version). */
  private readonly lossSent = new Map<LossReason, number>();
  private readonly drain: DrainLimiter | undefined;
  private readonly monotonicNowMs: () => number;
  private drainTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastLoggedError: string | undefined;
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
    wireBytes: 0,
    lossRecordsSent: 0,
    lossRecordsAcked: 0,
    alertBatchesPublished: 0,
    alertBatchesAcked: 0,
    alertsAcked: 0,
    alertsInflight: 0,
    throttled: 0,
  };

  constructor(private readonly options: UplinkOptions) {
    this.monotonicNowMs = options.monotonicNowMs ?? (() => performance.now());
    const rate = options.maxBytesPerS ?? 0;
    this.drain = rate > 0 ? new DrainLimiter(rate, this.monotonicNowMs()) : undefined;
    options.outbox.onSealed(() => this.pump());
    options.outbox.onLoss(() => this.pump());
    options.outbox.setInFlightCheck((seq) => this.inflight.has(seq) || this.alertsInflight.has(seq));
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
      keepalive: this.options.keepaliveS ?? 30,
      cert: tls.certPem,
      key: tls.keyPem,
      ca: tls.caPem,
      rejectUnauthorized: true,
      // mqtt-packet's number cache is 65,536 two-byte Buffers (~7 MB of heap) to save an allocation
      // per packet id; the uplink sends a few batches a second, memory is the scarcer budget.
      writeCache: false,
    });
    this.client = client;
    this.options.onClient?.(client);
    client.on('connect', () => {
      this.attempt = 0;
      this.stats.connects++;
      this.stats.state = 'connected';
      // An old error (an outage long past) must not be read as the reason for the next refusal.
      delete this.stats.lastError;
      this.options.logger.info(
        { url: this.options.url, protocolVersion: this.protocolVersion },
        'uplink connected',
      );
      this.pump();
      this.options.onConnected?.();
    });
    client.on('error', (err: Error & { code?: number }) => {
      const explained = explainTlsError(err, "this appliance's identity (ca.crt)");
      this.stats.lastError = explained ?? err.message;
      // Logged at the default level, once per distinct cause (a reconnect loop repeats it).
      if (this.stats.lastError !== this.lastLoggedError) {
        this.lastLoggedError = this.stats.lastError;
        this.options.logger.warn({ err, url: this.options.url }, explained ?? 'uplink connection failed');
      }
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
    this.alertsInflight.clear();
    this.lossSent.clear();
    this.stats.inflight = 0;
    this.stats.alertsInflight = 0;
    this.sentThrough = -1;
    this.alertsSentThrough = -1;
    if (this.stopped) return;
    const delay =
      this.attempt < 0
        ? 0
        : backoffDelayMs(this.attempt, this.options.reconnectMinMs, this.options.reconnectMaxMs);
    this.attempt = Math.max(0, this.attempt) + 1;
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  /**
   * Loss records first (every new version), then alert batches, then fills the in-flight window,
   * oldest event batch first.
   */
  private pump(): void {
    const client = this.client;
    if (!client || this.stats.state !== 'connected') return;
    this.sendLosses(client);
    if (!this.sendAlerts(client)) return;
    let room = this.options.inflightBatches - this.inflight.size;
    if (room <= 0) return;
    const drain = this.drain;
    if (drain !== undefined) {
      const waitMs = drain.waitMs(this.monotonicNowMs());
      if (waitMs > 0) {
        if (this.drainTimer === undefined) {
          this.stats.throttled++;
          this.drainTimer = setTimeout(() => {
            this.drainTimer = undefined;
            this.pump();
          }, waitMs);
        }
        return;
      }
      room = 1; // one batch per token check
    }
    const next = this.options.outbox.peek(this.sentThrough, room);
    for (const batch of next) {
      this.sentThrough = batch.seq;
      this.inflight.add(batch.seq);
      this.stats.inflight = this.inflight.size;
      this.stats.publishedBatches++;
      const topic = uplinkTopic(this.options.deviceId, 'events');
      drain?.spend(batch.payload.length);
      this.options.onPublish?.(topic, batch.seq, batch.payload);
      this.publishOrReconnect(client, topic, batch.payload, this.countRefusedBatch, () => {
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
    if (drain !== undefined && next.length > 0) setImmediate(() => this.pump());
  }

  /**
   * Publishes the alert batches not yet sent on this connection, up to `inflightBatches` of them
   * unacknowledged. Returns false while some wait for room: event batches then wait too, so an
   * alert is never queued behind backlog on the connection.
   */
  private sendAlerts(client: MqttClient): boolean {
    const room = this.options.inflightBatches - this.alertsInflight.size;
    const next = this.options.outbox.peekAlerts(this.alertsSentThrough, Math.max(room, 0) + 1);
    const sendable = next.slice(0, Math.max(room, 0));
    for (const batch of sendable) {
      this.alertsSentThrough = batch.seq;
      this.alertsInflight.add(batch.seq);
      this.stats.alertsInflight = this.alertsInflight.size;
      this.stats.alertBatchesPublished++;
      const topic = uplinkTopic(this.options.deviceId, 'alerts');
      this.publishOrReconnect(client, topic, batch.payload, this.countRefusedBatch, () => {
        this.alertsInflight.delete(batch.seq);
        this.stats.alertsInflight = this.alertsInflight.size;
        this.stats.alertBatchesAcked++;
        this.stats.alertsAcked += batch.alerts;
        this.stats.lastAckAt = new Date().toISOString();
        this.options.outbox.ackAlerts(batch.seq).then(
          () => this.pump(),
          (ackErr: Error) =>
            this.options.logger.error({ err: ackErr, seq: batch.seq }, 'outbox alerts ack failed'),
        );
      });
    }
    return next.length <= sendable.length;
  }

  /** Publishes each loss record version not yet sent on this connection. */
  private sendLosses(client: MqttClient): void {
    for (const { version, record } of this.options.outbox.pendingLosses()) {
      if (this.lossSent.get(record.reason) === version) continue;
      this.lossSent.set(record.reason, version);
      const payload = encodeLossRecord(record);
      const topic = uplinkTopic(this.options.deviceId, 'loss');
      this.stats.lossRecordsSent++;
      this.publishOrReconnect(client, topic, payload, undefined, () => {
        this.stats.lossRecordsAcked++;
        this.options.outbox.ackLoss(record.reason, version).then(
          () => undefined,
          (ackErr: Error) => this.options.logger.error({ err: ackErr }, 'loss record ack failed'),
        );
      });
    }
  }

  /**
   * Publishes one heartbeat (protocol/health.ts) on the current connection, QoS 1, outside the
   * outbox and both in-flight windows, so it can neither delay nor evict event data. Returns false
   * when there is no connection: the heartbeat is dropped, and the next one replaces it (it is a
   * snapshot, not data). `done` reports the PUBACK: true when the broker took it. A refused or lost
   * heartbeat does not end the connection (batches decide that).
   */
  publishHealth(payload: Uint8Array, done: (acked: boolean) => void): boolean {
    const client = this.client;
    if (!client || this.stats.state !== 'connected') return false;
    const topic = uplinkTopic(this.options.deviceId, 'health');
    this.count(topic, payload.length);
    client.publish(topic, Buffer.from(payload), { qos: 1 }, (err, packet) =>
      done(!err && pubackReason(packet) < 0x80),
    );
    return true;
  }

  /**
   * Publishes at QoS 1 on this connection; `acked` runs once the broker took it. Refused (a v5
   * reason code) or failed, the data stays in the outbox and the connection is dropped: the next one
   * sends it again. A callback from a connection already dropped is ignored.
   */
  private publishOrReconnect(
    client: MqttClient,
    topic: string,
    payload: Uint8Array,
    refused: (() => void) | undefined,
    acked: () => void,
  ): void {
    this.count(topic, payload.length);
    client.publish(topic, Buffer.from(payload), { qos: 1 }, (err, packet) => {
      if (client !== this.client) return;
      const reason = pubackReason(packet);
      if (err || reason >= 0x80) {
        refused?.();
        this.stats.lastError = err?.message ?? `PUBACK reason 0x${reason.toString(16)}`;
        this.dropConnection(client);
        return;
      }
      acked();
    });
  }

  private readonly countRefusedBatch = (): void => {
    this.stats.refusedBatches++;
  };

  /**
   * Ends a connection from inside one of its publish callbacks, on the next turn of the event loop.
   * mqtt.js calls those callbacks from its own `_flush` loop when the connection closes (keepalive
   * timeout, a forced end); ending the client there re-enters `_flush`, which deletes the entries the
   * outer loop is still walking, and the outer loop then throws `TypeError: Cannot read properties
   * of undefined (reading 'cb')` out of a timer: the agent crashed once that way.
   */
  private dropConnection(client: MqttClient): void {
    setImmediate(() => {
      if (client === this.client) client.end(true);
    });
  }

  /** Payload and PUBLISH packet bytes (MQTT §3.3: header, topic, packet id, v5 properties length). */
  private count(topic: string, payloadBytes: number): void {
    const remaining = 2 + Buffer.byteLength(topic) + 2 + (this.protocolVersion === 5 ? 1 : 0) + payloadBytes;
    const lengthBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
    this.stats.bytesSent += payloadBytes;
    this.stats.wireBytes += 1 + lengthBytes + remaining;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.drainTimer) clearTimeout(this.drainTimer);
    const client = this.client;
    this.stats.state = 'stopped';
    if (client) await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
  }
}

/** The PUBACK's reason code (MQTT v5); 0 (success) for 3.1.1, which has none. */
function pubackReason(packet: unknown): number {
  return (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
}
