/**
 * The enrolment client: `pending → enrolled | revoked`.
 *
 * - pending: the device has its key (so its id) and a pairing code; it registers a CSR with central
 *   and polls until an officer approves. Ingest runs meanwhile: the outbox fills, nothing is lost.
 * - enrolled: `device.crt` and `ca.crt` sit next to `device.key`; the uplink runs with the broker URL
 *   central sent. The certificate is renewed over mutual TLS before it expires.
 * - revoked: central said so, or the broker refused the certificate several times in a row; the
 *   uplink is stopped. Only central's word is remembered across restarts (for that certificate): a
 *   run of broker refusals may be a broker misconfiguration, so a restart tries again.
 *
 * An identity directory that already holds a certificate (`cyberalarm-central device issue`) is
 * enrolled from the start; its device id is the certificate's CN.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-file.js';
import { ConfigError } from '../../common/config.js';
import type { Logger } from '../../common/logger.js';
import { deviceIdFromCertificate, fingerprintSha256 } from '../../provisioning/certificate-identity.js';
import {
  type EnrolmentState,
  type EnrolmentStatus,
  formatEnrolmentQr,
  newPairingCode,
} from '../../provisioning/enrolment.js';
import { backoffDelayMs } from '../uplink/backoff.js';
import type { EnrolmentApi } from './http.js';
import { type DeviceIdentity, loadIdentity } from './identity.js';
import {
  CA_FILE,
  CERT_FILE,
  certificateInfo,
  createCsr,
  deviceKeyFromPem,
  INTEL_KEY_FILE,
  isIssuedBy,
  loadOrCreateDeviceKey,
} from './keys.js';
import { BrokerRefusalWatch, type UplinkCounters } from './revocation.js';

export type DeviceEnrolmentState = 'pending' | 'enrolled' | 'revoked';

export const ENROLMENT_FILE = 'enrolment.json';

/** What the status page and `GET /api/status` show under `enrolment`. */
export interface EnrolmentView {
  readonly state: DeviceEnrolmentState;
  readonly deviceId: string;
  /** SHA-256 of the device's public key (SPKI), `AB:CD:…`. */
  readonly fingerprint: string;
  /** Central's enrolment URL ('' when the device was pre-provisioned without one). */
  readonly centralUrl: string;
  /** While pending: the code the officer may type, and the exact text of the QR code. */
  readonly pairingCode?: string;
  readonly qr?: string;
  /** What central last said about the request (pending/approved/expired/…). */
  readonly centralState?: EnrolmentState;
  /** Why the device is stuck or revoked, or central's message. */
  readonly detail?: string;
  readonly certNotAfter?: string;
  readonly brokerUrl?: string;
  readonly lastContactAt?: string;
  readonly renewedAt?: string;
  readonly revokedAt?: string;
}

/** What the uplink needs; handed over when enrolled, again after a renewal, `undefined` when revoked. */
export interface UplinkCredentials {
  readonly deviceId: string;
  readonly brokerUrl: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem: string;
}

/** `<identity>/enrolment.json`: the pairing code and what central sent besides the certificate. */
interface EnrolmentFile {
  pairingCode?: string;
  pairingCodeCreatedAt?: string;
  brokerUrl?: string;
  config?: Record<string, unknown>;
  enrolledAt?: string;
  renewedAt?: string;
  /** SHA-256 of the certificate central revoked; a newer certificate is not revoked. */
  revokedCertificate?: string;
  revokedAt?: string;
  revokedReason?: string;
}

export interface EnrolmentOptions {
  readonly identityDir: string;
  /** Central's portal base URL ('' = none: only a pre-provisioned identity works, without renewal). */
  readonly centralUrl: string;
  /** Absent when there is no centralUrl. */
  readonly api: EnrolmentApi | undefined;
  /** Broker URL for a pre-provisioned identity (central's approval names its own). */
  readonly defaultBrokerUrl: string;
  readonly agentVersion: string;
  /** Shortest wait between polls; central's `pollAfterS` may ask for longer. */
  readonly minPollMs: number;
  /** Longest wait between polls and the ceiling of the error backoff. */
  readonly maxPollMs?: number;
  /** Renew when the certificate expires within this. */
  readonly renewBeforeMs: number;
  /** How often to check whether renewal is due. */
  readonly renewCheckMs?: number;
  /** Broker refusals in a row that mean revoked. */
  readonly refusalsBeforeRevoked?: number;
  /** Starts (or restarts, after a renewal) the uplink; `undefined` stops it. */
  readonly onCredentials: (credentials: UplinkCredentials | undefined) => void;
  readonly logger: Logger;
  readonly now?: () => number;
}

