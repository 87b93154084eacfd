/**
 * The enrolment contract between an appliance and central's portal: what the QR code says, how a
 * device id follows from its public key, the pairing code, and the HTTP messages. Both sides import
 * this file and nothing else of each other.
 *
 * Flow: on first start the agent makes its key pair and device id, shows a QR code with
 * (device id, pairing code, key fingerprint, central URL), and registers a pending request with a
 * CSR at `POST /api/enrol/requests`. An officer scans the QR (or types the pairing code) in the
 * portal, checks the fingerprint, binds the device to a member and approves: central issues the
 * certificate. The agent polls `GET /api/enrol/requests/:deviceId` until it receives it.
 */
import { createHash, randomInt } from 'node:crypto';
import { isValidDeviceId } from '../protocol/topics.js';

export const ENROLMENT_QR_SCHEME = 'cyberalarm-enrol:';
export const ENROLMENT_VERSION = 1;

/** What the QR code encodes, also shown as text beside it. */
export interface EnrolmentQr {
  readonly deviceId: string;
  readonly pairingCode: string;
  /** SHA-256 of the device's SubjectPublicKeyInfo (DER), hex, colon-separated pairs, upper case. */
  readonly fingerprint: string;
  /** Central's enrolment base URL, e.g. `https://central.example.police.uk:8443`. */
  readonly centralUrl: string;
}

/** `cyberalarm-enrol:1?d=DEVICE&p=PAIRING&f=FINGERPRINT&u=URL` (query-encoded; short enough for a
 * version 6-8 QR code at medium error correction). */
export function formatEnrolmentQr(qr: EnrolmentQr): string {
  const query = new URLSearchParams({
    d: qr.deviceId,
    p: qr.pairingCode,
    f: qr.fingerprint.replace(/:/g, ''), // colons would be %-escaped: 93 characters for nothing
    u: qr.centralUrl,
  });
  return `${ENROLMENT_QR_SCHEME}${ENROLMENT_VERSION}?${query.toString()}`;
}

export function parseEnrolmentQr(text: string): EnrolmentQr | { error: string } {
  const prefix = `${ENROLMENT_QR_SCHEME}${ENROLMENT_VERSION}?`;
  if (!text.startsWith(prefix)) return { error: 'not a CyberAlarm enrolment code' };
  const query = new URLSearchParams(text.slice(prefix.length));
  const deviceId = query.get('d') ?? '';
  const pairingCode = normalisePairingCode(query.get('p') ?? '');
  const hex = (query.get('f') ?? '').toUpperCase();
  const centralUrl = query.get('u') ?? '';
  if (!isValidDeviceId(deviceId)) return { error: 'bad device id' };
  if (!pairingCode) return { error: 'bad pairing code' };
  if (!/^[0-9A-F]{64}$/.test(hex)) return { error: 'bad fingerprint' };
  const fingerprint = hex.match(/../g)?.join(':') ?? '';
  if (!/^https:\/\//.test(centralUrl)) return { error: 'bad central URL' };
  return { deviceId, pairingCode, fingerprint, centralUrl };
}

/** SHA-256 fingerprint of a public key (SPKI DER), as `AB:CD:...`. */
export function publicKeyFingerprint(spkiDer: Uint8Array): string {
  const hex = createHash('sha256').update(spkiDer).digest('hex').toUpperCase();
  return hex.match(/../g)?.join(':') ?? hex;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** `ca-` + 20 base32 characters (100 bits) of SHA-256(SPKI DER): stable, derived, never `central…`. */
export function deviceIdFromPublicKey(spkiDer: Uint8Array): string {
  const digest = createHash('sha256').update(spkiDer).digest();
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 20) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= 20) break;
  }
  return `ca-${out}`;
}

/** Pairing codes avoid look-alike characters (0/O, 1/I/L) so they can be read out and typed. */
export const PAIRING_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const PAIRING_CODE_LENGTH = 8;

/** 8 characters from a 31-letter alphabet: ~40 bits; guessing is also rate-limited and codes expire. */
export function newPairingCode(): string {
  let code = '';
  for (let i = 0; i < PAIRING_CODE_LENGTH; i++) code += PAIRING_ALPHABET[randomInt(PAIRING_ALPHABET.length)];
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** Accepts what a person types (lower case, spaces, missing dash); returns `XXXX-XXXX` or ''. */
export function normalisePairingCode(input: string): string {
  const letters = input.toUpperCase().replace(/[\s-]/g, '');
  if (letters.length !== PAIRING_CODE_LENGTH) return '';
  for (const c of letters) if (!PAIRING_ALPHABET.includes(c)) return '';
  return `${letters.slice(0, 4)}-${letters.slice(4)}`;
}

// ---- HTTP messages (central's portal, HTTPS; the agent pins central's CA) ----

/** `POST /api/enrol/requests` — the agent registers (idempotent for the same device and CSR). */
export interface EnrolmentRequest {
  readonly deviceId: string;
  /** PKCS#10 CSR (PEM) whose public key hashes to `deviceId`; subject CN = deviceId. */
  readonly csrPem: string;
  readonly pairingCode: string;
  readonly agentVersion: string;
}

export type EnrolmentState = 'pending' | 'approved' | 'rejected' | 'expired' | 'revoked';

/** Answer to the registration and to `GET /api/enrol/requests/:deviceId` (the agent polls it). */
export interface EnrolmentStatus {
  readonly deviceId: string;
  readonly state: EnrolmentState;
  /** Seconds the agent should wait before polling again. */
  readonly pollAfterS: number;
  /** Present once approved. */
  readonly certificatePem?: string;
  readonly caPem?: string;
  /** `mqtts://host:port` the device connects to. */
  readonly brokerUrl?: string;
  /**
   * Central's Ed25519 public key (SPKI PEM) for the intel lists it signs (protocol/intel.ts); the
   * appliance keeps it as `intel-signing.pub` beside its certificate. Absent from an older central:
   * the appliance then runs without intel lists.
   */
  readonly intelPublicKeyPem?: string;
  /** Initial configuration central hands the device (e.g. privacy defaults of its force). */
  readonly config?: Readonly<Record<string, unknown>>;
  readonly message?: string;
}

/** `POST /api/enrol/renew` over TLS with the device's current certificate: a new CSR, same key or new. */
export interface RenewalRequest {
  readonly csrPem: string;
}
