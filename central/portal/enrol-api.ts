/**
 * The device-facing enrolment API (contract: provisioning/enrolment.ts) and the operator's admin
 * routes the CLI uses while central runs (PGlite admits one process at a time).
 *
 * `POST /api/enrol/renew` is the one route that reads the TLS client certificate: the portal's
 * server requests one (`requestCert`) but lets the handshake succeed without it
 * (`rejectUnauthorized: false`) because browsers and first-time devices have none; here
 * `socket.authorized` says whether Node verified it against our CA.
 */
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { certificateIdentity } from '../../provisioning/ca.js';
import { type EnrolmentService, type Failure, HTTP_STATUS } from '../enrolment/enrolment-service.js';
import { addOfficer, FORCE_ID_PATTERN, USERNAME_PATTERN } from '../officers/officers.js';
import type { Database } from '../store/db.js';
import { AddressLimiter } from './address-limiter.js';

const sendFailure = (reply: FastifyReply, failure: Failure) =>
  reply.code(HTTP_STATUS[failure.code]).send({ error: failure.message, code: failure.code });

/** The verified client certificate of a request, or why there is none. */
export function peerDevice(
  socket: unknown,
): { deviceId: string; serialNumber: string } | { error: string; status: number } {
  const tls = socket as Partial<TLSSocket>;
  if (typeof tls.getPeerCertificate !== 'function')
    return { error: 'TLS client certificate required', status: 401 };
  const peer = tls.getPeerCertificate();
  if (!peer?.raw) return { error: 'TLS client certificate required', status: 401 };
  if (tls.authorized !== true) return { error: 'client certificate not issued by this CA', status: 401 };
  const identity = certificateIdentity(peer.raw);
  if (identity?.kind !== 'device') return { error: 'not a device certificate', status: 403 };
  return { deviceId: identity.deviceId, serialNumber: peer.serialNumber };
}

/** Registrations per client address per 15 minutes: a device registers once, and again only with a
 * new pairing code; a site behind one NAT address with many appliances stays far below it. */
export const REGISTRATIONS_PER_ADDRESS = 60;

export function registerEnrolmentApi(
  app: FastifyInstance,
  service: EnrolmentService,
  registrations = new AddressLimiter(REGISTRATIONS_PER_ADDRESS, 15 * 60_000),
): void {
  const pub = { config: { access: 'public' as const } };

  app.post('/api/enrol/requests', pub, async (req, reply) => {
    if (!registrations.allow(req.ip))
      return reply.code(429).send({
        error: 'too many enrolment requests from this address; try again later',
        code: 'rate_limited',
      });
    const result = await service.register(req.body, req.ip, req.hostname);
    if (!result.ok) return sendFailure(reply, result);
    return reply.code(result.created ? 201 : 200).send(result.status);
  });

  app.get<{ Params: { deviceId: string } }>('/api/enrol/requests/:deviceId', pub, async (req, reply) => {
    const status = await service.status(req.params.deviceId, req.hostname);
    if (!status)
      return reply.code(404).send({ error: 'no enrolment request for this device', code: 'not_found' });
    return status;
  });

  app.post('/api/enrol/renew', pub, async (req, reply) => {
    const peer = peerDevice(req.raw.socket);
    if ('error' in peer) return reply.code(peer.status).send({ error: peer.error, code: 'forbidden' });
    const result = await service.renew(peer.deviceId, peer.serialNumber, req.body, req.ip, req.hostname);
    if (!result.ok) return sendFailure(reply, result);
    return result.status;
  });
}

/** Bearer-token routes for the operator (`cyberalarm-central officer add`, `device revoke`). */
export function registerAdminApi(app: FastifyInstance, db: Database, service: EnrolmentService): void {
  app.post<{ Body: { username?: unknown; force?: unknown; region?: unknown } }>(
    '/api/admin/officers',
    async (req, reply) => {
      const { username, force, region } = req.body ?? {};
      if (typeof username !== 'string' || !USERNAME_PATTERN.test(username)) {
        return reply.code(400).send({ error: 'username: 2-64 letters, digits, . _ -' });
      }
      if (typeof force !== 'string' || !FORCE_ID_PATTERN.test(force)) {
        return reply.code(400).send({ error: 'force: 1-64 letters, digits, . _ -' });
      }
      if (region !== undefined && (typeof region !== 'string' || !FORCE_ID_PATTERN.test(region))) {
        return reply.code(400).send({ error: 'region: 1-64 letters, digits, . _ -' });
      }
      try {
        const created = await addOfficer(db, { username, forceId: force, region, actor: 'operator' });
        return reply.code(201).send({
          username: created.officer.username,
          force: created.officer.forceId,
          initialPassword: created.initialPassword,
          otpauthUri: created.otpauthUri,
        });
      } catch (err) {
        return reply.code(409).send({ error: (err as Error).message });
      }
    },
  );

  app.post<{ Params: { id: string }; Body: { certificatePem?: unknown } }>(
    '/api/admin/devices/:id/certificates',
    async (req, reply) => {
      const pem = req.body?.certificatePem;
      if (typeof pem !== 'string')
        return reply.code(400).send({ error: 'certificatePem must be a PEM string' });
      const named = certificateIdentity(pem);
      if (named?.kind !== 'device' || named.deviceId !== req.params.id)
        return reply.code(400).send({ error: `not a device certificate for ${req.params.id}` });
      const result = await service.recordIssuedCertificate('operator', pem, 'device issue', req.ip);
      if (!result.ok) return sendFailure(reply, result);
      return { deviceId: result.deviceId, serial: result.serial };
    },
  );

  app.post<{ Params: { id: string } }>('/api/admin/devices/:id/revoke', async (req, reply) => {
    const result = await service.revoke({ operator: 'operator' }, req.params.id, req.ip);
    if (!result.ok) return sendFailure(reply, result);
    return { deviceId: result.deviceId, serials: result.serials };
  });
}
