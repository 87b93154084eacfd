/**
 * Central's side of the enrolment contract (provisioning/enrolment.ts): devices register a CSR with
 * a pairing code and poll; officers find a pending request by QR or typed code, bind it to a member
 * of their own force and approve (a certificate is issued) or reject; officers or the CLI revoke;
 * enrolled devices renew with their current certificate.
 *
 * Every method returns a value: `{ ok: true, ... }` or `{ ok: false, code, message }`, where `code`
 * maps onto an HTTP status in the portal. Hostile input never throws. Every decision is audit-logged.
 *
 * Force isolation: a request is unbound until approval binds it to a member. An officer may look at,
 * approve, reject or revoke a device only when it is unbound or bound to a member of their force; a
 * member chosen for approval must be in their force. Anything else is refused (403) and logged.
 */
import { createHash, X509Certificate as NodeX509Certificate, randomBytes } from 'node:crypto';
import { isValidDeviceId } from '../../protocol/topics.js';
import {
  type CertificateAuthority,
  type DeviceCsr,
  isIssuableDeviceId,
  issueDeviceCertificateFromCsr,
  parseDeviceCsr,
} from '../../provisioning/ca.js';
import { certificateIdentity } from '../../provisioning/certificate-identity.js';
import {
  deviceIdFromPublicKey,
  type EnrolmentState,
  type EnrolmentStatus,
  normalisePairingCode,
  parseEnrolmentQr,
  publicKeyFingerprint,
} from '../../provisioning/enrolment.js';
import { x509 } from '../../provisioning/x509.js';
import type { Officer } from '../officers/officers.js';
import { type AuditEntry, audit, deviceActor, officerActor, recentCount } from '../store/audit.js';
import type { Database, Queryable } from '../store/db.js';

export type FailureCode =
  | 'bad_request'
  | 'not_found'
  | 'forbidden'
  | 'rate_limited'
  | 'expired'
  | 'used'
  | 'conflict';

export type Failure = { readonly ok: false; readonly code: FailureCode; readonly message: string };
export type Result<T> = ({ readonly ok: true } & T) | Failure;

export const HTTP_STATUS: Readonly<Record<FailureCode, number>> = {
  bad_request: 400,
  not_found: 404,
  forbidden: 403,
  rate_limited: 429,
  expired: 410,
  used: 410,
  conflict: 409,
};

export interface EnrolmentLimits {
  /** Failed pairing-code lookups (per officer, and per address) within `lookupWindowMs`… */
  readonly lookupMaxFailures: number;
  /** …after which further lookups are answered 429 until the window has moved on. */
  readonly lookupWindowMs: number;
}

export const DEFAULT_ENROLMENT_LIMITS: EnrolmentLimits = {
  lookupMaxFailures: 10,
  lookupWindowMs: 15 * 60_000,
};

export interface EnrolmentServiceOptions {
  readonly db: Database;
  readonly ca: CertificateAuthority;
  /** `mqtts://host:port` handed to approved devices; a function gets the host name the device used to
   * reach the portal (the broker usually lives on the same name). */
  readonly brokerUrl: string | ((portalHost: string) => string);
  readonly pairingTtlMs: number;
  /** Central's intel signing public key (SPKI PEM), handed to approved devices with the CA. */
  readonly intelPublicKeyPem?: string;
  readonly pollAfterS?: number;
  readonly limits?: EnrolmentLimits;
  /** Runs after a revocation is committed: refuse the device at the broker, rewrite the CRL. */
  readonly onRevoked?: (deviceId: string) => Promise<void> | void;
  readonly now?: () => Date;
}

/** What an officer sees of a request after a successful lookup. */
export interface RequestView {
  readonly deviceId: string;
  readonly fingerprint: string;
  readonly state: EnrolmentState;
  readonly createdAt: Date;
  readonly ageS: number;
  readonly agentVersion: string;
  /** The pairing code the officer proved knowledge of; the approve form sends it back. */
  readonly pairingCode: string;
}

export type MemberChoice =
  | { readonly memberId: string }
  | { readonly name: string; readonly sector: string; readonly contact: string };

export interface DeviceRow {
  readonly deviceId: string;
  readonly state: EnrolmentState;
  readonly memberId: string;
  readonly memberName: string;
  readonly approvedAt: Date | null;
  readonly approvedBy: string | null;
  readonly certificateNotAfter: Date | null;
  readonly lastSeen: Date | null;
}

export interface MemberRow {
  readonly memberId: string;
  readonly name: string;
  readonly sector: string | null;
  readonly contact: string | null;
}

