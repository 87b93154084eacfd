/**
 * Starts the appliance's stages and wires them: listeners → pipeline → outbox → uplink, plus the
 * status server. Each stage lives in its own folder; this file only connects them.
 */
import { join, resolve } from 'node:path';
import type { Logger } from '../common/logger.js';
import { VERSION } from '../common/version.js';
import type { AgentConfig } from './config.js';
import { LiveIntel } from './detect/intel/live-intel.js';
import { DETECTION_OFF, startLiveDetection } from './detect/live.js';
import { Enrolment, enrolmentSettings, type UplinkCredentials } from './enrol/enrolment.js';
import { createEnrolmentApi } from './enrol/http.js';
import { HealthSampler } from './health/health.js';
import { buildHealthReport, Heartbeats } from './health/heartbeat.js';
import { SourceIntake } from './ingest/intake.js';
import { startTcpListener } from './ingest/tcp.js';
import { loadTlsMaterial, startTlsListener, type TlsListener } from './ingest/tls.js';
import { startUdpListener } from './ingest/udp.js';
import { readUdpKernelDrops } from './ingest/udp-drops.js';
import { loadPrivacyKey } from './minimise/privacy-key.js';
import { Outbox } from './outbox/outbox.js';
import { FAMILY_NAMES } from './parse/family-names.js';
import { createPipeline } from './pipeline/agent-pipeline.js';
import { MemberSettings } from './settings/member-settings.js';
import { LastSent } from './status/sent.js';
import { startStatusServer } from './status/server.js';
import { type AgentStatus, notRunningUplinkStats } from './status/status.js';
import { Uplink, type UplinkStats } from './uplink/uplink.js';

export interface RunningAgent {
  readonly deviceId: string;
  readonly ports: {
    readonly syslogUdp: number;
    readonly syslogTcp: number;
    /** Absent when TLS is off (no syslogTlsCert/syslogTlsKey). */
    readonly syslogTls?: number;
    readonly status: number;
  };
  status(): AgentStatus;
  close(): Promise<void>;
}

export interface AgentStartOptions {
  /** Config keys given as command-line flags: they win over the member's status-page settings. */
  readonly explicitKeys?: ReadonlySet<string>;
}

