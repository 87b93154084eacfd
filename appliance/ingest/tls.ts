/**
 * Syslog over TLS (RFC 5425). The handshake is the only difference from TCP: once it completes the
 * connection goes through the same framing, limits and counters (`handleSyslogConnection`). RFC 5425
 * §4.3 mandates octet counting; newline framing is accepted too, since senders get this wrong and the
 * decoder tells the two apart from the first byte.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import tls from 'node:tls';
import { ConfigError, flagName } from '../../common/config.js';
import {
  ConnectionTable,
  handleSyslogConnection,
  listenStream,
  newStreamCounters,
  type StreamListenerOptions,
  type TcpListenerCounters,
} from './tcp.js';

/** PEM contents, read and checked at start-up. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Verifies client certificates; set only together with `requireClientCert`. */
  readonly ca?: Buffer;
  readonly requireClientCert: boolean;
  /** When the server certificate expires (ISO-8601), shown on the status API. */
  readonly certNotAfter: string;
}

export interface TlsSettings {
  readonly syslogTlsCert: string;
  readonly syslogTlsKey: string;
  readonly syslogTlsCa: string;
  readonly syslogTlsRequireClientCert: boolean;
}

export interface TlsListenerOptions extends StreamListenerOptions {
  readonly tls: TlsMaterial;
}

export interface TlsListenerCounters extends TcpListenerCounters {
  /** Handshakes that failed or timed out: wrong protocol, no or untrusted client certificate, … */
  handshakeFailures: number;
}

export interface TlsListener {
  readonly port: number;
  readonly counters: TlsListenerCounters;
  readonly certNotAfter: string;
  checkDeadlines(): void;
  close(): Promise<void>;
}

function configError(key: keyof TlsSettings, message: string): ConfigError {
  return new ConfigError(`config key "${key}" (--${flagName(key)}): ${message}`);
}

function readPem(key: keyof TlsSettings, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw configError(key, `cannot read ${path}: ${(err as Error).message}`);
  }
}

function firstLine(err: unknown): string {
  return String((err as Error).message ?? err).split('\n')[0] ?? '';
}

/**
 * Reads and checks the TLS files named in config. Undefined when TLS is off (no certificate and key
 * configured). Throws ConfigError naming the key for a missing, unreadable or invalid file, a key
 * that does not match the certificate, or settings that only make sense together.
 */
export function loadTlsMaterial(settings: TlsSettings): TlsMaterial | undefined {
  const { syslogTlsCert: certPath, syslogTlsKey: keyPath, syslogTlsCa: caPath } = settings;
  if (certPath === '' && keyPath === '') {
    if (caPath !== '')
      throw configError('syslogTlsCa', 'set, but TLS is off: set syslogTlsCert and syslogTlsKey');
    if (settings.syslogTlsRequireClientCert)
      throw configError(
        'syslogTlsRequireClientCert',
        'true, but TLS is off: set syslogTlsCert and syslogTlsKey',
      );
    return undefined;
  }
  if (certPath === '') throw configError('syslogTlsCert', 'must be set when syslogTlsKey is');
  if (keyPath === '') throw configError('syslogTlsKey', 'must be set when syslogTlsCert is');
  if (settings.syslogTlsRequireClientCert && caPath === '')
    throw configError(
      'syslogTlsCa',
      'must name the CA that issued the client certificates when syslogTlsRequireClientCert is true',
    );
  if (!settings.syslogTlsRequireClientCert && caPath !== '')
    throw configError(
      'syslogTlsCa',
      'only verifies client certificates: set syslogTlsRequireClientCert to true, or leave it empty',
    );

  const cert = readPem('syslogTlsCert', certPath);
  const key = readPem('syslogTlsKey', keyPath);
  const ca = caPath === '' ? undefined : readPem('syslogTlsCa', caPath);
  let certNotAfter: string;
  try {
    certNotAfter = new Date(new X509Certificate(cert).validTo).toISOString();
  } catch (err) {
    throw configError('syslogTlsCert', `${certPath} is not a PEM certificate: ${firstLine(err)}`);
  }
  try {
    createPrivateKey(key);
  } catch (err) {
    throw configError('syslogTlsKey', `${keyPath} is not an unencrypted PEM private key: ${firstLine(err)}`);
  }
  if (ca !== undefined) {
    try {
      new X509Certificate(ca);
    } catch (err) {
      throw configError('syslogTlsCa', `${caPath} is not a PEM certificate: ${firstLine(err)}`);
    }
  }
  try {
    tls.createSecureContext({ cert, key, ca });
  } catch (err) {
    throw configError(
      'syslogTlsKey',
      `${keyPath} does not belong to the certificate in ${certPath}: ${firstLine(err)}`,
    );
  }
  return { cert, key, ca, requireClientCert: settings.syslogTlsRequireClientCert, certNotAfter };
}

export async function startTlsListener(options: TlsListenerOptions): Promise<TlsListener> {
  const counters: TlsListenerCounters = { ...newStreamCounters(), handshakeFailures: 0 };
  const sockets = new Set<net.Socket>();
  const table = new ConnectionTable(options, counters);
  const material = options.tls;
  const server = tls.createServer(
    {
      cert: material.cert,
      key: material.key,
      ca: material.ca,
      requestCert: material.requireClientCert,
      rejectUnauthorized: material.requireClientCert,
      minVersion: 'TLSv1.2',
      // A client that connects and never completes the handshake is as idle as one that sends nothing.
      handshakeTimeout: options.idleTimeoutMs,
    },
    (socket) => handleSyslogConnection(socket, 'tls', options, counters, sockets, table),
  );
  server.on('tlsClientError', () => {
    counters.handshakeFailures++;
  });
  const listener = await listenStream(server, options, counters, sockets, table);
  return {
    port: listener.port,
    counters,
    certNotAfter: material.certNotAfter,
    checkDeadlines: listener.checkDeadlines,
    close: listener.close,
  };
}
