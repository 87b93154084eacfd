import type { Metric } from '../../common/metrics.js';
import type { SourceStats } from '../ingest/accounting.js';
import type { TcpListenerCounters } from '../ingest/tcp.js';
import type { TlsListenerCounters } from '../ingest/tls.js';
import type { ListenerCounters } from '../ingest/types.js';
import type { OutboxStats } from '../outbox/outbox.js';
import type { PipelineCounters } from '../pipeline.js';
import type { UplinkStats } from '../uplink/uplink.js';

/** What `GET /api/status` returns. */
export interface AgentStatus {
  readonly device: { readonly id: string; readonly version: string; readonly uptimeS: number };
  readonly central: string;
  readonly ingest: {
    readonly udp: ListenerCounters & {
      port: number;
      receiveBufferBytes: number;
      /** Datagrams the kernel dropped (receive buffer full); null where the OS does not say. */
      kernelDrops: number | null;
    };
    readonly tcp: TcpListenerCounters & { port: number };
    /** Absent when TLS is off. */
    readonly tls?: TlsListenerCounters & { port: number; certNotAfter: string };
  };
  readonly pipeline: PipelineCounters;
  readonly sources: readonly SourceStats[];
  readonly outbox: OutboxStats;
  readonly uplink: UplinkStats;
}

export function statusMetrics(s: AgentStatus): Metric[] {
  const counter = (name: string, help: string, value: number): Metric => ({
    name,
    help,
    type: 'counter',
    samples: [{ value }],
  });
  const gauge = (name: string, help: string, value: number): Metric => ({
    name,
    help,
    type: 'gauge',
    samples: [{ value }],
  });
  const tls = s.ingest.tls;
  const byTransport = (pick: (c: ListenerCounters) => number) => [
    { labels: { transport: 'udp' }, value: pick(s.ingest.udp) },
    { labels: { transport: 'tcp' }, value: pick(s.ingest.tcp) },
    ...(tls ? [{ labels: { transport: 'tls' }, value: pick(tls) }] : []),
  ];
  const byStream = (pick: (c: TcpListenerCounters) => number) => [
    { labels: { transport: 'tcp' }, value: pick(s.ingest.tcp) },
    ...(tls ? [{ labels: { transport: 'tls' }, value: pick(tls) }] : []),
  ];
  return [
    {
      name: 'cyberalarm_ingest_messages_total',
      help: 'Syslog messages received',
      type: 'counter',
      samples: byTransport((c) => c.messages),
    },
    {
      name: 'cyberalarm_ingest_udp_kernel_drops_total',
      help: 'UDP datagrams dropped by the kernel before the agent read them (receive buffer full)',
      type: 'counter',
      samples: [{ value: s.ingest.udp.kernelDrops ?? 0 }],
    },
    {
      name: 'cyberalarm_ingest_truncated_total',
      help: 'Messages cut to maxMessageBytes',
      type: 'counter',
      samples: byTransport((c) => c.truncated),
    },
    {
      name: 'cyberalarm_ingest_tcp_refused_total',
      help: 'TCP/TLS connections refused at maxTcpConnections',
      type: 'counter',
      samples: byStream((c) => c.refused),
    },
    {
      name: 'cyberalarm_ingest_tcp_idle_closed_total',
      help: 'TCP/TLS connections closed after tcpIdleTimeoutS without data',
      type: 'counter',
      samples: byStream((c) => c.idleClosed),
    },
    {
      name: 'cyberalarm_ingest_tcp_framing_errors_total',
      help: 'Bad RFC 6587 octet counts',
      type: 'counter',
      samples: byStream((c) => c.framingErrors),
    },
    counter(
      'cyberalarm_ingest_tls_handshake_failures_total',
      'Failed or timed-out TLS handshakes on the syslog TLS listener',
      tls?.handshakeFailures ?? 0,
    ),
    counter(
      'cyberalarm_ingest_rate_limited_total',
      'Messages over a source maxMessagesPerSourcePerS, not parsed',
      s.pipeline.rateLimited,
    ),
    counter('cyberalarm_parse_parsed_total', 'Messages parsed into events', s.pipeline.parsed),
    counter('cyberalarm_parse_unparsed_total', 'Messages no parser understood', s.pipeline.unparsed),
    counter(
      'cyberalarm_outbox_accepted_events_total',
      'Events committed to the outbox',
      s.outbox.acceptedEvents,
    ),
    counter(
      'cyberalarm_outbox_acked_events_total',
      'Events acknowledged by the broker',
      s.outbox.ackedEvents,
    ),
    counter(
      'cyberalarm_outbox_write_errors_total',
      'Failed outbox writes (events lost)',
      s.outbox.writeErrors,
    ),
    gauge('cyberalarm_outbox_depth_batches', 'Batches waiting in the outbox', s.outbox.depthBatches),
    gauge('cyberalarm_outbox_depth_events', 'Events waiting in the outbox', s.outbox.depthEvents),
    gauge(
      'cyberalarm_uplink_connected',
      '1 when connected to central',
      s.uplink.state === 'connected' ? 1 : 0,
    ),
    gauge('cyberalarm_uplink_inflight_batches', 'Unacknowledged batches in flight', s.uplink.inflight),
    counter('cyberalarm_uplink_published_batches_total', 'Batches published', s.uplink.publishedBatches),
    counter('cyberalarm_uplink_bytes_total', 'Payload bytes published', s.uplink.bytesSent),
  ];
}
