/**
 * The police portal and API over HTTPS: health, ingest totals and the device report (admin bearer
 * token), the devices' enrolment API (public; renewal authenticated by the client certificate) and
 * the officers' UI (session cookie).
 *
 * Access is declared per route (`config.access`): `public` routes do their own checks (none,
 * session, or client certificate); every other route needs the admin bearer token central writes to
 * <dataDir>/portal-admin.token (mode 0600), so a route that forgets to declare itself is closed.
 */
import { timingSafeEqual } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import { renderPrometheus } from '../../common/metrics.js';
import { VERSION } from '../../common/version.js';
import type { EnrolmentService } from '../enrolment/enrolment-service.js';
import type { FleetSettings } from '../fleet/fleet-state.js';
import type { IngestCounters } from '../ingest/ingest-counters.js';
import { ingestTotals } from '../ingest/totals.js';
import type { SignInPolicy } from '../officers/officers.js';
import { deviceReport } from '../report/device-report.js';
import type { Database } from '../store/db.js';
import { registerAdminApi, registerEnrolmentApi } from './enrol-api.js';
import { ingestMetrics } from './metrics.js';
import { registerOfficerRoutes } from './officer-routes.js';
import { registerReportApi } from './report-api.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `public`: no bearer token (the route authenticates by session or client certificate itself). */
    access?: 'public';
  }
}

export interface PortalOptions {
  readonly host: string;
  readonly port: number;
  /** `caPem`: client certificates (device renewal) are verified against it. */
  readonly tls: { readonly certPem: string; readonly keyPem: string; readonly caPem?: string };
  readonly adminToken: string;
  readonly db: Database;
  readonly counters: IngestCounters;
  /** Enrolment, officers and revocation; without it the portal serves the admin API only. */
  readonly enrolment?: EnrolmentService;
  readonly signInPolicy?: SignInPolicy;
  /** Whether a device holds a broker connection now (embedded broker only; unknown otherwise). */
  readonly isConnected?: (deviceId: string) => boolean;
  /** Fleet state for the officers' fleet page (`silentAfterH`). */
  readonly fleet?: FleetSettings;
}

export interface Portal {
  readonly port: number;
  close(): Promise<void>;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Every route, not listening yet (tests drive it with `inject`). */
export async function buildPortal(options: PortalOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    https: {
      cert: options.tls.certPem,
      key: options.tls.keyPem,
      // Ask for a client certificate but let browsers and unenrolled devices in without one: only
      // POST /api/enrol/renew requires it, and checks `socket.authorized` itself.
      ...(options.tls.caPem ? { ca: options.tls.caPem, requestCert: true, rejectUnauthorized: false } : {}),
    },
  });
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);
  // The portal is HTTPS only: browsers that have seen it once never try it over plain HTTP again
  // (an officer typing the host name on a hostile network is not downgraded). One year, no
  // includeSubDomains: the force's other hosts are not ours to decide.
  app.addHook('onSend', async (_req, reply) => {
    reply.header('strict-transport-security', 'max-age=31536000');
  });
  app.addHook('onRequest', async (req, reply) => {
    if (req.routeOptions.config?.access === 'public') return;
    if (!tokenMatches(req.headers.authorization, options.adminToken)) {
      await reply
        .code(401)
        .send({ error: 'unauthorised: send Authorization: Bearer <token from portal-admin.token>' });
    }
  });
  app.get('/api/health', { config: { access: 'public' } }, async () => ({ ok: true, version: VERSION }));
  app.get('/api/stats', async () => ({
    ...(await ingestTotals(options.db)),
    // Duplicates are ignored, not stored: this process's count is the only record of them.
    duplicates: options.counters.duplicates,
    process: options.counters,
  }));
  app.get('/metrics', async (_req, reply) =>
    reply.type('text/plain; version=0.0.4').send(renderPrometheus(ingestMetrics(options.counters))),
  );
  app.get<{ Params: { id: string }; Querystring: { from?: string; to?: string; top?: string } }>(
    '/api/devices/:id/report',
    async (req, reply) => {
      const period = parsePeriod(req.query.from, req.query.to);
      if ('error' in period) return reply.code(400).send(period);
      const top = req.query.top === undefined ? 10 : Number(req.query.top);
      if (!Number.isInteger(top) || top < 1 || top > 1000)
        return reply.code(400).send({ error: 'top must be 1-1000' });
      return deviceReport(options.db, { deviceId: req.params.id, ...period, top });
    },
  );
  registerReportApi(app, options.db);
  if (options.enrolment) {
    registerEnrolmentApi(app, options.enrolment);
    registerAdminApi(app, options.db, options.enrolment);
    registerOfficerRoutes(app, {
      db: options.db,
      service: options.enrolment,
      ...(options.signInPolicy ? { policy: options.signInPolicy } : {}),
      ...(options.isConnected ? { isConnected: options.isConnected } : {}),
      ...(options.fleet ? { fleet: options.fleet } : {}),
    });
  }
  return app;
}

export async function startPortal(options: PortalOptions): Promise<Portal> {
  const app = await buildPortal(options);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () => app.close(),
  };
}

/** Default period: the last 24 hours. */
export function parsePeriod(
  from: string | undefined,
  to: string | undefined,
): { from: Date; to: Date } | { error: string } {
  const end = to ? new Date(to) : new Date();
  const start = from ? new Date(from) : new Date(end.getTime() - 24 * 3600 * 1000);
  if (Number.isNaN(start.getTime())) return { error: `from: not a date: ${from}` };
  if (Number.isNaN(end.getTime())) return { error: `to: not a date: ${to}` };
  if (start > end) return { error: 'from is after to' };
  return { from: start, to: end };
}