const DEFAULT_MAX_POLL_MS = 10 * 60_000;
const DEFAULT_RENEW_CHECK_MS = 6 * 3600_000;
const DEFAULT_REFUSALS = 5;
const WATCH_EVERY_MS = 2000;

export class Enrolment {
  readonly deviceId: string;
  readonly fingerprint: string;
  private readonly keyPem: string;
  private state: DeviceEnrolmentState;
  private identity: DeviceIdentity | undefined;
  private file: EnrolmentFile;
  private centralState: EnrolmentState | undefined;
  private detail: string | undefined;
  private lastContactAt: string | undefined;
  private registered = false;
  private errors = 0;
  private timer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private readonly watch = new BrokerRefusalWatch();
  private uplinkStats: (() => UplinkCounters | undefined) | undefined;
  private lastRevocationCheck = 0;
  private closed = false;
  private readonly now: () => number;
  private readonly maxPollMs: number;

  constructor(private readonly options: EnrolmentOptions) {
    this.now = options.now ?? Date.now;
    this.maxPollMs = Math.max(options.minPollMs, options.maxPollMs ?? DEFAULT_MAX_POLL_MS);
    const dir = options.identityDir;
    this.file = readEnrolmentFile(dir);
    if (existsSync(join(dir, CERT_FILE))) {
      const identity = loadIdentity(dir);
      this.identity = identity;
      this.deviceId = identity.deviceId;
      this.keyPem = identity.keyPem;
      this.fingerprint = deviceKeyFromPem(identity.keyPem).fingerprint;
      const revoked =
        this.file.revokedCertificate !== undefined &&
        this.file.revokedCertificate === fingerprintSha256(identity.certPem);
      this.state = revoked ? 'revoked' : 'enrolled';
      if (revoked) this.detail = this.file.revokedReason;
    } else {
      const key = loadOrCreateDeviceKey(dir);
      this.deviceId = key.deviceId;
      this.keyPem = key.keyPem;
      this.fingerprint = key.fingerprint;
      this.state = 'pending';
      if (!this.file.pairingCode) this.newPairingCode();
    }
  }

  get current(): DeviceEnrolmentState {
    return this.state;
  }

  view(): EnrolmentView {
    const pending = this.state === 'pending';
    const pairingCode = pending ? this.file.pairingCode : undefined;
    const certNotAfter = this.identity && certificateInfo(this.identity.certPem)?.notAfter.toISOString();
    return {
      state: this.state,
      deviceId: this.deviceId,
      fingerprint: this.fingerprint,
      centralUrl: this.options.centralUrl,
      ...(pairingCode && {
        pairingCode,
        qr: formatEnrolmentQr({
          deviceId: this.deviceId,
          pairingCode,
          fingerprint: this.fingerprint,
          centralUrl: this.options.centralUrl,
        }),
      }),
      ...(this.centralState && { centralState: this.centralState }),
      ...(this.detail && { detail: this.detail }),
      ...(certNotAfter && { certNotAfter }),
      ...(this.identity && { brokerUrl: this.brokerUrl() }),
      ...(this.lastContactAt && { lastContactAt: this.lastContactAt }),
      ...(this.file.renewedAt && { renewedAt: this.file.renewedAt }),
      ...(this.state === 'revoked' && this.file.revokedAt && { revokedAt: this.file.revokedAt }),
    };
  }

  /**
   * Begins the work of the current state. `uplinkStats` reads the running uplink's counters (or
   * undefined while there is none) to notice a broker that refuses the device.
   */
  start(uplinkStats?: () => UplinkCounters | undefined): void {
    this.uplinkStats = uplinkStats;
    if (this.state === 'enrolled') this.becomeEnrolled();
    else if (this.state === 'pending') this.schedule(0);
  }

  close(): void {
    this.closed = true;
    for (const t of [this.timer, this.renewTimer]) if (t) clearTimeout(t);
    if (this.watchTimer) clearInterval(this.watchTimer);
  }

  // ---- pending: register, poll ----

