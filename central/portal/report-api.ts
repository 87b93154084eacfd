/**
 * The member report's admin API (bearer token, like the device report): the report's data for the
 * CLI to render while central holds the embedded database, and setting a member's report e-mail.
 */
import type { FastifyInstance } from 'fastify';
import { loadIpEnricher } from '../report/ip-enrichment.js';
import { memberReportData, UnknownMemberError } from '../report/member-report-data.js';
import { InvalidEmailError, setMemberEmail } from '../report/report-archive.js';
import type { Database } from '../store/db.js';
import { parsePeriod } from './server.js';

export function registerReportApi(app: FastifyInstance, db: Database): void {
  app.get<{ Params: { id: string }; Querystring: { from?: string; to?: string } }>(
    '/api/members/:id/report-data',
    async (req, reply) => {
      const period = parsePeriod(req.query.from, req.query.to);
      if ('error' in period) return reply.code(400).send(period);
      try {
        return await memberReportData(db, { memberId: req.params.id, ...period, enricher: loadIpEnricher() });
      } catch (err) {
        if (err instanceof UnknownMemberError) return reply.code(404).send({ error: err.message });
        throw err;
      }
    },
  );
  app.post<{ Params: { id: string }; Body: { email?: unknown } }>(
    '/api/members/:id/email',
    async (req, reply) => {
      const email = req.body?.email;
      if (email !== null && typeof email !== 'string')
        return reply.code(400).send({ error: 'email: a string, or null to clear it' });
      try {
        if (!(await setMemberEmail(db, req.params.id, email)))
          return reply.code(404).send({ error: `no member ${JSON.stringify(req.params.id)}` });
      } catch (err) {
        if (err instanceof InvalidEmailError) return reply.code(400).send({ error: err.message });
        throw err;
      }
      return { memberId: req.params.id, email };
    },
  );
}
