/**
 * Central's CA and certificates on disk: the CA, central's TLS server and ingest client
 * certificates, and the identity directory `cyberalarm-central device issue` writes for an appliance
 * that does not enrol by QR. Only central runs this (the appliance makes its own key: appliance/enrol/).
 * Private keys are 0600 and directories this module creates are 0700. Every file is written to a
 * temporary sibling and renamed into place, so a crash never leaves a half-written PEM and a
 * pre-existing key file with looser permissions is replaced, not reused.
 */

import { createPrivateKey, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-file.js';
import {
  ALWAYS_DNS_NAMES,
  ALWAYS_IPS,
  type CertificateAuthority,
  caFromPem,
  certificateIdentity,
  createCa,
  type IssuedCertificate,
  issueDeviceCertificate,
  issueIngestCertificate,
  issueServerCertificate,
  normaliseIp,
  subjectAltNames,
} from '../../provisioning/ca.js';
import { x509 } from '../../provisioning/x509.js';

export const CA_CERT_FILE = 'ca.crt';
export const CA_KEY_FILE = 'ca.key';
/** The ingest CA signs only central's ingest certificate. Mosquitto's worker listener trusts it and
 * nothing else, so a device certificate (device CA) cannot connect there; the device listener trusts
 * only the device CA, so the ingest certificate cannot connect as a device either. */
export const INGEST_CA_CERT_FILE = 'ingest-ca.crt';
export const INGEST_CA_KEY_FILE = 'ingest-ca.key';
const INGEST_CA_COMMON_NAME = 'CyberAlarm central ingest CA';
export const DEVICE_CERT_FILE = 'device.crt';
export const DEVICE_KEY_FILE = 'device.key';
/** Certificates are renewed when they would expire within this many days. */
export const RENEW_BEFORE_DAYS = 30;

const PRIVATE_FILE_MODE = 0o600;
const PUBLIC_FILE_MODE = 0o644;
const PRIVATE_DIR_MODE = 0o700;
const DAY_MS = 86_400_000;

export interface DeviceIdentityFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

export interface DevPkiFiles {
  readonly caCert: string;
  readonly caKey: string;
  /** Issuer of `ingestCert` only (see INGEST_CA_CERT_FILE). */
  readonly ingestCaCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly ingestCert: string;
  readonly ingestKey: string;
}

/** Loads `<dir>/ca.crt` + `<dir>/ca.key` (or the given names), or creates both when neither exists. */
export async function loadOrCreateCa(
  dir: string,
  names: { certFile: string; keyFile: string; commonName?: string } = {
    certFile: CA_CERT_FILE,
    keyFile: CA_KEY_FILE,
  },
): Promise<CertificateAuthority> {
  const certFile = resolve(dir, names.certFile);
  const keyFile = resolve(dir, names.keyFile);
  const haveCert = existsSync(certFile);
  const haveKey = existsSync(keyFile);
  if (haveCert && haveKey) return caFromPem(readFileSync(certFile, 'utf8'), readFileSync(keyFile, 'utf8'));
  if (haveCert !== haveKey) {
    const [present, missing] = haveCert ? [certFile, keyFile] : [keyFile, certFile];
    // Never overwrite half a CA: every certificate it issued would silently stop verifying.
    throw new Error(
      `CA is incomplete: ${present} exists but ${missing} does not. Restore the missing file, ` +
        `or remove ${present} to create a new CA (every certificate issued by the old one stops working).`,
    );
  }
  makePrivateDir(dirname(certFile));
  const ca = await createCa(names.commonName ? { commonName: names.commonName } : {});
  // Key first: if we stop between the two writes the next start reports an incomplete CA instead of
  // minting a second one under a certificate nobody can sign with.
  writePrivateFile(keyFile, ca.keyPem);
  writePublicFile(certFile, ca.certPem);
  return ca;
}

/**
 * Issues a device certificate and writes the agent's identity directory (device.crt/.key, ca.crt).
 * `record` runs between signing and writing: central records every certificate its CA signs (so it
 * can be revoked and listed on the CRL), and an identity whose record failed is never written.
 */
export async function writeDeviceIdentity(
  dir: string,
  deviceId: string,
  ca: CertificateAuthority,
  record?: (issued: IssuedCertificate) => Promise<void>,
): Promise<DeviceIdentityFiles> {
  const issued = await issueDeviceCertificate(ca, deviceId);
  await record?.(issued);
  const files: DeviceIdentityFiles = {
    certFile: resolve(dir, DEVICE_CERT_FILE),
    keyFile: resolve(dir, DEVICE_KEY_FILE),
    caFile: resolve(dir, CA_CERT_FILE),
  };
  makePrivateDir(resolve(dir));
  writeIssued(files.certFile, files.keyFile, issued);
  writePublicFile(files.caFile, ca.certPem);
  return files;
}

/**
 * Central's development PKI under `dataDir`: the CA (`ca/`), the TLS server certificate and the ingest
 * client certificate (`tls/`). Creates what is missing and replaces a certificate that was not issued
 * by this CA, does not match its key, expires within 30 days or (server) lacks a requested name.
 * Otherwise nothing is written, so a second call is a few file reads.
 */
export async function initDevCa(
  dataDir: string,
  names: { hostnames: readonly string[]; ips: readonly string[] },
): Promise<DevPkiFiles> {
  const root = resolve(dataDir);
  const caDir = join(root, 'ca');
  const tlsDir = join(root, 'tls');
  const files: DevPkiFiles = {
    caCert: join(caDir, CA_CERT_FILE),
    caKey: join(caDir, CA_KEY_FILE),
    ingestCaCert: join(caDir, INGEST_CA_CERT_FILE),
    serverCert: join(tlsDir, 'server.crt'),
    serverKey: join(tlsDir, 'server.key'),
    ingestCert: join(tlsDir, 'ingest.crt'),
    ingestKey: join(tlsDir, 'ingest.key'),
  };
  const wantedDns = [...names.hostnames.map((h) => h.trim().toLowerCase()), ...ALWAYS_DNS_NAMES];
  const wantedIps = [...names.ips, ...ALWAYS_IPS].map(normaliseIp);

  const ca = await loadOrCreateCa(caDir);
  const caCert = new NodeX509Certificate(ca.certPem);
  makePrivateDir(tlsDir);

  const server = readUsable(files.serverCert, files.serverKey, caCert);
  const serverHasNames =
    server !== undefined &&
    (() => {
      const san = subjectAltNames(server);
      return (
        wantedDns.every((n) => san.dnsNames.includes(n)) && wantedIps.every((ip) => san.ips.includes(ip))
      );
    })();
  if (!serverHasNames) {
    writeIssued(
      files.serverCert,
      files.serverKey,
      await issueServerCertificate(ca, { hostnames: names.hostnames, ips: names.ips }),
    );
  }

  // An ingest certificate from the device CA (written before the ingest CA existed) is reissued:
  // Mosquitto's worker listener no longer trusts it. Workers need the new tls/ingest.crt + .key.
  const ingestCa = await loadOrCreateCa(caDir, {
    certFile: INGEST_CA_CERT_FILE,
    keyFile: INGEST_CA_KEY_FILE,
    commonName: INGEST_CA_COMMON_NAME,
  });
  const ingest = readUsable(files.ingestCert, files.ingestKey, new NodeX509Certificate(ingestCa.certPem));
  if (ingest === undefined || certificateIdentity(ingest)?.kind !== 'ingest') {
    writeIssued(files.ingestCert, files.ingestKey, await issueIngestCertificate(ingestCa));
  }
  return files;
}

/**
 * The certificate PEM when the pair on disk is worth keeping: both files readable, issued and signed
 * by `caCert`, key matches, not expiring within RENEW_BEFORE_DAYS. Anything else means "reissue".
 */
function readUsable(certFile: string, keyFile: string, caCert: NodeX509Certificate): string | undefined {
  try {
    const certPem = readFileSync(certFile, 'utf8');
    const cert = new NodeX509Certificate(certPem);
    if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return undefined;
    if (!cert.checkPrivateKey(createPrivateKey(readFileSync(keyFile, 'utf8')))) return undefined;
    const notAfter = new x509.X509Certificate(certPem).notAfter.getTime();
    if (notAfter - Date.now() < RENEW_BEFORE_DAYS * DAY_MS) return undefined;
    return certPem;
  } catch {
    return undefined;
  }
}

function writeIssued(certFile: string, keyFile: string, issued: IssuedCertificate): void {
  writePrivateFile(keyFile, issued.keyPem);
  writePublicFile(certFile, issued.certPem);
}

function makePrivateDir(dir: string): void {
  // Only directories created here get 0700; an existing directory (say, the operator's --out) is theirs.
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

function writePrivateFile(path: string, data: string): void {
  writeFileAtomic(path, data, PRIVATE_FILE_MODE);
}

function writePublicFile(path: string, data: string): void {
  writeFileAtomic(path, data, PUBLIC_FILE_MODE);
}
