/**
 * Starts the appliance's stages and wires them: listeners → pipeline → outbox → uplink, plus the
 * status server. Each stage lives in its own folder; this file only connects them.
 */
import { join, resolve } from 'node:path';
import type { Logger } from '../common/logger.js';
import { VERSION } from '../common/version.js';
import type { AgentConfig } from './config.js';
import { loadIdentity } from './enrol/identity.js';
import { SourceAccounting } from './ingest/accounting.js';
import { startTcpListener } from './ingest/tcp.js';
import { loadTlsMaterial, startTlsListener, type TlsListener } from './ingest/tls.js';
import { startUdpListener } from './ingest/udp.js';
import { readUdpKernelDrops } from './ingest/udp-drops.js';
import { minimisePolicyFromSettings } from './minimise/policy-config.js';
import { loadPrivacyKey } from './minimise/privacy-key.js';
import { Outbox } from './outbox/outbox.js';
import { parseFormatOverrides } from './parse/format-overrides.js';
import { FAMILIES } from './parse/registry.js';
import { Pipeline } from './pipeline.js';
import { startStatusServer } from './status/server.js';
import type { AgentStatus } from './status/status.js';
import { FlowSummariser } from './summarise/summarise.js';
import { Uplink } from './uplink/uplink.js';

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

export async function startAgent(config: AgentConfig, logger: Logger): Promise<RunningAgent> {
  // Settings that need more than the schema are checked before anything is opened or bound.
  const tlsMaterial = loadTlsMaterial(config);
  const formatOverrides = parseFormatOverrides(
    config.formatOverrides,
    FAMILIES.map((f) => f.name),
  );
  const dataDir = resolve(config.dataDir);
  const identity = loadIdentity(config.identityDir || join(dataDir, 'identity'));
  const privacy = minimisePolicyFromSettings(config, () => loadPrivacyKey(dataDir));
  const summariser =
    config.summaryWindowS === 0
      ? undefined
      : new FlowSummariser({ windowMs: config.summaryWindowS * 1000, maxOpenKeys: config.summaryMaxKeys });
  const startedAt = Date.now();
  const outbox = new Outbox({
    dataDir,
    deviceId: identity.deviceId,
    batchMaxEvents: config.batchMaxEvents,
    batchMaxDelayMs: config.batchMaxDelayMs,
  });
  const accounting = new SourceAccounting({ maxMessagesPerSourcePerS: config.maxMessagesPerSourcePerS });
  const pipeline = new Pipeline(
    outbox,
    accounting,
    { privacy, ...(summariser && { summariser }) },
    formatOverrides,
  );
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
          tls: tlsMaterial,
        });
  const uplink = new Uplink({
    url: config.central,
    deviceId: identity.deviceId,
    tls: identity,
    inflightBatches: config.inflightBatches,
    reconnectMinMs: config.reconnectMinMs,
    reconnectMaxMs: config.reconnectMaxMs,
    outbox,
    logger,
  });
  uplink.start();
  const status = (): AgentStatus => ({
    device: { id: identity.deviceId, version: VERSION, uptimeS: Math.round((Date.now() - startedAt) / 1000) },
    central: config.central,
    ingest: {
      udp: { ...udp.counters, port: udp.port, kernelDrops: readUdpKernelDrops(udp.port) ?? null },
      tcp: { ...tcp.counters, port: tcp.port },
      ...(tls && { tls: { ...tls.counters, port: tls.port, certNotAfter: tls.certNotAfter } }),
    },
    pipeline: pipeline.counters,
    sources: pipeline.sources(),
    outbox: outbox.stats(),
    uplink: uplink.stats,
  });
  const statusServer = await startStatusServer({
    host: config.statusHost,
    port: config.statusPort,
    getStatus: status,
  });
  return {
    deviceId: identity.deviceId,
    ports: {
      syslogUdp: udp.port,
      syslogTcp: tcp.port,
      ...(tls && { syslogTls: tls.port }),
      status: statusServer.port,
    },
    status,
    close: async () => {
      await Promise.all([udp.close(), tcp.close(), tls?.close()]);
      pipeline.flushAll(); // summaries of the open window: accepted once the flush below commits them
      await outbox.flush();
      await uplink.stop();
      await statusServer.close();
      pipeline.close();
      accounting.close();
      await outbox.close();
    },
  };
}
