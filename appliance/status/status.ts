import type { Metric } from '../../common/metrics.js';
import type { IntelView } from '../detect/intel/live-intel.js';
import type { DetectionView } from '../detect/live.js';
import type { EnrolmentView } from '../enrol/enrolment.js';
import type { HealthSample } from '../health/health.js';
import type { HeartbeatStats } from '../health/heartbeat.js';
import type { TcpListenerCounters } from '../ingest/tcp.js';
import type { TlsListenerCounters } from '../ingest/tls.js';
import type { ListenerCounters } from '../ingest/types.js';
import type { OutboxStats } from '../outbox/outbox.js';
import type { PipelineCounters } from '../pipeline/pipeline.js';
import type { SourceStats } from '../pipeline/sources.js';
import type { UplinkStats } from '../uplink/uplink.js';
import type { SentSample } from './sent.js';

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
  /**
   * The running uplink's counters; state `stopped` while pending or revoked. `restarts`: times a
   * fault inside the MQTT stack restarted the uplink instead of ending the agent (agent.ts).
   */
  readonly uplink: UplinkStats & { readonly restarts?: number };
  readonly enrolment: EnrolmentView;
  readonly health: HealthSample;
  /** The last batch the uplink published, decoded ("what leaves this box"); null before the first. */
  readonly sent: SentSample | null;
  /** Detection: recent alerts for the page; absent in status snapshots from before detection. */
  readonly detection?: DetectionView;
  /** Central's blocklists held (version, entries, last refusal), or why there are none. */
  readonly intel?: IntelView;
  /** Heartbeats to central (appliance/health/heartbeat.ts); absent when healthIntervalS is 0. */
  readonly heartbeat?: HeartbeatStats;
}

/** What `GET /api/status` shows a browser on the LAN that has not signed in: what an officer needs. */
export interface PublicStatus {
  readonly device: { readonly id: string; readonly version: string };
  readonly enrolment: EnrolmentView;
  readonly health: Omit<HealthSample, 'errors'>;
  /** False: sign in (or ask from the box itself) for sources, samples, outbox and uplink detail. */
  readonly full: false;
}