interface RequestRow {
  device_id: string;
  csr_pem: string;
  public_key_fingerprint: string;
  pairing_code_hash: string | null;
  state: EnrolmentState;
  agent_version: string;
  created_at: Date;
  expires_at: Date;
  member_id: string | null;
  member_force_id: string | null;
}

const REQUEST_COLUMNS = `r.device_id, r.csr_pem, r.public_key_fingerprint, r.pairing_code_hash, r.state,
  r.agent_version, r.created_at, r.expires_at, r.member_id, m.force_id AS member_force_id`;

const MAX_AGENT_VERSION = 64;
const MAX_MEMBER_FIELD = 200;

/** SHA-256 of the normalised code with a domain prefix (see migration 005 for why no salt). */
export function pairingCodeHash(code: string): string {
  return createHash('sha256').update(`cyberalarm-pairing:${code}`).digest('hex');
}

const fail = (code: FailureCode, message: string): Failure => ({ ok: false, code, message });

export class EnrolmentService {
  private readonly db: Database;
  private readonly limits: EnrolmentLimits;
  private readonly now: () => Date;
  private readonly pollAfterS: number;

  constructor(private readonly options: EnrolmentServiceOptions) {
    this.db = options.db;
    this.limits = options.limits ?? DEFAULT_ENROLMENT_LIMITS;
    this.now = options.now ?? (() => new Date());
    this.pollAfterS = options.pollAfterS ?? 15;
  }

  // ---------------------------------------------------------------- device side

  /** `POST /api/enrol/requests`: idempotent for the same device, key and pairing code. */
  async register(
    body: unknown,
    ip: string,
    portalHost = 'localhost',
  ): Promise<Result<{ created: boolean; status: EnrolmentStatus }>> {
    if (typeof body !== 'object' || body === null) return fail('bad_request', 'expected a JSON object');
    const { deviceId, csrPem, pairingCode, agentVersion } = body as Record<string, unknown>;
    if (typeof deviceId !== 'string' || !isValidDeviceId(deviceId) || !isIssuableDeviceId(deviceId)) {
      return fail('bad_request', 'deviceId is not a valid device id');
    }
    if (typeof csrPem !== 'string') return fail('bad_request', 'csrPem must be a PEM string');
    const code = typeof pairingCode === 'string' ? normalisePairingCode(pairingCode) : '';
    if (!code) return fail('bad_request', 'pairingCode is not a pairing code');
    const version = typeof agentVersion === 'string' ? agentVersion.slice(0, MAX_AGENT_VERSION) : '';
    const checked = await checkEnrolmentCsr(csrPem, deviceId);
    if ('error' in checked) {
      await audit(this.db, {
        actor: deviceActor(deviceId),
        action: 'enrolment.refused',
        subject: deviceId,
        ip,
        detail: { reason: checked.error },
      });
      return fail('bad_request', checked.error);
    }
    const now = this.now();
    const fingerprint = publicKeyFingerprint(checked.spkiDer);
    const codeHash = pairingCodeHash(code);
    const expiresAt = new Date(now.getTime() + this.options.pairingTtlMs);
    const outcome = await this.db.transaction(async (tx) => {
      const rows = await tx.query<RequestRow>(
        `SELECT ${REQUEST_COLUMNS} FROM enrolment_requests r LEFT JOIN members m USING (member_id)
          WHERE r.device_id = $1 FOR UPDATE OF r`,
        [deviceId],
      );
      const row = rows[0];
      const entry: AuditEntry = {
        actor: deviceActor(deviceId),
        action: 'enrolment.requested',
        subject: deviceId,
        forceId: row?.member_force_id ?? undefined,
        ip,
        at: now,
        detail: { fingerprint, agentVersion: version },
      };
      if (!row) {
        await tx.query(
          `INSERT INTO enrolment_requests (device_id, csr_pem, public_key_fingerprint, pairing_code_hash, state,
             agent_version, created_at, updated_at, expires_at)
           VALUES ($1, $2, $3, $4, 'pending', $5, $6, $6, $7)`,
          [deviceId, csrPem, fingerprint, codeHash, version, now, expiresAt],
        );
        await audit(tx, entry);
        return 'created' as const;
      }
      const live = row.state === 'pending' && row.expires_at > now;
      if (live && row.pairing_code_hash === codeHash && row.csr_pem === csrPem) return 'unchanged' as const;
      // An expired code stays dead: a device re-registering with it (restarted after expiry) is told
      // `expired` and must show a new code; refreshing would bring the old one back to life.
      if (!live && row.pairing_code_hash === codeHash) return 'unchanged' as const;
      if (live || row.state === 'expired' || row.state === 'pending') {
        // The CSR proved the key, so only the device itself can refresh its own request: a new code
        // (the agent restarted) or an expired request starts a fresh pending period.
        await tx.query(
          `UPDATE enrolment_requests SET csr_pem = $2, public_key_fingerprint = $3, pairing_code_hash = $4,
             state = 'pending', agent_version = $5, updated_at = $6, expires_at = $7,
             created_at = CASE WHEN $8 THEN created_at ELSE $6 END
           WHERE device_id = $1`,
          [deviceId, csrPem, fingerprint, codeHash, version, now, expiresAt, live],
        );
        await audit(tx, { ...entry, detail: { ...entry.detail, refreshed: live ? 'new code' : 'expired' } });
        return 'updated' as const;
      }
      return 'unchanged' as const; // approved, rejected or revoked: the poll answer says which
    });
    const status = await this.status(deviceId, portalHost);
    if (!status) return fail('not_found', 'request vanished');
    return { ok: true, created: outcome === 'created', status };
  }

