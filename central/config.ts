import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { Setting } from '../common/config.js';

/** Every setting of `cyberalarm-central run`; flags, `--help` and `config sample` derive from this. */
export const CentralConfigSchema = Type.Object(
  {
    dataDir: Setting.text(
      './data/central',
      'directory for the CA, TLS certificates, PGlite database and state',
      {
        minLength: 1,
      },
    ),
    db: Setting.text(
      '',
      'PostgreSQL URL (postgres://user@host:5432/db); empty: embedded PGlite in <dataDir>/pglite',
      {
        pattern: '^(|postgres(ql)?://.+)$',
      },
    ),
    brokerHost: Setting.text('0.0.0.0', 'address the embedded MQTT broker binds to'),
    brokerPort: Setting.port(
      8883,
      'embedded MQTT broker (TLS, client certificates required); 0 picks a free port',
    ),
    brokerUrl: Setting.text(
      '',
      'external broker (e.g. Mosquitto) to ingest from instead of the embedded one: mqtts://host:port',
      {
        pattern: '^(|mqtts?://.+)$',
      },
    ),
    ingestGroup: Setting.text(
      'cyberalarm-ingest',
      'shared-subscription group the ingest workers join on an external broker',
      {
        pattern: '^[A-Za-z0-9_-]+$',
      },
    ),
    portalHost: Setting.text('0.0.0.0', 'address the HTTPS portal and API bind to'),
    portalPort: Setting.port(8443, 'HTTPS portal and API; 0 picks a free port'),
    serverNames: Setting.text(
      '',
      'extra DNS names or IPs (comma-separated) for the broker/portal certificate',
    ),
    retentionDays: Setting.int(
      90,
      'days raw events and flow summaries are kept; older day partitions are dropped',
      1,
      36500,
    ),
    rollupRetentionDays: Setting.int(
      730,
      'days the hourly and daily report rollups are kept (they outlive the raw rows for trends)',
      1,
      36500,
    ),
    logLevel: Setting.choice(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const,
      'info',
      'log level',
    ),
  },
  { additionalProperties: false },
);

export type CentralConfig = Static<typeof CentralConfigSchema>;
