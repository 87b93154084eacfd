import Fastify from 'fastify';
import { renderPrometheus } from '../../common/metrics.js';
import { renderStatusPage } from './page.js';
import { type AgentStatus, statusMetrics } from './status.js';

export interface StatusServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startStatusServer(options: {
  host: string;
  port: number;
  getStatus: () => AgentStatus;
}): Promise<StatusServer> {
  const app = Fastify({ logger: false });
  app.get('/api/status', async () => options.getStatus());
  app.get('/metrics', async (_req, reply) =>
    reply.type('text/plain; version=0.0.4').send(renderPrometheus(statusMetrics(options.getStatus()))),
  );
  app.get('/', async (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(renderStatusPage(options.getStatus())),
  );
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () => app.close(),
  };
}
