import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { Setting } from '../common/config.js';

/** When a device that keeps sending bad batches is flagged (central/ingest/flag-device.ts). */
const BadBatchSettings = {
  flagAfterBadBatches: Setting.int(
    20,
    'quarantined batches from one device within --flag-window-s that flag the device (devices.flagged)',
    1,
    1_000_000,
  ),
  flagWindowS: Setting.int(600, 'window, in seconds, for --flag-after-bad-batches', 1, 604_800),
};

/**
 * The correlation job (central/correlate/) and the intel lists built from it (central/intel/).
 * Shared by `run` (scheduled) and `correlate` / `intel publish` (on demand).
 */
export const CorrelationSettings = {
  campaignMinMembers: Setting.int(
    3,
    'a campaign: an external source alerted on, or denied, at this many distinct members within --campaign-window-h',
    2,
    1_000_000,
  ),
  campaignWindowH: Setting.int(
    24,
    'hours within which a campaign source must reach --campaign-min-members',
    1,
    720,
  ),
  scannerMinMembers: Setting.int(
    10,
    "a mass scanner: a source at this many members or more (a 'new scanner' finding when never seen before; the 'scanners' intel list, labelled background on appliances, not the 'campaigns' list)",
    2,
    1_000_000,
  ),
  emergingPortMinRatio: Setting.int(
    3,
    "an emerging port: distinct sources in the period at least this many times the port's own daily baseline",
    2,
    1000,
  ),
  emergingPortMinSources: Setting.int(
    10,
    'an emerging port needs at least this many distinct sources in the period',
    1,
    1_000_000,
  ),
  emergingPortBaselineDays: Setting.int(
    28,
    "days before the period that make up a port's baseline (at least 7 days with data are needed)",
    7,
    28,
  ),
  correlateIntervalS: Setting.int(
    3600,
    'seconds between scheduled correlation runs over the last --campaign-window-h hours (0: off)',
    0,
    604_800,
  ),
  intelPublishIntervalS: Setting.int(
    3600,
    'seconds between scheduled intel list publications (campaigns, scanners, imported lists; 0: off)',
    0,
    604_800,
  ),
  intelListDays: Setting.int(
    7,
    'days a campaign or scanner finding keeps its source on the published intel lists',
    1,
    90,
  ),
};

/** Member reports (central/report/): the schedule, e-mail and PDF. */
export const ReportSettings = {
  reportIntervalDays: Setting.int(
    7,
    "days between scheduled member reports (archived in the reports table, e-mailed when --smtp-url and the member's e-mail are set; 0: off)",
    0,
    366,
  ),
  smtpUrl: Setting.text(
    '',
    'SMTP server reports are mailed through: smtp://host:25, smtp://user:pass@host:587 (STARTTLS when offered) or smtps://host:465; empty: no e-mail',
    { pattern: '^(|smtps?://.+)$' },
  ),
  smtpFrom: Setting.text(
    'CyberAlarm <cyberalarm@localhost>',
    'From: address of report e-mails (named smtpFrom, not from: --from is already the start of a report period)',
    { minLength: 3 },
  ),
  chromiumPath: Setting.text(
    '/usr/bin/chromium',
    "Chromium that prints report PDFs (Debian's chromium; optional: without it reports go without a PDF)",
    { minLength: 1 },
  ),
};