  /** `GET /api/enrol/requests/:deviceId`. */
  async status(deviceId: string, portalHost = 'localhost'): Promise<EnrolmentStatus | undefined> {
    if (!isValidDeviceId(deviceId)) return undefined;
    const rows = await this.db.query<RequestRow>(
      `SELECT ${REQUEST_COLUMNS} FROM enrolment_requests r LEFT JOIN members m USING (member_id)
        WHERE r.device_id = $1`,
      [deviceId],
    );
    const row = rows[0];
    if (!row) return undefined;
    const base = { deviceId, pollAfterS: this.pollAfterS };
    if (row.state === 'pending' && row.expires_at <= this.now()) {
      return {
        ...base,
        state: 'expired',
        message: 'pairing code expired: restart enrolment on the appliance',
      };
    }
    if (row.state === 'approved') {
      const cert = await this.currentCertificate(deviceId);
      if (!cert) return { ...base, state: 'pending', message: 'approved; certificate not issued yet' };
      return {
        ...base,
        state: 'approved',
        certificatePem: cert,
        caPem: this.options.ca.certPem,
        brokerUrl: this.brokerUrl(portalHost),
        ...this.intelKey(),
        config: { memberId: row.member_id, forceId: row.member_force_id },
      };
    }
    const messages: Partial<Record<EnrolmentState, string>> = {
      pending: 'waiting for an officer to approve',
      expired: 'pairing code expired: restart enrolment on the appliance',
      rejected: 'enrolment was rejected by an officer',
      revoked: 'this device has been revoked',
    };
    return { ...base, state: row.state, ...(messages[row.state] ? { message: messages[row.state] } : {}) };
  }

  /**
   * `POST /api/enrol/renew`: the caller has presented `serialNumber`, a certificate TLS verified
   * against our CA and naming `deviceId`. It must be one we issued and have not revoked.
   */
  async renew(
    deviceId: string,
    serialNumber: string,
    body: unknown,
    ip: string,
    portalHost = 'localhost',
  ): Promise<Result<{ status: EnrolmentStatus }>> {
    const serial = serialNumber.toLowerCase();
    const refuse = async (code: FailureCode, message: string): Promise<Failure> => {
      await audit(this.db, {
        actor: deviceActor(deviceId),
        action: 'certificate.renewal_refused',
        subject: deviceId,
        ip,
        detail: { reason: message, serial },
      });
      return fail(code, message);
    };
    const certs = await this.db.query<{
      revoked_at: Date | null;
      state: EnrolmentState;
      force_id: string | null;
    }>(
      `SELECT c.revoked_at, r.state, m.force_id FROM certificates c
         JOIN enrolment_requests r USING (device_id) LEFT JOIN members m ON m.member_id = r.member_id
        WHERE c.serial = $1 AND c.device_id = $2`,
      [serial, deviceId],
    );
    const cert = certs[0];
    if (!cert) return refuse('forbidden', 'certificate was not issued by enrolment');
    if (cert.revoked_at !== null || cert.state !== 'approved')
      return refuse('forbidden', 'device is revoked');
    const csrPem = (body as { csrPem?: unknown } | null)?.csrPem;
    if (typeof csrPem !== 'string') return refuse('bad_request', 'csrPem must be a PEM string');
    const csr = await parseDeviceCsr(csrPem);
    if ('error' in csr) return refuse('bad_request', csr.error);
    // The contract allows a new key on renewal: the current certificate, not the key, is the proof.
    if (csr.commonName !== deviceId) return refuse('bad_request', 'CSR subject CN must be the device id');
    const issued = await issueDeviceCertificateFromCsr(this.options.ca, csr, deviceId);
    const now = this.now();
    await this.db.transaction(async (tx) => {
      await this.recordCertificate(tx, deviceId, issued, now);
      await audit(tx, {
        actor: deviceActor(deviceId),
        action: 'certificate.renewed',
        subject: deviceId,
        forceId: cert.force_id ?? undefined,
        ip,
        at: now,
        detail: {
          previousSerial: serial,
          serial: issued.serialNumber,
          notAfter: issued.notAfter.toISOString(),
          fingerprint: publicKeyFingerprint(csr.spkiDer),
        },
      });
    });
    return {
      ok: true,
      status: {
        deviceId,
        state: 'approved',
        pollAfterS: this.pollAfterS,
        certificatePem: issued.certPem,
        caPem: this.options.ca.certPem,
        brokerUrl: this.brokerUrl(portalHost),
        ...this.intelKey(),
      },
    };
  }

