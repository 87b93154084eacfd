/**
 * The appliance's side of the intel downlink: subscribes to every list central publishes
 * (`ca/v1/intel/#`, retained, so a fresh connection gets the current lists at once) and hands each
 * message to the IntelStore, which verifies it with central's public key before anything is used.
 *
 * `attachIntel` works on one mqtt.js client: it subscribes now if the client is connected and again
 * on every `connect` (the uplink connects with a clean session, so a reconnect has no subscriptions).
 * The uplink makes a new client per connection attempt; call `attachIntel` for each.
 *
 * `loadIntelKey` reads central's key from the identity directory (`intel-signing.pub`, written by
 * enrolment or `cyberalarm-central device issue`). Without it the appliance runs without intel and
 * says why: an appliance enrolled with an older central has no key until it enrols or renews again.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Logger } from '../../../common/logger.js';
import { type IntelKeyRing, intelKeyRing } from '../../../protocol/intel.js';
import { INTEL_TOPIC_FILTER, parseIntelTopic } from '../../../protocol/topics.js';
import { INTEL_KEY_FILE } from '../../enrol/keys.js';
import type { IntelReceiveResult, IntelStore } from './intel-store.js';

/** pino's Logger fits; so does a test's recorder. */
export interface IntelLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export type IntelKeyLoad =
  | { readonly ok: true; readonly keys: IntelKeyRing }
  | { readonly ok: false; readonly reason: string };

/**
 * Central's intel public keys from `<identityDir>/intel-signing.pub` (one or more SPKI PEM blocks:
 * central may announce a new key before it signs with it). Never throws.
 */
export function readIntelKey(identityDir: string): IntelKeyLoad {
  const file = join(identityDir, INTEL_KEY_FILE);
  if (!existsSync(file)) {
    return {
      ok: false,
      reason: `no ${INTEL_KEY_FILE} in ${identityDir}: intel lists are off until central's key arrives (enrol or renew with a current central, or copy it from central's data dir intel/${INTEL_KEY_FILE})`,
    };
  }
  try {
    const text = readFileSync(file, 'utf8');
    const blocks = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
    if (blocks.length === 0)
      return { ok: false, reason: `${file} holds no PEM public key: intel lists are off` };
    return { ok: true, keys: intelKeyRing(blocks.map((pem) => createPublicKey(pem))) };
  } catch (err) {
    return { ok: false, reason: `${file}: ${(err as Error).message}: intel lists are off` };
  }
}

/** The key ring, or undefined (logged at warn with the reason) when intel must stay off. */
export function loadIntelKey(identityDir: string, logger?: Pick<Logger, 'warn'>): IntelKeyRing | undefined {
  const loaded = readIntelKey(identityDir);
  if (loaded.ok) return loaded.keys;
  logger?.warn({ reason: loaded.reason }, 'intel lists off');
  return undefined;
}

export interface IntelSubscription {
  /** Messages handed to the store by outcome, for /metrics besides the store's own counters. */
  readonly counters: { received: number; subscribeRefused: number };
  /** Stops listening on this client (it is not unsubscribed: the client is usually being closed). */
  detach(): void;
}

export function attachIntel(
  client: MqttClient,
  store: Pick<IntelStore, 'receive'>,
  logger: IntelLogger,
  onResult?: (result: IntelReceiveResult) => void,
): IntelSubscription {
  const counters = { received: 0, subscribeRefused: 0 };
  const subscribe = () => {
    client.subscribe(INTEL_TOPIC_FILTER, { qos: 1 }, (err, granted) => {
      if (err) {
        // mqtt.js reports a SUBACK failure code (the broker's ACL refused the filter) as an error too.
        counters.subscribeRefused++;
        logger.warn({ err: err.message, filter: INTEL_TOPIC_FILTER }, 'intel subscription failed');
        return;
      }
      // SUBACK 0x80 (3.1.1) / ≥ 0x80 (v5): the broker refused the filter (its ACL).
      if (granted?.some((g) => g.qos >= 0x80)) {
        counters.subscribeRefused++;
        logger.warn({ filter: INTEL_TOPIC_FILTER }, 'intel subscription refused by the broker');
      }
    });
  };
  const onMessage = (topic: string, payload: Buffer) => {
    const route = parseIntelTopic(topic);
    if (route === undefined) return; // not intel: the uplink's own downlink
    counters.received++;
    // A copy: the store keeps the message, and mqtt.js may reuse the bytes it read into.
    const result = store.receive(new Uint8Array(payload), route);
    onResult?.(result);
    if (!result.ok) {
      logger.warn(
        { list: result.list ?? route.list, kind: route.kind, reason: result.reason, detail: result.detail },
        'intel list refused',
      );
    } else if (result.action === 'full' || result.action === 'delta') {
      logger.info(
        { list: result.list, action: result.action, version: result.version },
        'intel list applied',
      );
    } else {
      logger.debug({ list: result.list, action: result.action, version: result.version }, 'intel message');
    }
  };
  client.on('connect', subscribe);
  client.on('message', onMessage);
  if (client.connected) subscribe();
  return {
    counters,
    detach: () => {
      client.off('connect', subscribe);
      client.off('message', onMessage);
    },
  };
}