export async function startAgent(
  config: AgentConfig,
  logger: Logger,
  options: AgentStartOptions = {},
): Promise<RunningAgent> {
  // Settings that need more than the schema are checked before anything is opened or bound.
  const tlsMaterial = loadTlsMaterial(config);
  const dataDir = resolve(config.dataDir);
  const identityDir = resolve(config.identityDir || join(dataDir, 'identity'));
  const { centralUrl, pinnedCaPem } = enrolmentSettings(config, identityDir);
  // Privacy and pinned formats: config < the member's page (member-settings.json) < explicit flags.
  const memberSettings = new MemberSettings({
    dataDir,
    config,
    ...(options.explicitKeys && { explicitKeys: options.explicitKeys }),
    familyNames: FAMILY_NAMES,
    loadKey: () => loadPrivacyKey(dataDir),
  });
  // The uplink starts when the device is enrolled (at once for a pre-provisioned identity); until
  // then the outbox fills. The device id comes from the key, so the outbox has it from the start.
  const lastSent = new LastSent();
  let uplink: Uplink | undefined;
  let lastUplinkStats: UplinkStats = notRunningUplinkStats();
  let brokerUrl = '';
  let uplinkCredentials: UplinkCredentials | undefined;
  let uplinkRestarts = 0;
  // Heartbeats to central (best-effort, never through the outbox): created once status() exists.
  let heartbeats: Heartbeats | undefined;
  // Central's blocklists: on once enrolment (or `device issue`) put central's key in the identity.
  const intel = new LiveIntel({ dataDir: join(dataDir, 'intel'), identityDir, logger });
  const setUplink = (credentials: UplinkCredentials | undefined): void => {
    uplinkCredentials = credentials;
    const previous = uplink;
    uplink = undefined;
    if (previous) {
      lastUplinkStats = previous.stats;
      previous.stop().catch((err: Error) => logger.error({ err }, 'uplink stop failed'));
    }
    if (!credentials) return;
    intel.refresh();
    brokerUrl = credentials.brokerUrl;
    uplink = new Uplink({
      url: credentials.brokerUrl,
      deviceId: credentials.deviceId,
      tls: credentials,
      inflightBatches: config.inflightBatches,
      reconnectMinMs: config.reconnectMinMs,
      reconnectMaxMs: config.reconnectMaxMs,
      maxBytesPerS: config.uplinkMaxBytesPerS,
      outbox,
      logger,
      onPublish: lastSent.record,
      onClient: intel.attach,
      onConnected: () => heartbeats?.onConnected(),
    });
    uplink.start();
  };
  // Contain a fault in the MQTT stack: a throw out of mqtt.js's timers or stream callbacks (a bug
  // there or in our use of it) restarts the uplink — the outbox keeps everything unacknowledged —
  // instead of ending the agent. Anything else is a bug of ours: logged, and the process ends.
  const containUplinkFault = (err: Error): void => {
    if (!isUplinkFault(err) || uplinkCredentials === undefined) {
      logger.fatal({ err }, 'uncaught error; exiting');
      process.exit(1);
    }
    uplinkRestarts++;
    logger.error(
      { err, uplinkRestarts },
      'the MQTT uplink failed; restarting it (nothing is lost: the outbox keeps every unacknowledged batch)',
    );
    setUplink(uplinkCredentials);
  };
  process.on('uncaughtException', containUplinkFault);
  const enrolment = new Enrolment({
    identityDir,
    centralUrl,
    api: pinnedCaPem === undefined ? undefined : createEnrolmentApi(centralUrl, pinnedCaPem),
    defaultBrokerUrl: config.central,
    agentVersion: VERSION,
    minPollMs: config.enrolmentPollS * 1000,
    renewBeforeMs: config.renewBeforeDays * 86_400_000,
    onCredentials: setUplink,
    logger,
  });
  const health = new HealthSampler({ version: VERSION, dataDir });
  const startedAt = Date.now();
  const outbox = new Outbox({
    dataDir,
    deviceId: enrolment.deviceId,
    batchMaxEvents: config.batchMaxEvents,
    batchMaxDelayMs: config.batchMaxDelayMs,
    maxOutboxBytes: config.maxOutboxBytes,
  });
  const intake = new SourceIntake({ maxMessagesPerSourcePerS: config.maxMessagesPerSourcePerS });
  // Detection runs on this thread (one engine whatever the threading). Every report of an alert
  // (raised, grown, closed) goes to the outbox, which sends alerts before any event backlog.
  const detection = startLiveDetection({
    settings: config,
    privacy: () => memberSettings.current.privacy,
    engine: { intel: intel.intel, background: intel.background },
    alsoIgnore: () => intel.schemeScanners(),
    onAlert: (alert) => {
      outbox.appendAlert(alert);
      if (alert.status !== 'update')
        logger.info(
          { detector: alert.detector, source: alert.source, severity: alert.severity, status: alert.status },
          alert.summary,
        );
    },
  });
  const pipeline = await createPipeline(
    config,
    outbox,
    intake,
    memberSettings.current,
    (err, lost) =>
      logger.error(
        { err, lost },
        'a parse worker died and was replaced; its messages are counted as workerLost',
      ),
    detection?.observe,
  );
  memberSettings.onApplied((applied) => {
    pipeline.apply(applied);
    logger.info({ changes: applied.changes }, 'member settings changed on the status page');
  });
  const udp = await startUdpListener({
    host: config.listenHost,
    port: config.syslogUdpPort,
    receiveBufferBytes: config.udpReceiveBufferBytes,
    maxMessageBytes: config.maxMessageBytes,
    onMessage: pipeline.accept,
  });
  const tcp = await startTcpListener({
    host: config.listenHost,
    port: config.syslogTcpPort,
    maxMessageBytes: config.maxMessageBytes,
    maxConnections: config.maxTcpConnections,
    idleTimeoutMs: config.tcpIdleTimeoutS * 1000,
    onMessage: pipeline.accept,
    ...(pipeline.backpressure && { backpressure: pipeline.backpressure }),
  });
  const tls: TlsListener | undefined =
    tlsMaterial === undefined
      ? undefined
      : await startTlsListener({
          host: config.listenHost,
          port: config.syslogTlsPort,
          maxMessageBytes: config.maxMessageBytes,
          maxConnections: config.maxTcpConnections,
          idleTimeoutMs: config.tcpIdleTimeoutS * 1000,
          onMessage: pipeline.accept,
          ...(pipeline.backpressure && { backpressure: pipeline.backpressure }),
          tls: tlsMaterial,
        });
  health.start();
  enrolment.start(() => uplink?.stats);
  const status = (): AgentStatus => ({
    device: {
      id: enrolment.deviceId,
      version: VERSION,
      uptimeS: Math.round((Date.now() - startedAt) / 1000),
    },
    central: brokerUrl,
    ingest: {
      udp: { ...udp.counters, port: udp.port, kernelDrops: readUdpKernelDrops(udp.port) ?? null },
      tcp: { ...tcp.counters, port: tcp.port },
      ...(tls && { tls: { ...tls.counters, port: tls.port, certNotAfter: tls.certNotAfter } }),
    },
    pipeline: pipeline.counters,
    sources: pipeline.sources(),
    outbox: outbox.stats(),
    uplink: { ...(uplink?.stats ?? lastUplinkStats), restarts: uplinkRestarts },
    enrolment: enrolment.view(),
    health: health.latest(),
    sent: lastSent.view(),
    detection: detection?.view() ?? DETECTION_OFF,
    intel: intel.view(),
    ...(heartbeats && { heartbeat: heartbeats.stats }),
  });
  if (config.healthIntervalS > 0) {
    heartbeats = new Heartbeats({
      intervalMs: config.healthIntervalS * 1000,
      sample: () => health.sample(),
      build: () => {
        const s = status();
        return buildHealthReport({
          deviceId: enrolment.deviceId,
          version: VERSION,
          nowMs: Date.now(),
          health: s.health,
          sources: s.sources,
          pipeline: s.pipeline,
          outbox: s.outbox,
          uplink: s.uplink,
          uplinkRestarts,
          detection: s.detection?.enabled ?? false,
        });
      },
      publish: (payload, done) => uplink?.publishHealth(payload, done) ?? false,
      logger,
    });
    heartbeats.start();
    // The uplink may have connected already (a pre-provisioned identity connects at once).
    if (uplink?.stats.state === 'connected') heartbeats.onConnected();
  }
  const statusServer = await startStatusServer({
    host: config.statusHost,
    port: config.statusPort,
    getStatus: status,
    dataDir,
    settings: memberSettings,
    logger,
    allowedHosts: config.statusAllowedHosts
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== ''),
    consoleIssueFile: config.consoleIssueFile,
    publicPort: config.statusPort,
  });
  return {
    deviceId: enrolment.deviceId,
    ports: {
      syslogUdp: udp.port,
      syslogTcp: tcp.port,
      ...(tls && { syslogTls: tls.port }),
      status: statusServer.port,
    },
    status,
    close: async () => {
      await Promise.all([udp.close(), tcp.close(), tls?.close()]);
      // Queued messages and the open summary windows: accepted once the flush below commits them.
      await pipeline.flushAll();
      detection?.stop();
      await outbox.flush();
      enrolment.close();
      process.off('uncaughtException', containUplinkFault);
      await heartbeats?.stop();
      await uplink?.stop();
      await health.stop();
      await statusServer.close();
      await pipeline.close();
      intake.close();
      await outbox.close();
    },
  };
}

/** Thrown from inside the MQTT client library or the uplink module (by the frames of its stack). */
export function isUplinkFault(err: Error): boolean {
  const stack = err.stack ?? '';
  return /[\\/]node_modules[\\/]mqtt(-packet)?[\\/]|[\\/]appliance[\\/]uplink[\\/]/.test(stack);
}