  // ---------------------------------------------------------------- officer side

  /** Finds a pending request from a scanned QR text or a typed pairing code. */
  async lookup(
    officer: Officer,
    query: { readonly qr?: string | undefined; readonly pairingCode?: string | undefined },
    ip: string,
  ): Promise<Result<{ request: RequestView }>> {
    const limited = await this.rateLimited(officer, ip);
    if (limited) return limited;
    let deviceId: string | undefined;
    let code: string;
    let fingerprint: string | undefined;
    if (query.qr) {
      const qr = parseEnrolmentQr(query.qr.trim());
      if ('error' in qr) return fail('bad_request', `QR code: ${qr.error}`);
      deviceId = qr.deviceId;
      code = qr.pairingCode;
      fingerprint = qr.fingerprint;
    } else {
      code = normalisePairingCode(query.pairingCode ?? '');
      if (!code) return fail('bad_request', 'a pairing code is 8 letters and digits, like ABCD-EFGH');
    }
    const found = await this.findByCode(this.db, officer, code, deviceId, ip, false);
    if (!found.ok) return found;
    const row = found.row;
    if (fingerprint && fingerprint !== row.public_key_fingerprint) {
      await this.logFailure(officer, ip, row.device_id, 'fingerprint in QR differs from the registered key');
      return fail('conflict', 'the fingerprint in the QR code does not match the key the device registered');
    }
    await audit(this.db, {
      actor: officerActor(officer.username),
      action: 'enrolment.lookup',
      subject: row.device_id,
      forceId: officer.forceId,
      ip,
    });
    return { ok: true, request: this.view(row, code) };
  }

