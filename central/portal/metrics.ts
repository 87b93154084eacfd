import type { Metric } from '../../common/metrics.js';
import type { IngestCounters } from '../ingest/ingest-counters.js';

export function ingestMetrics(c: IngestCounters): Metric[] {
  const counter = (name: string, help: string, value: number): Metric => ({
    name,
    help,
    type: 'counter',
    samples: [{ value }],
  });
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
      help: 'Batches quarantined, by reason',
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
  ];
}
