/**
 * `cyberalarm-central worker`: a stateless ingest worker. It only needs the broker's worker listener,
 * PostgreSQL and three files from central's data directory (the CA certificate and the ingest client
 * certificate and key; never the CA key), so any number can run on any machine.
 *
 * Metrics are served by the worker itself over plain HTTP on an internal address rather than through
 * the portal: a worker has no portal (no TLS server certificate, no admin token, no report API), and
 * Prometheus must scrape each worker anyway to see per-worker throughput and lag, so every worker
 * needs its own endpoint. Bind it to an internal interface; it exposes counts, nothing else.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError } from '../common/cli.js';
import type { Logger } from '../common/logger.js';
import { renderPrometheus } from '../common/metrics.js';
import { VERSION } from '../common/version.js';
import type { WorkerConfig } from './config.js';
import { BadBatchTracker } from './ingest/flag-device.js';
import type { IngestContext } from './ingest/ingest.js';
import { newIngestCounters, newIngestWindows } from './ingest/ingest-counters.js';
import { startMqttWorker } from './ingest/mqtt-worker.js';
import { ingestMetrics, workerMetrics } from './portal/metrics.js';
import { openDatabase } from './store/db.js';
import { migrate } from './store/migrate.js';

export interface RunningWorker {
  readonly workerId: string;
  readonly metricsPort: number;
  readonly clientIds: readonly string[];
  close(options?: { retire?: boolean }): Promise<void>;
}

/** A default id that survives restarts (hostname), made a valid client-id prefix. */
export function defaultWorkerId(prefix: string): string {
  const host = hostname()
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .slice(0, 40);
  return `${prefix}-${host || 'localhost'}`;
}

export async function startWorker(config: WorkerConfig, logger: Logger): Promise<RunningWorker> {
  const dataDir = resolve(config.dataDir);
  const files = {
    ca: join(dataDir, 'ca', 'ca.crt'),
    cert: join(dataDir, 'tls', 'ingest.crt'),
    key: join(dataDir, 'tls', 'ingest.key'),
  };
  for (const [what, file] of Object.entries(files)) {
    if (!existsSync(file))
      throw new UserError(
        `--data-dir ${dataDir}: ${what} file ${file} is missing; copy ca/ca.crt, tls/ingest.crt and tls/ingest.key from central's data directory`,
      );
  }
  const workerId = config.workerId || defaultWorkerId('central-worker');
  const db = await openDatabase(config.db, dataDir);
  // Migrations take an advisory lock, so whichever process starts first (central or a worker) runs
  // them and the others wait, then find nothing to do.
  await migrate(db);
  const ingest: IngestContext = {
    db,
    counters: newIngestCounters(),
    windows: newIngestWindows(),
    badBatches: new BadBatchTracker({
      threshold: config.flagAfterBadBatches,
      windowMs: config.flagWindowS * 1000,
    }),
    logger,
  };
  const worker = await startMqttWorker({
    url: config.brokerUrl,
    group: config.ingestGroup,
    clientId: workerId,
    connections: config.connections,
    sessionExpirySeconds: config.sessionExpiryS,
    tls: {
      certPem: readFileSync(files.cert, 'utf8'),
      keyPem: readFileSync(files.key, 'utf8'),
      caPem: readFileSync(files.ca, 'utf8'),
    },
    ingest,
  });
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      const body = renderPrometheus([
        ...ingestMetrics(ingest.counters),
        ...workerMetrics(
          {
            worker: workerId,
            windows: ingest.windows,
            badBatches: ingest.badBatches,
            connected: worker.connected,
          },
          Date.now(),
        ),
      ]);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
    } else if (req.method === 'GET' && req.url === '/health') {
      const up = worker.connected();
      res
        .writeHead(up > 0 ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ok: up > 0, version: VERSION, workerId, connections: up }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(config.metricsPort, config.metricsHost, () => done());
  });
  const address = server.address();
  const metricsPort = typeof address === 'object' && address ? address.port : config.metricsPort;
  return {
    workerId,
    metricsPort,
    clientIds: worker.clientIds,
    close: async (options = {}) => {
      await worker.close(options);
      await new Promise<void>((done) => server.close(() => done()));
      await db.close();
    },
  };
}