  async approve(
    officer: Officer,
    input: { readonly deviceId: string; readonly pairingCode: string; readonly member: MemberChoice },
    ip: string,
  ): Promise<Result<{ deviceId: string; memberId: string; serialNumber: string; notAfter: Date }>> {
    const limited = await this.rateLimited(officer, ip);
    if (limited) return limited;
    const code = normalisePairingCode(input.pairingCode);
    if (!code || !isValidDeviceId(input.deviceId))
      return fail('bad_request', 'device id and pairing code required');
    const member = validateMemberChoice(input.member);
    if ('error' in member) return fail('bad_request', member.error);
    const now = this.now();
    const actor = officerActor(officer.username);
    // A returned failure commits (nothing has been written but its audit entry); only a throw rolls back.
    const result = await this.db.transaction(
      async (tx): Promise<Result<{ memberId: string; serialNumber: string; notAfter: Date }>> => {
        const found = await this.findByCode(tx, officer, code, input.deviceId, ip, true);
        if (!found.ok) return found;
        const row = found.row;
        const checked = await checkEnrolmentCsr(row.csr_pem, row.device_id);
        if ('error' in checked) return fail('conflict', `stored CSR refused: ${checked.error}`);
        let memberId: string;
        if ('memberId' in member) {
          const owners = await tx.query<{ force_id: string }>(
            'SELECT force_id FROM members WHERE member_id = $1',
            [member.memberId],
          );
          const owner = owners[0];
          if (!owner) return fail('not_found', 'no such member');
          if (owner.force_id !== officer.forceId) {
            await audit(tx, {
              actor,
              action: 'enrolment.refused',
              subject: row.device_id,
              forceId: officer.forceId,
              ip,
              at: now,
              detail: {
                reason: 'member belongs to another force',
                memberId: member.memberId,
                memberForce: owner.force_id,
              },
            });
            return fail('forbidden', 'that member belongs to another force');
          }
          memberId = member.memberId;
        } else {
          memberId = `m-${randomBytes(8).toString('hex')}`;
          await tx.query(
            'INSERT INTO members (member_id, name, force_id, sector, contact) VALUES ($1, $2, $3, $4, $5)',
            [memberId, member.name, officer.forceId, member.sector || null, member.contact || null],
          );
          await audit(tx, {
            actor,
            action: 'member.created',
            subject: memberId,
            forceId: officer.forceId,
            ip,
            at: now,
            detail: { name: member.name, sector: member.sector },
          });
        }
        const issued = await issueDeviceCertificateFromCsr(this.options.ca, checked, row.device_id);
        await this.recordCertificate(tx, row.device_id, issued, now);
        await tx.query(
          `UPDATE enrolment_requests SET state = 'approved', pairing_code_hash = NULL, approved_by = $2,
           approved_at = $3, member_id = $4, updated_at = $3 WHERE device_id = $1`,
          [row.device_id, officer.id, now, memberId],
        );
        await tx.query(
          `INSERT INTO devices (device_id, member_id, first_seen, last_seen) VALUES ($1, $2, $3, $3)
         ON CONFLICT (device_id) DO UPDATE SET member_id = EXCLUDED.member_id`,
          [row.device_id, memberId, now],
        );
        await audit(tx, {
          actor,
          action: 'enrolment.approved',
          subject: row.device_id,
          forceId: officer.forceId,
          ip,
          at: now,
          detail: {
            memberId,
            serial: issued.serialNumber,
            notAfter: issued.notAfter.toISOString(),
            fingerprint: row.public_key_fingerprint,
          },
        });
        return { ok: true, memberId, serialNumber: issued.serialNumber, notAfter: issued.notAfter };
      },
    );
    if (!result.ok) return result;
    return { ...result, deviceId: input.deviceId };
  }

  async reject(
    officer: Officer,
    input: { readonly deviceId: string; readonly pairingCode: string },
    ip: string,
  ): Promise<Result<{ deviceId: string }>> {
    const limited = await this.rateLimited(officer, ip);
    if (limited) return limited;
    const code = normalisePairingCode(input.pairingCode);
    if (!code || !isValidDeviceId(input.deviceId))
      return fail('bad_request', 'device id and pairing code required');
    const now = this.now();
    const result = await this.db.transaction(async (tx): Promise<Result<{ deviceId: string }>> => {
      const found = await this.findByCode(tx, officer, code, input.deviceId, ip, true);
      if (!found.ok) return found;
      await tx.query(
        `UPDATE enrolment_requests SET state = 'rejected', pairing_code_hash = NULL, updated_at = $2 WHERE device_id = $1`,
        [input.deviceId, now],
      );
      await audit(tx, {
        actor: officerActor(officer.username),
        action: 'enrolment.rejected',
        subject: input.deviceId,
        forceId: officer.forceId,
        ip,
        at: now,
      });
      return { ok: true, deviceId: input.deviceId };
    });
    return result;
  }

