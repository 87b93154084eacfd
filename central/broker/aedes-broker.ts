/**
 * The embedded broker for one-box central: Aedes behind a Node TLS server that demands a client
 * certificate from our CA. Identity comes from the certificate (as Mosquitto's
 * `use_identity_as_username`), a device's client id is forced to its identity (as
 * `use_username_as_clientid`, so one device cannot knock another off), topics are checked by
 * `acl.ts`, and packets over the size limit close the connection before their payload is buffered.
 *
 * Aedes 1.2 speaks MQTT 3.1.1 only: agents fall back from v5 when it refuses them (see
 * docs/ARCHITECTURE.md). Aedes writes the PUBACK for a QoS 1 publish only after `authorizePublish`
 * calls back, so `onPublishAuthorised` storing the batch first makes "acknowledged" mean "stored".
 */
import type { AddressInfo } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import { Aedes, type Client, type Subscription } from 'aedes';
import type { Logger } from '../../common/logger.js';
import { certificateIdentity } from '../../provisioning/ca.js';
import { type BrokerIdentity, mayPublish, maySubscribe } from './acl.js';

export interface EmbeddedBrokerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: { readonly certPem: string; readonly keyPem: string; readonly caPem: string };
  /** Largest MQTT packet accepted (fixed header's remaining length), in bytes. */
  readonly maxPacketBytes: number;
  readonly logger: Logger;
  /** Runs for every authorised publish before it is acknowledged; a rejection closes the client's
   * connection without an acknowledgement, so the client sends the message again. */
  readonly onPublishAuthorised?: (
    identity: BrokerIdentity,
    packet: { readonly topic: string; readonly payload: Buffer },
  ) => Promise<void>;
  /** Refuse identities at connect time (revocation; enrolment comes in its own issue). */
  readonly isRefused?: (identity: BrokerIdentity) => boolean;
}

export interface BrokerCounters {
  connections: number;
  tlsRejected: number;
  identityRejected: number;
  publishDenied: number;
  subscribeDenied: number;
  oversizedPackets: number;
  publishHandlerErrors: number;
}

export interface EmbeddedBroker {
  readonly port: number;
  readonly counters: BrokerCounters;
  /** Closes the device's connection now, if it has one (revocation); `isRefused` keeps it out. */
  disconnect(deviceId: string): boolean;
  /** Whether the device has a connection right now. */
  isConnected(deviceId: string): boolean;
  /**
   * Publishes as the broker itself (central's own messages, e.g. the intel lists), QoS 1. Not subject
   * to `acl.ts`, which governs clients: only code in central's process can call it. An empty retained
   * payload deletes the topic's retained message.
   */
  publish(topic: string, payload: Uint8Array, options: { readonly retain: boolean }): Promise<void>;
  close(): Promise<void>;
}

class BrokerRefusal extends Error {
  constructor(
    message: string,
    readonly returnCode: number,
  ) {
    super(message);
  }
}

// mqtt-packet's parser is internal to Aedes; this is the one place we reach into it. Checking the
// remaining length as soon as it is parsed refuses a huge packet before its payload is buffered.
interface PacketParser {
  packet: { cmd?: string; length: number };
  _parseLength(): boolean;
  _emitError(err: Error): void;
}