  private schedule(delayMs: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pendingStep().then(
        (next) => {
          if (next !== undefined) this.schedule(next);
        },
        (err: Error) => {
          // A bug, not central's answer: say so on the page and keep trying.
          this.options.logger.error({ err }, 'enrolment step failed');
          this.detail = err.message;
          this.schedule(this.backoff());
        },
      );
    }, delayMs);
  }

  /** One register or poll; returns the delay before the next, or undefined when pending is over. */
  private async pendingStep(): Promise<number | undefined> {
    const api = this.options.api;
    if (this.closed || this.state !== 'pending' || !api) return undefined;
    const result = this.registered
      ? await api.poll(this.deviceId)
      : await api.register({
          deviceId: this.deviceId,
          csrPem: await this.csr(),
          pairingCode: this.file.pairingCode ?? '',
          agentVersion: this.options.agentVersion,
        });
    if (this.closed) return undefined;
    if (!result.ok) {
      if (this.registered && result.httpStatus === 404) {
        // Central no longer knows the request (wiped, or purged): register again.
        this.registered = false;
        this.detail = 'central has no request for this device; registering again';
        return this.options.minPollMs;
      }
      this.detail = `cannot reach central: ${result.error}`;
      this.options.logger.warn({ error: result.error }, 'enrolment request failed');
      return this.backoff();
    }
    const status = result.status;
    if (status.deviceId !== this.deviceId) {
      this.detail = `central answered for another device (${status.deviceId})`;
      return this.backoff();
    }
    this.errors = 0;
    this.lastContactAt = new Date(this.now()).toISOString();
    this.centralState = status.state;
    this.detail = status.message;
    switch (status.state) {
      case 'pending':
        this.registered = true;
        return this.pollDelay(status);
      case 'approved': {
        const problem = await this.install(status, 'approval');
        if (problem === undefined) return undefined;
        this.detail = `central's approval was not usable: ${problem}`;
        this.options.logger.error({ problem }, 'enrolment approval refused');
        return this.backoff();
      }
      case 'expired':
      case 'rejected':
        // A fresh code and a fresh request: the QR on the page changes, the officer scans again.
        this.newPairingCode();
        this.registered = false;
        this.detail =
          status.state === 'expired'
            ? 'the pairing code expired; a new one is shown'
            : `central refused the request${status.message ? `: ${status.message}` : ''}; a new code is shown`;
        return status.state === 'expired' ? 0 : this.pollDelay(status);
      case 'revoked':
        this.revoke(`central revoked this device${status.message ? `: ${status.message}` : ''}`, true);
        return undefined;
    }
  }

  private pollDelay(status: EnrolmentStatus): number {
    const asked = Math.max(0, status.pollAfterS) * 1000;
    return Math.min(this.maxPollMs, Math.max(this.options.minPollMs, asked));
  }

  private backoff(): number {
    this.errors++;
    return backoffDelayMs(this.errors - 1, this.options.minPollMs, this.maxPollMs);
  }

  private newPairingCode(): void {
    this.file.pairingCode = newPairingCode();
    this.file.pairingCodeCreatedAt = new Date(this.now()).toISOString();
    this.saveFile();
  }

  private csr(): Promise<string> {
    return createCsr(this.keyPem, this.deviceId);
  }

  // ---- approval and renewal: check what central sent, then write it ----

  /** Returns undefined when installed, or why the answer cannot be used. */
  private async install(status: EnrolmentStatus, kind: 'approval' | 'renewal'): Promise<string | undefined> {
    const certPem = status.certificatePem;
    const caPem = status.caPem ?? this.identity?.caPem;
    const brokerUrl = status.brokerUrl ?? (kind === 'renewal' ? this.brokerUrl() : undefined);
    if (!certPem) return 'no certificate';
    if (!caPem) return 'no CA certificate';
    if (!brokerUrl || !/^mqtts?:\/\/[^\s]+$/.test(brokerUrl))
      return `broker URL ${JSON.stringify(brokerUrl)} is not mqtts://host:port`;
    const info = certificateInfo(certPem);
    if (!info) return 'the certificate does not parse';
    // The same check the next start makes (loadIdentity): CN = device id, OU = devices.
    if (deviceIdFromCertificate(certPem) !== this.deviceId)
      return `the certificate names ${info.commonName ?? 'nobody'}, not device ${this.deviceId} (OU devices)`;
    if (info.fingerprint !== this.fingerprint) return "the certificate is not for this device's key";
    if (info.notAfter.getTime() <= this.now()) return 'the certificate has expired';
    if (!(await isIssuedBy(certPem, caPem))) return 'the certificate is not signed by the CA central sent';
    const intelKeyPem = status.intelPublicKeyPem;
    if (intelKeyPem !== undefined && !isEd25519PublicKey(intelKeyPem))
      return 'the intel public key central sent is not an Ed25519 public key';
    const dir = this.options.identityDir;
    // ca.crt and enrolment.json first, device.crt last: a device.crt on disk means "enrolled" at the
    // next start, so it must never be there without what goes with it.
    writeFileAtomic(join(dir, CA_FILE), caPem, 0o644);
    // An older central sends no key: the appliance then runs without intel lists (and says so).
    if (intelKeyPem !== undefined) writeFileAtomic(join(dir, INTEL_KEY_FILE), intelKeyPem, 0o644);
    const at = new Date(this.now()).toISOString();
    this.file.brokerUrl = brokerUrl;
    if (status.config) this.file.config = { ...status.config };
    if (kind === 'approval') this.file.enrolledAt = at;
    else this.file.renewedAt = at;
    this.saveFile();
    writeFileAtomic(join(dir, CERT_FILE), certPem, 0o644);
    this.identity = { deviceId: this.deviceId, certPem, keyPem: this.keyPem, caPem };
    this.options.logger.info(
      { deviceId: this.deviceId, notAfter: info.notAfter, kind },
      'certificate installed',
    );
    if (kind === 'approval') {
      this.detail = undefined;
      this.becomeEnrolled();
    } else {
      this.watch.reset();
      this.options.onCredentials(this.credentials());
    }
    return undefined;
  }

  private becomeEnrolled(): void {
    this.state = 'enrolled';
    this.watch.reset();
    this.options.onCredentials(this.credentials());
    this.scheduleRenewal(0);
    if (this.uplinkStats && !this.watchTimer) {
      this.watchTimer = setInterval(() => this.checkUplink(), WATCH_EVERY_MS);
      this.watchTimer.unref();
    }
  }

  private credentials(): UplinkCredentials {
    const identity = this.identity!;
    return {
      deviceId: this.deviceId,
      brokerUrl: this.brokerUrl(),
      certPem: identity.certPem,
      keyPem: identity.keyPem,
      caPem: identity.caPem,
    };
  }

  private brokerUrl(): string {
    return this.file.brokerUrl ?? this.options.defaultBrokerUrl;
  }

  private scheduleRenewal(delayMs: number): void {
    if (this.closed) return;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(() => {
      this.renewIfDue().then(
        (next) => this.scheduleRenewal(next),
        (err: Error) => {
          this.options.logger.error({ err }, 'renewal check failed');
          this.scheduleRenewal(this.options.renewCheckMs ?? DEFAULT_RENEW_CHECK_MS);
        },
      );
    }, delayMs);
    this.renewTimer.unref();
  }

  /** Renews when due; returns when to check again. */
  async renewIfDue(): Promise<number> {
    const checkMs = this.options.renewCheckMs ?? DEFAULT_RENEW_CHECK_MS;
    const api = this.options.api;
    const identity = this.identity;
    if (this.state !== 'enrolled' || !identity) return checkMs;
    const info = certificateInfo(identity.certPem);
    if (!info || info.notAfter.getTime() - this.now() > this.options.renewBeforeMs) return checkMs;
    if (!api) {
      this.detail = 'the certificate expires soon and enrolmentUrl is not set, so it cannot be renewed';
      return checkMs;
    }
    const result = await api.renew(
      { csrPem: await this.csr() },
      { certPem: identity.certPem, keyPem: identity.keyPem },
    );
    // Retry sooner than the regular check: the certificate is running out.
    const retryMs = Math.min(checkMs, 15 * 60_000);
    if (!result.ok) {
      this.detail = `certificate renewal failed: ${result.error}`;
      this.options.logger.warn({ error: result.error }, 'certificate renewal failed');
      return retryMs;
    }
    this.lastContactAt = new Date(this.now()).toISOString();
    if (result.status.state === 'revoked') {
      this.revoke(
        `central revoked this device${result.status.message ? `: ${result.status.message}` : ''}`,
        true,
      );
      return checkMs;
    }
    if (result.status.state !== 'approved') {
      this.detail = `certificate renewal: central answered ${result.status.state}`;
      return retryMs;
    }
    const problem = await this.install(result.status, 'renewal');
    if (problem !== undefined) {
      this.detail = `central's renewal was not usable: ${problem}`;
      return retryMs;
    }
    this.detail = undefined;
    return checkMs;
  }

  // ---- revoked ----

  /** Reads the uplink counters: refusals in a row mean revoked; other failures in a row make the
   * device ask central (if it can) whether it was revoked. */
  checkUplink(): void {
    if (this.state !== 'enrolled') return;
    const stats = this.uplinkStats?.();
    if (!stats) return;
    const threshold = this.options.refusalsBeforeRevoked ?? DEFAULT_REFUSALS;
    const verdict = this.watch.observe(stats);
    if (verdict.refusals >= threshold) {
      this.revoke(
        `the broker refused this device's certificate ${verdict.refusals} times in a row (${stats.lastError})`,
        false,
      );
      return;
    }
    const api = this.options.api;
    if (api && verdict.failures >= threshold && this.now() - this.lastRevocationCheck > this.maxPollMs) {
      this.lastRevocationCheck = this.now();
      api.poll(this.deviceId).then(
        (result) => {
          if (result.ok && result.status.state === 'revoked' && this.state === 'enrolled')
            this.revoke('central revoked this device', true);
        },
        () => undefined,
      );
    }
  }

  /** `confirmed`: central said so (remembered for this certificate across restarts). */
  revoke(reason: string, confirmed: boolean): void {
    if (this.state === 'revoked') return;
    this.state = 'revoked';
    this.detail = reason;
    this.file.revokedAt = new Date(this.now()).toISOString();
    this.file.revokedReason = reason;
    if (confirmed && this.identity) {
      this.file.revokedCertificate = fingerprintSha256(this.identity.certPem);
    }
    this.saveFile();
    if (this.timer) clearTimeout(this.timer);
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.options.logger.warn({ deviceId: this.deviceId, reason }, 'device revoked');
    this.options.onCredentials(undefined);
  }

  private saveFile(): void {
    writeFileAtomic(
      join(this.options.identityDir, ENROLMENT_FILE),
      `${JSON.stringify(this.file, null, 2)}\n`,
      0o600,
    );
  }
}