export function publicStatus(s: AgentStatus): PublicStatus {
  const { errors: _errors, ...health } = s.health;
  return {
    device: { id: s.device.id, version: s.device.version },
    enrolment: s.enrolment,
    health,
    full: false,
  };
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
      name: 'cyberalarm_enrolment_state',
      help: 'Enrolment state: 1 for the current one of pending, enrolled, revoked',
      type: 'gauge',
      samples: (['pending', 'enrolled', 'revoked'] as const).map((state) => ({
        labels: { state },
        value: s.enrolment.state === state ? 1 : 0,
      })),
    },
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
      help: 'TCP/TLS connections refused at the hard ceiling (twice maxTcpConnections)',
      type: 'counter',
      samples: byStream((c) => c.refused),
    },
    {
      name: 'cyberalarm_ingest_tcp_evicted_total',
      help: 'TCP/TLS connections closed at maxTcpConnections to admit a newcomer (the one that had delivered least)',
      type: 'counter',
      samples: byStream((c) => c.evicted ?? 0),
    },
    {
      name: 'cyberalarm_ingest_tcp_slow_closed_total',
      help: 'TCP/TLS connections closed because a frame missed its deadline or arrived under the minimum rate',
      type: 'counter',
      samples: byStream((c) => c.slowClosed ?? 0),
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
    counter(
      'cyberalarm_outbox_lost_events_total',
      'Accepted events evicted (outbox full) or lost to failed writes; each reported to central in a loss record',
      s.outbox.lostEvents,
    ),
    counter(
      'cyberalarm_outbox_evicted_batches_total',
      'Batches evicted at maxOutboxBytes',
      s.outbox.evictedBatches,
    ),
    gauge(
      'cyberalarm_outbox_bytes',
      'Bytes stored in the outbox (payloads + per-batch overhead)',
      s.outbox.depthBytes,
    ),
    gauge('cyberalarm_outbox_max_bytes', 'Bound on the outbox in bytes', s.outbox.maxOutboxBytes),
    gauge(
      'cyberalarm_outbox_ok',
      '1 when the outbox state is ok (not full, read-only or failing)',
      s.outbox.state === 'ok' ? 1 : 0,
    ),
    gauge(
      'cyberalarm_outbox_loss_records_pending',
      'Loss records not yet acknowledged by central',
      s.outbox.lossRecordsPending.length,
    ),
    {
      name: 'cyberalarm_outbox_alerts_total',
      help: 'Alerts through the outbox: accepted (committed), acked (by the broker), lost (evicted or failed writes; in a loss record), invalid (refused before sealing)',
      type: 'counter',
      samples: [
        { labels: { outcome: 'accepted' }, value: s.outbox.alertsAccepted },
        { labels: { outcome: 'acked' }, value: s.outbox.alertsAcked },
        { labels: { outcome: 'lost' }, value: s.outbox.alertsLost },
        { labels: { outcome: 'invalid' }, value: s.outbox.alertsInvalid },
      ],
    },
    gauge(
      'cyberalarm_outbox_alerts_pending',
      'Alerts stored and waiting for the broker',
      s.outbox.alertsPending,
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
    counter('cyberalarm_uplink_wire_bytes_total', 'MQTT PUBLISH packet bytes sent', s.uplink.wireBytes),
    counter(
      'cyberalarm_uplink_throttled_total',
      'Times the drain rate held the backlog back',
      s.uplink.throttled,
    ),
    ...detectionMetrics(s.detection),
    counter(
      'cyberalarm_uplink_restarts_total',
      'Times a fault in the MQTT stack restarted the uplink (the outbox kept every batch)',
      s.uplink.restarts ?? 0,
    ),
    ...(s.heartbeat
      ? [
          {
            name: 'cyberalarm_health_heartbeats_total',
            help: 'Heartbeats to central by outcome: acked (broker took it), failed (refused or lost), skipped (no connection: the next replaces it), invalid (refused by the wire schema, a bug)',
            type: 'counter' as const,
            samples: (['acked', 'failed', 'skipped', 'invalid'] as const).map((outcome) => ({
              labels: { outcome },
              value: s.heartbeat?.[outcome] ?? 0,
            })),
          },
        ]
      : []),
  ];
}

/** The uplink's counters before it first starts (the device is pending): all zero, `stopped`. */
export function notRunningUplinkStats(): UplinkStats {
  return {
    state: 'stopped',
    protocolVersion: 5,
    connects: 0,
    connectFailures: 0,
    publishedBatches: 0,
    ackedBatches: 0,
    ackedEvents: 0,
    refusedBatches: 0,
    inflight: 0,
    bytesSent: 0,
    wireBytes: 0,
    lossRecordsSent: 0,
    lossRecordsAcked: 0,
    alertBatchesPublished: 0,
    alertBatchesAcked: 0,
    alertsAcked: 0,
    alertsInflight: 0,
    throttled: 0,
  };
}

/** Detection's counters: what it looked at, what it raised, and how full each detector's state is. */
function detectionMetrics(d: DetectionView | undefined): Metric[] {
  if (d === undefined || !d.enabled) return [];
  const perDetector = (pick: (x: DetectionView['detectors'][number]) => number) =>
    d.detectors.map((x) => ({ labels: { detector: x.name }, value: pick(x) }));
  return [
    {
      name: 'cyberalarm_detect_events_total',
      help: 'Raw events the detectors looked at',
      type: 'counter',
      samples: [{ value: d.counters.rawEvents }],
    },
    {
      name: 'cyberalarm_detect_alerts_total',
      help: 'Alerts raised, by detector',
      type: 'counter',
      samples: perDetector((x) => x.raised),
    },
    {
      name: 'cyberalarm_detect_tracked',
      help: 'Keys (sources, hosts, pairs) a detector tracks now; bounded by detectMaxTrackedSources',
      type: 'gauge',
      samples: perDetector((x) => x.tracked),
    },
    {
      name: 'cyberalarm_detect_evicted_total',
      help: 'Keys a detector dropped at its bound (a flood of spoofed sources shows here)',
      type: 'counter',
      samples: perDetector((x) => x.evicted),
    },
  ];
}
