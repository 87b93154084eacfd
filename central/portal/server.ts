/**
 * The police portal and API over HTTPS (first cut: health, ingest totals and the device report; the
 * officers' UI with sign-in and enrolment comes with the enrolment issue). Everything but /api/health
 * needs the admin bearer token central writes to <dataDir>/portal-admin.token (mode 0600).
 */
import { timingSafeEqual } from 'node:crypto';
import Fastify from 'fastify';
import { renderPrometheus } from '../../common/metrics.js';
import { VERSION } from '../../common/version.js';
import type { IngestCounters } from '../ingest/ingest-counters.js';
import { ingestTotals } from '../ingest/totals.js';
import { deviceReport } from '../report/device-report.js';
import type { Database } from '../store/db.js';
import { ingestMetrics } from './metrics.js';

export interface PortalOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: { readonly certPem: string; readonly keyPem: string };
  readonly adminToken: string;
  readonly db: Database;
  readonly counters: IngestCounters;
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

export async function startPortal(options: PortalOptions): Promise<Portal> {
  const app = Fastify({ logger: false, https: { cert: options.tls.certPem, key: options.tls.keyPem } });
  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/api/health') return;
    if (!tokenMatches(req.headers.authorization, options.adminToken)) {
      await reply
        .code(401)
        .send({ error: 'unauthorised: send Authorization: Bearer <token from portal-admin.token>' });
    }
  });
  app.get('/api/health', async () => ({ ok: true, version: VERSION }));
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
