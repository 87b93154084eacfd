/**
 * Starts central's stages and wires them: dev CA and certificates on first start → database and
 * migrations → broker (embedded Aedes storing each batch before it acknowledges the device) or an
 * ingest worker on an external broker → HTTPS portal. Each stage lives in its own folder.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import type { Logger } from '../common/logger.js';
import { limits } from '../protocol/limits.js';
import { type EmbeddedBroker, startEmbeddedBroker } from './broker/aedes-broker.js';
import type { CentralConfig } from './config.js';
import { startCorrelationJob } from './correlate/run-correlation.js';
import { EnrolmentService } from './enrolment/enrolment-service.js';
import { smtpNoticeSender } from './fleet/notice-mail.js';
import { SILENT_CHECK_INTERVAL_MS, startSilentNoticeJob } from './fleet/silent-notices.js';
import { BadBatchTracker } from './ingest/flag-device.js';
import { type IngestContext, ingestMessage } from './ingest/ingest.js';
import { newIngestCounters, newIngestWindows } from './ingest/ingest-counters.js';
import { startMqttWorker } from './ingest/mqtt-worker.js';
import { intelDir } from './intel/intel-files.js';
import { startIntelPublisher } from './intel/intel-publisher.js';
import { embeddedIntelSink, mqttIntelSink } from './intel/intel-sink.js';
import { loadOrCreateIntelSigningKey } from './intel/signing-key.js';
import { initDevCa, loadOrCreateCa } from './pki/ca-files.js';
import { RevokedDevices, writeCrl } from './pki/revocation.js';
import { startPortal } from './portal/server.js';
import { loadIpEnricher } from './report/ip-enrichment.js';
import { startReportJob } from './report/report-job.js';
import { openDatabase } from './store/db.js';
import { startMaintenance } from './store/maintenance.js';
import { migrate } from './store/migrate.js';
import { startRollupJob } from './store/rollup-job.js';
import { defaultWorkerId } from './worker.js';

export interface RunningCentral {
  readonly ports: { readonly broker?: number; readonly portal: number };
  readonly runtimeFile: string;
  close(): Promise<void>;
}

/** What a running central writes to <dataDir>/central.json so `report` and the demo can find it. */
export interface CentralRuntime {
  readonly pid: number;
  readonly brokerPort?: number;
  readonly portalPort: number;
  readonly tokenFile: string;
  readonly caFile: string;
}

