/**
 * Who a certificate says it is, read with Node's own X509Certificate: this is all the appliance
 * needs of certificates at run time, and it must not load @peculiar/x509 (the CA's library, ~4 MB
 * of heap) for it. Parsing an identity never implies trust: TLS checks the chain first.
 *
 * Identity comes from the subject: OU says what kind of client it is (`devices` or `central`) and CN
 * names it.
 */
import { X509Certificate } from 'node:crypto';
import { isValidDeviceId } from '../protocol/topics.js';

export type OrganizationalUnit = 'devices' | 'central';

export type CertificateIdentity =
  | { readonly kind: 'device'; readonly deviceId: string }
  | { readonly kind: 'ingest' };

export const OU_DEVICES: OrganizationalUnit = 'devices';
export const OU_CENTRAL: OrganizationalUnit = 'central';
/** Subject CN of central's ingest client (OU `central`); it may read every device's uplink. */
export const INGEST_CLIENT_CN = 'central-ingest';
/** Device ids starting with this (any case) are reserved for central's own clients. */
export const RESERVED_DEVICE_ID_PREFIX = 'central';

/** True when `id` may name a device: the topic-segment rules plus the reserved `central` prefix. */
export function isIssuableDeviceId(id: string): boolean {
  return isValidDeviceId(id) && !isReservedDeviceId(id);
}

/** Case-insensitive, so `Central-1` cannot pass for one of central's clients in a log or a portal. */
export function isReservedDeviceId(id: string): boolean {
  return id.slice(0, RESERVED_DEVICE_ID_PREFIX.length).toLowerCase() === RESERVED_DEVICE_ID_PREFIX;
}

/** The device id a certificate names (CN, with OU `devices`), or undefined. Never throws; no trust implied. */
export function deviceIdFromCertificate(cert: string | Uint8Array | undefined): string | undefined {
  const identity = certificateIdentity(cert);
  return identity?.kind === 'device' ? identity.deviceId : undefined;
}

/**
 * Who a client certificate says it is: a device, central's ingest client, or nobody we know.
 * Accepts PEM or DER (`tlsSocket.getPeerCertificate().raw`). One parse, never throws, and does
 * not check the signature: call it only on a peer TLS has already verified against the CA.
 * A subject with more than one CN or OU is rejected rather than guessed at.
 */
export function certificateIdentity(cert: string | Uint8Array | undefined): CertificateIdentity | undefined {
  const subject = subjectOf(cert);
  if (subject === undefined) return undefined;
  const cn = subjectField(subject, 'CN');
  const ou = subjectField(subject, 'OU');
  if (cn === undefined || ou === undefined) return undefined;
  if (ou === OU_DEVICES) return isIssuableDeviceId(cn) ? { kind: 'device', deviceId: cn } : undefined;
  if (ou === OU_CENTRAL && cn === INGEST_CLIENT_CN) return { kind: 'ingest' };
  return undefined;
}

/** SHA-256 of the DER, upper-case hex pairs joined by colons (as `openssl x509 -fingerprint` prints). */
export function fingerprintSha256(cert: string | Uint8Array): string {
  return new X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert)).fingerprint256;
}

/**
 * The one value of `name` (`CN`, `OU`) in a subject as Node's `X509Certificate.subject` prints it, or
 * undefined when it is absent or repeated. Node prints one attribute per line with RFC 2253 escaping
 * and control characters escaped (`\0A`), so a value cannot forge a line, and an escaped value never
 * passes the device-id rules; a multi-valued RDN shares its line (`CN=a + OU=b`) and fails them too.
 */
export function subjectField(subject: string, name: string): string | undefined {
  const prefix = `${name}=`;
  let found: string | undefined;
  for (const field of subject.split('\n')) {
    if (!field.startsWith(prefix)) continue;
    if (found !== undefined) return undefined;
    found = field.slice(prefix.length);
  }
  return found;
}

function subjectOf(cert: string | Uint8Array | undefined): string | undefined {
  if (cert === undefined || cert.length === 0) return undefined;
  try {
    return new X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert)).subject;
  } catch {
    return undefined;
  }
}