  /**
   * Records a device certificate central's CA signed outside enrolment (`cyberalarm-central device
   * issue`), so that it is revocable like an enrolled one: the certificate goes into `certificates`
   * (serial, device, not-after) and the device gets an `approved` enrolment row (no CSR, no member)
   * that `revoke` and the broker's refusal set key on; the audit log says which path issued it.
   * The certificate must verify against this CA and name a device (OU devices). A device that is
   * revoked stays revoked (the broker refuses its id), so issuing to it again is refused.
   */
  async recordIssuedCertificate(
    operator: string,
    certificatePem: string,
    path: string,
    ip?: string,
  ): Promise<Result<{ deviceId: string; serial: string; notAfter: Date }>> {
    let cert: NodeX509Certificate;
    try {
      cert = new NodeX509Certificate(certificatePem);
    } catch {
      return fail('bad_request', 'not a PEM certificate');
    }
    const caCert = new NodeX509Certificate(this.options.ca.certPem);
    if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey))
      return fail('bad_request', "certificate was not issued by this central's CA");
    const identity = certificateIdentity(certificatePem);
    if (identity?.kind !== 'device') return fail('bad_request', 'not a device certificate');
    const { deviceId } = identity;
    const parsed = new x509.X509Certificate(certificatePem);
    const issued = {
      certPem: certificatePem,
      serialNumber: parsed.serialNumber,
      notAfter: parsed.notAfter,
    };
    const fingerprint = publicKeyFingerprint(new Uint8Array(parsed.publicKey.rawData));
    const now = this.now();
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<{ state: EnrolmentState }>(
        'SELECT state FROM enrolment_requests WHERE device_id = $1 FOR UPDATE',
        [deviceId],
      );
      const state = rows[0]?.state;
      if (state !== undefined && state !== 'approved') {
        return fail(
          'conflict',
          state === 'revoked'
            ? `device ${deviceId} is revoked and stays refused: issue a new device id`
            : `device ${deviceId} has an enrolment request (${state}): approve or reject it in the portal`,
        );
      }
      if (state === undefined) {
        // No CSR (central made the key) and no member: csr_pem '' marks an operator-issued identity.
        await tx.query(
          `INSERT INTO enrolment_requests (device_id, csr_pem, public_key_fingerprint, state, created_at,
             updated_at, expires_at, approved_at)
           VALUES ($1, '', $2, 'approved', $3, $3, $3, $3)`,
          [deviceId, fingerprint, now],
        );
      }
      await this.recordCertificate(tx, deviceId, issued, now);
      await audit(tx, {
        actor: operator,
        action: 'certificate.issued',
        subject: deviceId,
        ip,
        at: now,
        detail: { path, serial: issued.serialNumber.toLowerCase(), notAfter: issued.notAfter.toISOString() },
      });
      return {
        ok: true as const,
        deviceId,
        serial: issued.serialNumber.toLowerCase(),
        notAfter: issued.notAfter,
      };
    });
  }

  /** Revokes every certificate of the device. `officer` undefined means the operator (CLI/admin API). */
  async revoke(
    by: { readonly officer: Officer } | { readonly operator: string },
    deviceId: string,
    ip?: string,
  ): Promise<Result<{ deviceId: string; serials: string[] }>> {
    if (!isValidDeviceId(deviceId)) return fail('bad_request', 'not a device id');
    const actor = 'officer' in by ? officerActor(by.officer.username) : by.operator;
    const rows = await this.db.query<{ state: EnrolmentState; force_id: string | null }>(
      `SELECT r.state, m.force_id FROM enrolment_requests r LEFT JOIN members m USING (member_id)
        WHERE r.device_id = $1`,
      [deviceId],
    );
    let row = rows[0];
    if (!row && !('officer' in by)) {
      // An identity `device issue` wrote before it recorded its certificates: the serial is unknown,
      // so the CRL cannot list it, but a revoked enrolment row makes the broker refuse the id.
      const known = await this.db.query('SELECT 1 FROM devices WHERE device_id = $1', [deviceId]);
      if (known.length > 0) {
        const now = this.now();
        await this.db.query(
          `INSERT INTO enrolment_requests (device_id, csr_pem, public_key_fingerprint, state, created_at,
             updated_at, expires_at)
           VALUES ($1, '', '', 'revoked', $2, $2, $2) ON CONFLICT (device_id) DO NOTHING`,
          [deviceId, now],
        );
        row = { state: 'approved', force_id: null };
      }
    }
    if (!row) return fail('not_found', 'no such device');
    if ('officer' in by && row.force_id !== by.officer.forceId) {
      await audit(this.db, {
        actor,
        action: 'enrolment.refused',
        subject: deviceId,
        forceId: by.officer.forceId,
        ip,
        detail: { reason: 'revoke: device is not bound to this force', deviceForce: row.force_id },
      });
      // Same answer as for a device that does not exist: another force's devices are not even visible.
      return fail('not_found', 'no such device in your force');
    }
    const now = this.now();
    const serials = await this.db.transaction(async (tx) => {
      const revoked = await tx.query<{ serial: string }>(
        'UPDATE certificates SET revoked_at = $2 WHERE device_id = $1 AND revoked_at IS NULL RETURNING serial',
        [deviceId, now],
      );
      await tx.query(
        `UPDATE enrolment_requests SET state = 'revoked', pairing_code_hash = NULL, updated_at = $2 WHERE device_id = $1`,
        [deviceId, now],
      );
      const list = revoked.map((r) => r.serial);
      await audit(tx, {
        actor,
        action: 'device.revoked',
        subject: deviceId,
        forceId: row.force_id ?? undefined,
        ip,
        at: now,
        detail: { serials: list, previousState: row.state },
      });
      return list;
    });
    await this.options.onRevoked?.(deviceId);
    return { ok: true, deviceId, serials };
  }

  async devicesOfForce(forceId: string): Promise<DeviceRow[]> {
    const rows = await this.db.query<{
      device_id: string;
      state: EnrolmentState;
      member_id: string;
      name: string;
      approved_at: Date | null;
      username: string | null;
      not_after: Date | null;
      last_seen: Date | null;
    }>(
      `SELECT r.device_id, r.state, r.member_id, m.name, r.approved_at, o.username,
              (SELECT max(c.not_after) FROM certificates c WHERE c.device_id = r.device_id AND c.revoked_at IS NULL) AS not_after,
              d.last_seen
         FROM enrolment_requests r JOIN members m USING (member_id)
         LEFT JOIN officers o ON o.id = r.approved_by
         LEFT JOIN devices d ON d.device_id = r.device_id
        WHERE m.force_id = $1 ORDER BY r.approved_at DESC NULLS LAST, r.device_id`,
      [forceId],
    );
    return rows.map((r) => ({
      deviceId: r.device_id,
      state: r.state,
      memberId: r.member_id,
      memberName: r.name,
      approvedAt: r.approved_at,
      approvedBy: r.username,
      certificateNotAfter: r.not_after,
      // Enrolment writes last_seen = approval time; only later values come from the device.
      lastSeen: r.last_seen && r.approved_at && r.last_seen > r.approved_at ? r.last_seen : null,
    }));
  }

  async membersOfForce(forceId: string): Promise<MemberRow[]> {
    const rows = await this.db.query<{
      member_id: string;
      name: string;
      sector: string | null;
      contact: string | null;
    }>('SELECT member_id, name, sector, contact FROM members WHERE force_id = $1 ORDER BY name, member_id', [
      forceId,
    ]);
    return rows.map((r) => ({ memberId: r.member_id, name: r.name, sector: r.sector, contact: r.contact }));
  }

  /** Device ids whose enrolment was revoked: the broker refuses them. */
  async revokedDeviceIds(): Promise<string[]> {
    const rows = await this.db.query<{ device_id: string }>(
      "SELECT device_id FROM enrolment_requests WHERE state = 'revoked'",
    );
    return rows.map((r) => r.device_id);
  }

  // ---------------------------------------------------------------- internals

  private intelKey(): { intelPublicKeyPem?: string } {
    const pem = this.options.intelPublicKeyPem;
    return pem === undefined ? {} : { intelPublicKeyPem: pem };
  }

  private brokerUrl(portalHost: string): string {
    const url = this.options.brokerUrl;
    return typeof url === 'string' ? url : url(portalHost);
  }

  private async currentCertificate(deviceId: string): Promise<string | undefined> {
    const rows = await this.db.query<{ certificate_pem: string }>(
      `SELECT certificate_pem FROM certificates WHERE device_id = $1 AND revoked_at IS NULL
        ORDER BY issued_at DESC, not_after DESC LIMIT 1`,
      [deviceId],
    );
    return rows[0]?.certificate_pem;
  }

  private async recordCertificate(
    tx: Queryable,
    deviceId: string,
    issued: { certPem: string; serialNumber: string; notAfter: Date },
    now: Date,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO certificates (serial, device_id, certificate_pem, issued_at, not_after)
       VALUES ($1, $2, $3, $4, $5)`,
      [issued.serialNumber.toLowerCase(), deviceId, issued.certPem, now, issued.notAfter],
    );
  }

  private async rateLimited(officer: Officer, ip: string): Promise<Failure | undefined> {
    const since = new Date(this.now().getTime() - this.limits.lookupWindowMs);
    const max = this.limits.lookupMaxFailures;
    const byOfficer = await recentCount(
      this.db,
      { actor: officerActor(officer.username) },
      ['enrolment.lookup_failed'],
      since,
    );
    const byIp =
      byOfficer >= max ? byOfficer : await recentCount(this.db, { ip }, ['enrolment.lookup_failed'], since);
    if (byOfficer < max && byIp < max) return undefined;
    await audit(this.db, {
      actor: officerActor(officer.username),
      action: 'enrolment.rate_limited',
      forceId: officer.forceId,
      ip,
      detail: { failuresByOfficer: byOfficer, failuresByIp: byIp },
    });
    return fail('rate_limited', 'too many wrong pairing codes: wait 15 minutes');
  }

  private async logFailure(
    officer: Officer,
    ip: string,
    subject: string | undefined,
    reason: string,
  ): Promise<void> {
    await audit(this.db, this.failureEntry(officer, ip, subject, reason));
  }

  private failureEntry(
    officer: Officer,
    ip: string,
    subject: string | undefined,
    reason: string,
  ): AuditEntry {
    return {
      actor: officerActor(officer.username),
      action: 'enrolment.lookup_failed',
      subject,
      forceId: officer.forceId,
      ip,
      at: this.now(),
      detail: { reason },
    };
  }

  /**
   * The pending request a code unlocks (for `deviceId` when given). Wrong, used and expired codes
   * count as failed lookups; another force's device is refused. `forUpdate` locks the row (call it
   * inside a transaction); audit entries go through `q`, so they commit with that transaction.
   */
  private async findByCode(
    q: Queryable,
    officer: Officer,
    code: string,
    deviceId: string | undefined,
    ip: string,
    forUpdate: boolean,
  ): Promise<Result<{ row: RequestRow }>> {
    const log = (entry: AuditEntry) => audit(q, entry);
    const hash = pairingCodeHash(code);
    const lock = forUpdate ? 'FOR UPDATE OF r' : '';
    const rows = deviceId
      ? await q.query<RequestRow>(
          `SELECT ${REQUEST_COLUMNS} FROM enrolment_requests r LEFT JOIN members m USING (member_id)
            WHERE r.device_id = $1 ${lock}`,
          [deviceId],
        )
      : await q.query<RequestRow>(
          `SELECT ${REQUEST_COLUMNS} FROM enrolment_requests r LEFT JOIN members m USING (member_id)
            WHERE r.pairing_code_hash = $1 ${lock}`,
          [hash],
        );
    const row = rows[0];
    if (row && row.member_force_id !== null && row.member_force_id !== officer.forceId) {
      await log({
        actor: officerActor(officer.username),
        action: 'enrolment.refused',
        subject: row.device_id,
        forceId: officer.forceId,
        ip,
        at: this.now(),
        detail: { reason: 'device is bound to another force', deviceForce: row.member_force_id },
      });
      return fail('forbidden', 'this device is enrolled with another force');
    }
    if (!row) {
      await log(this.failureEntry(officer, ip, deviceId, 'no request with this code'));
      return fail('not_found', 'no pending enrolment with this pairing code');
    }
    if (row.pairing_code_hash === null || row.state !== 'pending') {
      await log(this.failureEntry(officer, ip, row.device_id, `code already used (${row.state})`));
      return fail('used', `this pairing code has already been used (device is ${row.state})`);
    }
    if (row.pairing_code_hash !== hash) {
      await log(this.failureEntry(officer, ip, row.device_id, 'wrong pairing code for device'));
      return fail('not_found', 'no pending enrolment with this pairing code');
    }
    if (row.expires_at <= this.now()) {
      await log(this.failureEntry(officer, ip, row.device_id, 'pairing code expired'));
      return fail('expired', 'this pairing code has expired: restart enrolment on the appliance');
    }
    return { ok: true, row };
  }

  private view(row: RequestRow, pairingCode: string): RequestView {
    const now = this.now();
    return {
      deviceId: row.device_id,
      fingerprint: row.public_key_fingerprint,
      state: row.state,
      createdAt: row.created_at,
      ageS: Math.max(0, Math.round((now.getTime() - row.created_at.getTime()) / 1000)),
      agentVersion: row.agent_version,
      pairingCode,
    };
  }
}

/** A CSR fit for first enrolment: verifies, CN = device id, and the key hashes to the device id. */
export async function checkEnrolmentCsr(
  csrPem: string,
  deviceId: string,
): Promise<DeviceCsr | { error: string }> {
  const csr = await parseDeviceCsr(csrPem);
  if ('error' in csr) return csr;
  if (csr.commonName !== deviceId) return { error: 'CSR subject CN must be the device id' };
  if (deviceIdFromPublicKey(csr.spkiDer) !== deviceId) {
    return { error: 'CSR public key does not match the device id' };
  }
  return csr;
}

function validateMemberChoice(member: MemberChoice): MemberChoice | { error: string } {
  if ('memberId' in member) {
    return member.memberId ? { memberId: member.memberId } : { error: 'choose a member' };
  }
  const name = member.name.trim();
  if (!name) return { error: 'a new member needs a name' };
  const fields = { name, sector: member.sector.trim(), contact: member.contact.trim() };
  for (const [key, value] of Object.entries(fields)) {
    if (value.length > MAX_MEMBER_FIELD)
      return { error: `${key} is longer than ${MAX_MEMBER_FIELD} characters` };
  }
  return fields;
}