/** Fleet health (central/fleet/): when an appliance counts as silent. */
export const FleetSettings = {
  silentAfterH: Setting.int(
    6,
    "hours without a heartbeat or any data before an appliance is 'silent' on the officers' fleet page; its member is e-mailed once per silence when --smtp-url is set",
    1,
    720,
  ),
};

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
    ingestClientId: Setting.text(
      '',
      'MQTT client id of the ingest session on an external broker; keep it stable across restarts (empty: central-ingest-<hostname>)',
      { pattern: '^[A-Za-z0-9_.-]{0,64}$' },
    ),
    ...BadBatchSettings,
    ...CorrelationSettings,
    ...ReportSettings,
    ...FleetSettings,
    portalHost: Setting.text('0.0.0.0', 'address the HTTPS portal and API bind to'),
    portalPort: Setting.port(8443, 'HTTPS portal and API; 0 picks a free port'),
    serverNames: Setting.text(
      '',
      'extra DNS names or IPs (comma-separated) for the broker/portal certificate',
    ),
    publicBrokerUrl: Setting.text(
      '',
      'broker URL handed to enrolled devices (mqtts://host:port); empty: mqtts://<host name the device used for the portal>:<broker port>',
      { pattern: '^(|mqtts://.+)$' },
    ),
    pairingCodeTtlDays: Setting.int(
      7,
      'days an appliance pairing code stays valid before the appliance must register again',
      1,
      90,
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
    rollupIntervalS: Setting.int(
      10,
      'seconds between rollup job runs; reports lag ingest by up to this much (they state rolledUpTo)',
      1,
      3600,
    ),
    forceTopK: Setting.int(
      1000,
      'sources and ports kept per force-day for force-wide top lists (exact totals either way; the report states the error bound)',
      10,
      100_000,
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

/** Every setting of `cyberalarm-central worker`: a stateless ingest worker (run any number). */
export const WorkerConfigSchema = Type.Object(
  {
    dataDir: Setting.text(
      './data/central',
      "directory holding central's CA certificate (ca/ca.crt) and the ingest client certificate and key (tls/ingest.crt, tls/ingest.key); copy them from central",
      { minLength: 1 },
    ),
    db: Setting.text('', 'PostgreSQL URL (postgres://user@host:5432/db); required: workers share it', {
      pattern: '^postgres(ql)?://.+$',
    }),
    brokerUrl: Setting.text('', "the broker's worker listener: mqtts://host:port; required", {
      pattern: '^mqtts?://.+$',
    }),
    ingestGroup: Setting.text('cyberalarm-ingest', 'shared-subscription group the ingest workers join', {
      pattern: '^[A-Za-z0-9_-]+$',
    }),
    workerId: Setting.text(
      '',
      'stable, unique id of this worker: its MQTT client ids are <id>-<n>; restart it with the same id (empty: ingest-<hostname>)',
      { pattern: '^[A-Za-z0-9_.-]{0,56}$' },
    ),
    connections: Setting.int(
      4,
      'MQTT sessions on the shared subscription, i.e. batches stored concurrently by this worker',
      1,
      64,
    ),
    sessionExpiryS: Setting.int(
      86_400,
      'how long the broker keeps a stopped worker session and its queued batches, in seconds',
      60,
      4_294_967_295,
    ),
    ...BadBatchSettings,
    metricsHost: Setting.text('127.0.0.1', 'address of the plain-HTTP /metrics endpoint (keep it internal)'),
    metricsPort: Setting.port(9464, 'port of /metrics; 0 picks a free port'),
    logLevel: Setting.choice(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const,
      'info',
      'log level',
    ),
  },
  { additionalProperties: false },
);

export type WorkerConfig = Static<typeof WorkerConfigSchema>;

const onDemandStore = {
  dataDir: Setting.text(
    './data/central',
    "central's data directory (the PGlite database, the intel lists and key)",
    {
      minLength: 1,
    },
  ),
  db: Setting.text(
    '',
    'PostgreSQL URL (postgres://user@host:5432/db); empty: the PGlite database in <dataDir>',
    {
      pattern: '^(|postgres(ql)?://.+)$',
    },
  ),
};

/** `cyberalarm-central correlate`: the correlation job once, over any period. */
const {
  correlateIntervalS: _interval,
  intelPublishIntervalS: _publishInterval,
  intelListDays: _listDays,
  ...correlationJobSettings
} = CorrelationSettings;

export const CorrelateConfigSchema = Type.Object(
  { ...onDemandStore, ...correlationJobSettings },
  { additionalProperties: false },
);
export type CorrelateConfig = Static<typeof CorrelateConfigSchema>;

/** `cyberalarm-central intel publish`: through the running central, or straight to an external broker. */
export const IntelPublishConfigSchema = Type.Object(
  {
    ...onDemandStore,
    brokerUrl: Setting.text(
      '',
      "when central is not running: the external broker's worker listener (mqtts://host:port), reached with central's ingest certificate",
      { pattern: '^(|mqtts?://.+)$' },
    ),
    scannerMinMembers: CorrelationSettings.scannerMinMembers,
    intelListDays: CorrelationSettings.intelListDays,
  },
  { additionalProperties: false },
);
export type IntelPublishConfig = Static<typeof IntelPublishConfigSchema>;
