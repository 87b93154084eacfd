/**
 * Central's Prometheus metrics. `ingestMetrics` are the counters every ingest path keeps (embedded
 * broker or MQTT worker); `workerMetrics` adds the per-process gauges: throughput over the last
 * minute, lag quantiles, devices near the bad-batch threshold, and process CPU (so events per worker
 * core can be read off one scrape: rate(events_stored) / rate(process_cpu_seconds)).
 */
import type { Metric } from '../../common/metrics.js';
import type { BadBatchTracker } from '../ingest/flag-device.js';
import type { IngestCounters, IngestWindows } from '../ingest/ingest-counters.js';

const counter = (name: string, help: string, value: number): Metric => ({
  name,
  help,
  type: 'counter',
  samples: [{ value }],
});

const gauge = (name: string, help: string, value: number, labels?: Record<string, string>): Metric => ({
  name,
  help,
  type: 'gauge',
  samples: [labels ? { labels, value } : { value }],
});

export function ingestMetrics(c: IngestCounters): Metric[] {
  return [
    counter('cyberalarm_central_batches_total', 'Event batches received', c.batches),
    counter('cyberalarm_central_batches_stored_total', 'Batches stored', c.stored),
    counter(
      'cyberalarm_central_events_stored_total',
      'Raw events represented by stored batches',
      c.storedEvents,
    ),
    counter('cyberalarm_central_batches_duplicate_total', 'Redelivered batches ignored', c.duplicates),
    {
      name: 'cyberalarm_central_batches_quarantined_total',
      help: 'Batches quarantined, by reason (at most 64 reason labels, then "other")',
      type: 'counter',
      samples: Object.entries(c.quarantinedByReason).map(([reason, value]) => ({
        labels: { reason },
        value,
      })),
    },
    counter(
      'cyberalarm_central_store_errors_total',
      'Database errors while storing (batch redelivered)',
      c.storeErrors,
    ),
    counter('cyberalarm_central_payload_bytes_total', 'Payload bytes received', c.bytes),
    counter(
      'cyberalarm_central_devices_flagged_total',
      'Devices this process flagged for repeated bad batches',
      c.devicesFlagged,
    ),
    counter('cyberalarm_central_flag_errors_total', 'Failed attempts to flag a device', c.flagErrors),
    {
      name: 'cyberalarm_central_uplink_ignored_total',
      help: 'Uplink messages of a kind central does not ingest yet, by kind (quarantined whole, reason "kind not ingested yet")',
      type: 'counter',
      samples: Object.entries(c.ignoredByKind).map(([kind, value]) => ({ labels: { kind }, value })),
    },
    {
      name: 'cyberalarm_central_event_fields_cleared_total',
      help: 'Fields of stored events left empty because the value was impossible (address: no address or pseudonym; time: more than a day ahead)',
      type: 'counter',
      samples: [
        { labels: { field: 'address' }, value: c.clearedAddresses },
        { labels: { field: 'time' }, value: c.clearedTimes },
      ],
    },
    counter('cyberalarm_central_alert_batches_total', 'Alerts batches received', c.alertBatches),
    counter('cyberalarm_central_alert_batches_stored_total', 'Alerts batches stored', c.alertBatchesStored),
    counter(
      'cyberalarm_central_alert_batches_duplicate_total',
      'Redelivered alerts batches ignored',
      c.alertDuplicates,
    ),
    {
      name: 'cyberalarm_central_alerts_stored_total',
      help: 'New alerts stored, by detector and severity (at most 64 pairs, then "other")',
      type: 'counter',
      samples: Object.entries(c.alertsStoredBy).map(([key, value]) => {
        const [detector = 'other', severity = 'other'] = key.split('|');
        return { labels: { detector, severity }, value };
      }),
    },
    {
      name: 'cyberalarm_central_alert_reports_total',
      help: 'Later reports of a stored alert: updated (the row now shows it) or stale (older than the row, ignored)',
      type: 'counter',
      samples: [
        { labels: { outcome: 'updated' }, value: c.alertsUpdated },
        { labels: { outcome: 'stale' }, value: c.alertsStale },
      ],
    },
    counter(
      'cyberalarm_central_health_reports_total',
      'Heartbeats received (health uplink)',
      c.healthReports,
    ),
    {
      name: 'cyberalarm_central_health_stored_total',
      help: 'Heartbeats by outcome: stored (a row in device_health) or duplicate (a redelivery, nothing written); bad ones are in batches_quarantined_total with a "health: " reason',
      type: 'counter',
      samples: [
        { labels: { outcome: 'stored' }, value: c.healthStored },
        { labels: { outcome: 'duplicate' }, value: c.healthDuplicates },
      ],
    },
    counter(
      'cyberalarm_central_health_time_replaced_total',
      "Heartbeats stored under central's receipt time because the device's clock was more than a day ahead or 30 days behind",
      c.healthTimesReplaced,
    ),
    counter(
      'cyberalarm_central_foreign_topic_total',
      'Messages on a topic that is not a device uplink topic',
      c.ignoredForeign,
    ),
  ];
}

export interface WorkerMetricsSource {
  /** The worker's label: its stable id (client-id prefix), or `embedded`. */
  readonly worker: string;
  readonly windows: IngestWindows;
  readonly badBatches: BadBatchTracker;
  /** Broker connections up, when the process ingests from an external broker. */
  readonly connected?: () => number;
}

export function workerMetrics(source: WorkerMetricsSource, nowMs: number): Metric[] {
  const worker = { worker: source.worker };
  const lag = source.windows.lag.quantiles([0.5, 0.99, 1], nowMs);
  const cpu = process.cpuUsage();
  const metrics: Metric[] = [
    gauge(
      'cyberalarm_central_worker_events_per_second',
      'Raw events stored per second by this worker, mean over the last minute',
      source.windows.throughput.perSecond(nowMs),
      worker,
    ),
    {
      name: 'cyberalarm_central_ingest_lag_seconds',
      help: 'Batch commit time minus its creation time (device clock), over the last minute (max 4096 batches)',
      type: 'gauge',
      samples: lag
        ? [
            { labels: { ...worker, quantile: '0.5' }, value: lag[0]! / 1000 },
            { labels: { ...worker, quantile: '0.99' }, value: lag[1]! / 1000 },
            { labels: { ...worker, quantile: '1' }, value: lag[2]! / 1000 },
          ]
        : [],
    },
    gauge(
      'cyberalarm_central_bad_batch_devices',
      'Devices with a quarantined batch in the current flagging window',
      source.badBatches.trackedDevices,
      worker,
    ),
    counter(
      'process_cpu_seconds_total',
      'User and system CPU time of this process, in seconds',
      (cpu.user + cpu.system) / 1e6,
    ),
    gauge('process_resident_memory_bytes', 'Resident set size, in bytes', process.memoryUsage.rss()),
  ];
  if (source.connected)
    metrics.push(
      gauge('cyberalarm_central_broker_connections', 'MQTT connections up', source.connected(), worker),
    );
  return metrics;
}
