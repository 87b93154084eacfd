/** In-process ingest counters for /metrics (the durable totals live in the database). */
export interface IngestCounters {
  batches: number;
  stored: number;
  storedEvents: number;
  duplicates: number;
  quarantined: number;
  quarantinedByReason: Record<string, number>;
  storeErrors: number;
  bytes: number;
}

export function newIngestCounters(): IngestCounters {
  return {
    batches: 0,
    stored: 0,
    storedEvents: 0,
    duplicates: 0,
    quarantined: 0,
    quarantinedByReason: {},
    storeErrors: 0,
    bytes: 0,
  };
}