export function readAdminToken(dataDir: string): string {
  const file = join(dataDir, 'portal-admin.token');
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('base64url'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

export async function startCentral(config: CentralConfig, logger: Logger): Promise<RunningCentral> {
  const dataDir = resolve(config.dataDir);
  const extraNames = config.serverNames
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
  // The database first: with PGlite it locks the data directory, so a second central on the same
  // directory stops here (one line, exit 2) before it rewrites a certificate the first one serves.
  const db = await openDatabase(config.db || undefined, dataDir);
  let pki: Awaited<ReturnType<typeof initDevCa>>;
  try {
    pki = await initDevCa(dataDir, {
      hostnames: extraNames.filter((n) => isIP(n) === 0),
      ips: extraNames.filter((n) => isIP(n) !== 0),
    });
  } catch (err) {
    await db.close();
    throw err;
  }
  const read = (path: string) => readFileSync(path, 'utf8');
  const caPem = read(pki.caCert);
  await migrate(db);
  const counters = newIngestCounters();
  const ingest: IngestContext = {
    db,
    counters,
    windows: newIngestWindows(),
    badBatches: new BadBatchTracker({
      threshold: config.flagAfterBadBatches,
      windowMs: config.flagWindowS * 1000,
    }),
    logger,
  };
  const closers: (() => Promise<void>)[] = [];
  // Store upkeep (day partitions, retention) and the rollup job: both serialised across central
  // processes by advisory locks, so every process runs them; closers stop them before db.close().
  const maintenance = startMaintenance(db, config, logger);
  closers.push(() => maintenance.stop());
  const rollups = startRollupJob(
    db,
    { intervalMs: config.rollupIntervalS * 1000, topK: config.forceTopK },
    logger,
  );
  closers.push(() => rollups.stop());
  let brokerPort: number | undefined;
  // Revocation: the embedded broker refuses revoked devices from memory; Mosquitto reads the CRL.
  const ca = await loadOrCreateCa(join(dataDir, 'ca'));
  const crlFile = join(dataDir, 'ca', 'crl.pem');
  const revoked = new RevokedDevices();
  await revoked.load(db);
  await writeCrl(db, ca, crlFile);
  let embedded: EmbeddedBroker | undefined;
  if (config.brokerUrl) {
    const worker = await startMqttWorker({
      url: config.brokerUrl,
      group: config.ingestGroup,
      // Stable across restarts: the broker keeps queueing this session's share while it is down
      // (central/ingest/mqtt-worker.ts), so a fresh id per start would strand those batches.
      clientId: config.ingestClientId || defaultWorkerId('central-ingest'),
      tls: { certPem: read(pki.ingestCert), keyPem: read(pki.ingestKey), caPem },
      ingest,
    });
    closers.push(() => worker.close());
  } else {
    const broker = await startEmbeddedBroker({
      host: config.brokerHost,
      port: config.brokerPort,
      tls: { certPem: read(pki.serverCert), keyPem: read(pki.serverKey), caPem },
      maxPacketBytes: limits.maxPayloadBytes + 4096,
      logger,
      isRefused: (identity) => identity.kind === 'device' && revoked.has(identity.deviceId),
      // The device's QoS 1 publish is acknowledged only after this resolves: stored means acked.
      onPublishAuthorised: async (identity, packet) => {
        if (identity.kind !== 'device') return;
        await ingestMessage(ingest, {
          topic: packet.topic,
          payload: packet.payload,
          deviceId: identity.deviceId,
        });
      },
    });
    brokerPort = broker.port;
    embedded = broker;
    closers.push(() => broker.close());
  }
  // Intel: the correlation job over stored data, and the signed lists built from it and from the
  // operator's imports, published retained on the broker (central/correlate, central/intel).
  const intelKey = loadOrCreateIntelSigningKey(intelDir(dataDir));
  if (config.correlateIntervalS > 0) {
    const correlation = startCorrelationJob(
      db,
      { intervalMs: config.correlateIntervalS * 1000, settings: config },
      logger,
    );
    closers.push(() => correlation.stop());
  }
  // Member reports: archived every reportIntervalDays, mailed when SMTP is set (central/report/).
  if (config.reportIntervalDays > 0) {
    const reports = startReportJob(
      db,
      {
        intervalDays: config.reportIntervalDays,
        smtp: { smtpUrl: config.smtpUrl, smtpFrom: config.smtpFrom },
        chromiumPath: config.chromiumPath,
        enricher: loadIpEnricher,
      },
      logger,
    );
    closers.push(() => reports.stop());
  }
  // Silent appliances: their members are told once per silence, by e-mail (central/fleet/).
  if (config.smtpUrl) {
    const notices = startSilentNoticeJob(
      db,
      {
        intervalMs: SILENT_CHECK_INTERVAL_MS,
        settings: { silentAfterH: config.silentAfterH },
        send: smtpNoticeSender({ smtpUrl: config.smtpUrl, smtpFrom: config.smtpFrom }),
        brokerPort: brokerPort ?? config.brokerPort,
      },
      logger,
    );
    closers.push(() => notices.stop());
  }
  const intelSink = embedded
    ? embeddedIntelSink(embedded)
    : mqttIntelSink({
        url: config.brokerUrl,
        clientId: `${config.ingestClientId || defaultWorkerId('central-ingest')}-intel`.slice(0, 64),
        tls: { certPem: read(pki.ingestCert), keyPem: read(pki.ingestKey), caPem },
      });
  closers.push(() => intelSink.close());
  const publisher = startIntelPublisher(
    {
      dataDir,
      db,
      signer: intelKey,
      sink: intelSink,
      settings: config,
      intervalMs: config.intelPublishIntervalS * 1000,
      // The embedded broker keeps retained messages in memory: it starts with none.
      resendAtStart: embedded !== undefined,
    },
    logger,
  );
  closers.push(() => publisher.stop());
  const enrolment = new EnrolmentService({
    db,
    ca,
    intelPublicKeyPem: intelKey.publicKeyPem,
    brokerUrl: (portalHost) =>
      config.publicBrokerUrl || `mqtts://${portalHost}:${brokerPort ?? config.brokerPort}`,
    pairingTtlMs: config.pairingCodeTtlDays * 86_400_000,
    onRevoked: async (deviceId) => {
      revoked.add(deviceId);
      embedded?.disconnect(deviceId);
      await writeCrl(db, ca, crlFile);
      logger.info({ deviceId }, 'device revoked');
    },
  });
  // Another central process (or the CLI on PostgreSQL) may revoke too: pick that up within 30 s.
  const refreshRevocations = async () => {
    try {
      const added = await revoked.load(db);
      for (const id of added) embedded?.disconnect(id);
      if (added.length > 0) await writeCrl(db, ca, crlFile);
    } catch (err) {
      logger.warn({ err }, 'revocation refresh failed');
    }
  };
  const revocationRefresh = setInterval(() => void refreshRevocations(), 30_000);
  revocationRefresh.unref();
  closers.push(async () => clearInterval(revocationRefresh));
  const adminToken = readAdminToken(dataDir);
  const portal = await startPortal({
    host: config.portalHost,
    port: config.portalPort,
    tls: { certPem: read(pki.serverCert), keyPem: read(pki.serverKey), caPem },
    adminToken,
    db,
    counters,
    enrolment,
    ...(embedded ? { isConnected: (id: string) => embedded?.isConnected(id) ?? false } : {}),
    fleet: { silentAfterH: config.silentAfterH },
  });
  closers.push(() => portal.close());
  const runtimeFile = join(dataDir, 'central.json');
  const runtime: CentralRuntime = {
    pid: process.pid,
    ...(brokerPort !== undefined ? { brokerPort } : {}),
    portalPort: portal.port,
    tokenFile: join(dataDir, 'portal-admin.token'),
    caFile: pki.caCert,
  };
  writeFileSync(runtimeFile, `${JSON.stringify(runtime)}\n`);
  return {
    ports: { ...(brokerPort !== undefined ? { broker: brokerPort } : {}), portal: portal.port },
    runtimeFile,
    close: async () => {
      for (const close of closers.reverse()) await close();
      await db.close();
      rmSync(runtimeFile, { force: true });
    },
  };
}