function readEnrolmentFile(dir: string): EnrolmentFile {
  try {
    const value = JSON.parse(readFileSync(join(dir, ENROLMENT_FILE), 'utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as EnrolmentFile)
      : {};
  } catch {
    return {};
  }
}

/**
 * Checks the enrolment settings against the identity directory before anything starts: returns the
 * pinned CA (PEM) when enrolment or renewal is configured. Throws ConfigError naming the key.
 */
export function enrolmentSettings(
  config: { enrolmentUrl: string; centralCaFile: string },
  identityDir: string,
): { centralUrl: string; pinnedCaPem: string | undefined } {
  const hasCertificate = existsSync(join(identityDir, CERT_FILE));
  const url = config.enrolmentUrl.replace(/\/+$/, '');
  if (url === '' && !hasCertificate) {
    throw new ConfigError(
      `config key "enrolmentUrl" (--enrolment-url) is required: ${join(identityDir, CERT_FILE)} does not exist, ` +
        "so the agent must enrol with central; set enrolmentUrl to central's portal (https://host:port) and " +
        'centralCaFile to its CA certificate, or pre-provision an identity with `cyberalarm-central device issue`',
    );
  }
  if (url === '') return { centralUrl: '', pinnedCaPem: undefined };
  if (config.centralCaFile === '') {
    throw new ConfigError(
      'config key "centralCaFile" (--central-ca-file) is required with enrolmentUrl: the CA certificate ' +
        'enrolment TLS is pinned to',
    );
  }
  let pem: string;
  try {
    pem = readFileSync(config.centralCaFile, 'utf8');
  } catch (err) {
    throw new ConfigError(`config key "centralCaFile" (--central-ca-file): ${(err as Error).message}`);
  }
  if (!certificateInfo(pem)) {
    throw new ConfigError(
      `config key "centralCaFile" (--central-ca-file): ${config.centralCaFile} holds no PEM certificate`,
    );
  }
  return { centralUrl: url, pinnedCaPem: pem };
}

function isEd25519PublicKey(pem: string): boolean {
  try {
    const key = createPublicKey(pem);
    return key.type === 'public' && key.asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
}