function limitPacketSize(client: Client, maxPacketBytes: number, onOversized: () => void): void {
  const parser = (client as unknown as { _parser?: PacketParser })._parser;
  if (!parser || typeof parser._parseLength !== 'function') return;
  const parseLength = parser._parseLength;
  parser._parseLength = function (this: PacketParser) {
    const complete = parseLength.call(this);
    if (complete && this.packet.length > maxPacketBytes) {
      onOversized();
      this._emitError(new Error(`packet of ${this.packet.length} bytes exceeds ${maxPacketBytes}`));
      return false;
    }
    return complete;
  };
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { logger } = options;
  const counters: BrokerCounters = {
    connections: 0,
    tlsRejected: 0,
    identityRejected: 0,
    publishDenied: 0,
    subscribeDenied: 0,
    oversizedPackets: 0,
    publishHandlerErrors: 0,
  };
  const identities = new WeakMap<Client, BrokerIdentity>();

  const broker = await Aedes.createBroker({
    preConnect: (client, packet, callback) => {
      const socket = client.conn as TLSSocket;
      const der =
        typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate().raw : undefined;
      const identity = der ? certificateIdentity(der) : undefined;
      if (!identity) {
        counters.identityRejected++;
        logger.warn(
          { remote: socket.remoteAddress },
          'connection refused: certificate has no usable identity',
        );
        callback(new BrokerRefusal('not authorised', 5), false);
        return;
      }
      if (identity.kind === 'device') packet.clientId = identity.deviceId;
      identities.set(client, identity);
      callback(null, true);
    },
    // Refusing here, not in preConnect, makes Aedes answer CONNACK "not authorised" (3.1.1 code 5),
    // which the agent recognises as revocation; a bare close would look like an outage.
    authenticate: (client, _username, _password, done) => {
      const identity = identities.get(client);
      if (identity && options.isRefused?.(identity)) {
        counters.identityRejected++;
        logger.warn({ client: client.id }, 'connection refused: certificate revoked');
        done(Object.assign(new Error('not authorised'), { returnCode: 5 }), false);
        return;
      }
      counters.connections++;
      done(null, true);
    },
    authorizePublish: (client, packet, callback) => {
      if (!client) return callback(null); // the broker's own messages (e.g. $SYS)
      const identity = identities.get(client);
      if (!identity || !mayPublish(identity, packet.topic)) {
        counters.publishDenied++;
        logger.warn({ client: client.id, topic: packet.topic }, 'publish denied');
        return callback(new Error('publish not authorised'));
      }
      if (!options.onPublishAuthorised) return callback(null);
      options.onPublishAuthorised(identity, { topic: packet.topic, payload: packet.payload as Buffer }).then(
        () => callback(null),
        (err: unknown) => {
          counters.publishHandlerErrors++;
          logger.error(
            { err, client: client.id, topic: packet.topic },
            'publish not stored; client will resend',
          );
          callback(err instanceof Error ? err : new Error(String(err)));
        },
      );
    },
    authorizeSubscribe: (client, subscription: Subscription, callback) => {
      const identity = identities.get(client);
      if (identity && maySubscribe(identity, subscription.topic)) return callback(null, subscription);
      counters.subscribeDenied++;
      logger.warn({ client: client.id, filter: subscription.topic }, 'subscribe denied');
      callback(null, null); // SUBACK carries the failure code; the connection stays up
    },
  });

  const server = createServer(
    {
      cert: options.tls.certPem,
      key: options.tls.keyPem,
      ca: options.tls.caPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (socket) => {
      const client = broker.handle(socket);
      limitPacketSize(client, options.maxPacketBytes, () => counters.oversizedPackets++);
    },
  );
  server.on('tlsClientError', (err) => {
    counters.tlsRejected++;
    logger.debug({ err: err.message }, 'TLS handshake refused');
  });
  // Devices by id (a device's client id is its certificate identity, forced in preConnect).
  const devices = new Map<string, Client>();
  broker.on('client', (client) => {
    const identity = identities.get(client);
    if (identity?.kind === 'device') devices.set(identity.deviceId, client);
  });
  broker.on('clientDisconnect', (client) => {
    const identity = identities.get(client);
    if (identity?.kind === 'device' && devices.get(identity.deviceId) === client)
      devices.delete(identity.deviceId);
  });
  broker.on('clientError', (client, err) => {
    logger.debug({ client: client.id, err: err.message }, 'client error');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: options.host, port }, 'embedded MQTT broker listening (TLS, client certificates)');
  return {
    port,
    counters,
    disconnect: (deviceId) => {
      const client = devices.get(deviceId);
      if (!client) return false;
      devices.delete(deviceId);
      logger.info({ client: deviceId }, 'disconnecting device');
      client.close();
      return true;
    },
    isConnected: (deviceId) => devices.has(deviceId),
    publish: (topic, payload, { retain }) =>
      new Promise<void>((resolve, reject) => {
        broker.publish(
          { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain, dup: false },
          (err) => (err ? reject(err) : resolve()),
        );
      }),
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
