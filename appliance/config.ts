import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { Setting } from '../common/config.js';

/** Every setting of `cyberalarm-agent run`; flags, `--help` and `config sample` derive from this. */
export const AgentConfigSchema = Type.Object(
  {
    dataDir: Setting.text('./data/agent', 'directory for the outbox, identity and state', { minLength: 1 }),
    identityDir: Setting.text('', 'device certificate, key and CA certificate (default: <dataDir>/identity)'),
    listenHost: Setting.text('0.0.0.0', 'address the syslog listeners bind to (:: for IPv6 and IPv4)'),
    syslogUdpPort: Setting.port(5514, 'syslog over UDP; 0 picks a free port (the image uses 514)'),
    syslogTcpPort: Setting.port(
      5514,
      'syslog over TCP, newline or RFC 6587 octet-counted; 0 picks a free port',
    ),
    syslogTlsPort: Setting.port(
      6514,
      'syslog over TLS (RFC 5425); listens only when syslogTlsCert and syslogTlsKey are set; 0 picks a free port',
    ),
    syslogTlsCert: Setting.text(
      '',
      'PEM certificate (with any intermediates) for the syslog TLS listener; empty: TLS off',
    ),
    syslogTlsKey: Setting.text('', 'PEM private key (unencrypted) of syslogTlsCert; empty: TLS off'),
    syslogTlsCa: Setting.text(
      '',
      'PEM CA certificate(s) that syslog TLS client certificates must chain to; only with syslogTlsRequireClientCert',
    ),
    syslogTlsRequireClientCert: Setting.bool(
      false,
      'refuse syslog TLS senders without a client certificate issued by syslogTlsCa (counted as handshake failures)',
    ),
    maxMessagesPerSourcePerS: Setting.int(
      20000,
      'per-source rate limit (token bucket, one second of burst); the excess is counted as rateLimited, not parsed; 0 = unlimited',
      0,
      10_000_000,
    ),
    formatOverrides: Setting.text(
      '',
      'pin the format of a source instead of detecting it: ADDRESS=FORMAT pairs separated by commas, e.g. 192.0.2.1=fortinet_fortigate,2001:db8::1=pfsense (format names: cyberalarm-agent parse --help)',
    ),
    statusHost: Setting.text('0.0.0.0', 'address the status page binds to'),
    statusPort: Setting.port(8080, 'HTTP status page and /api/status; 0 picks a free port'),
    statusAllowedHosts: Setting.text(
      '',
      'extra host names the status page answers form posts for, comma-separated (its own host name, addresses and localhost always work); any other Host header is refused, so a DNS-rebinding page cannot post',
    ),
    consoleIssueFile: Setting.text(
      '',
      "file the box's console shows above its login prompt (the image uses /run/issue.d/cyberalarm.issue): the status page address and, until the admin password is set, the first-time setup code; empty: none",
    ),
    central: Setting.text(
      'mqtts://localhost:8883',
      "central's MQTT broker URL (mqtts://host:port) for a pre-provisioned identity; an enrolled device uses the broker URL central sent at approval",
      { pattern: '^mqtts?://' },
    ),
    enrolmentUrl: Setting.text(
      '',
      "central's enrolment portal base URL, e.g. https://central.example.police.uk:8443; needed unless the identity directory already holds a certificate",
      { pattern: '^(https://[^\\s/?#]+(/[^\\s?#]*)?)?$' },
    ),
    centralCaFile: Setting.text(
      '',
      "PEM CA certificate the image carries; the only CA trusted for enrolment and renewal TLS (central's portal certificate must chain to it)",
    ),
    enrolmentPollS: Setting.int(
      10,
      'shortest wait between enrolment polls (central may ask for longer; errors back off up to 10 minutes)',
      1,
      3600,
    ),
    renewBeforeDays: Setting.int(
      30,
      'renew the device certificate automatically when it expires within this many days',
      1,
      365,
    ),
    maxMessageBytes: Setting.int(
      16384,
      'longer syslog messages are truncated to this and counted',
      480,
      1048576,
    ),
    maxTcpConnections: Setting.int(
      256,
      'concurrent syslog connections per listener (TCP, TLS); when full, a newcomer evicts the connection that has delivered least (counted as evicted)',
      1,
      65535,
    ),
    tcpIdleTimeoutS: Setting.int(
      300,
      'close a syslog TCP or TLS connection that sends nothing (or does not finish its handshake) for this long',
      1,
      86400,
    ),
    udpReceiveBufferBytes: Setting.int(
      8 * 1024 * 1024,
      'UDP socket receive buffer (capped by net.core.rmem_max)',
      65536,
    ),
    privacyInternalAddresses: Setting.choice(
      ['pseudonymise', 'keep', 'drop'] as const,
      'pseudonymise',
      'internal addresses (RFC 1918, CGNAT, link-local, ULA, loopback, privacyNetworks) in every address field: a keyed pseudonym stable per host, as they are, or removed; external addresses are always kept',
    ),
    privacyAddressFields: Setting.text(
      '',
      'per-field exceptions to privacyInternalAddresses: FIELD=POLICY pairs separated by commas, e.g. dst_ip=keep,src_nat_ip=drop (fields: src_ip, dst_ip, src_nat_ip, dst_nat_ip)',
    ),
    privacyNetworks: Setting.text(
      '',
      "the member's own networks, treated as internal besides the built-in ranges: CIDRs separated by commas, e.g. 203.0.113.0/28,2001:db8:1::/48",
    ),
    privacyRuleNames: Setting.choice(
      ['pseudonymise', 'keep', 'drop'] as const,
      'pseudonymise',
      'firewall rule names (member-written text)',
    ),
    privacyInterfaces: Setting.choice(
      ['pseudonymise', 'keep', 'drop'] as const,
      'pseudonymise',
      'interface names (member-written text)',
    ),
    privacyCategories: Setting.choice(
      ['pseudonymise', 'keep', 'drop'] as const,
      'keep',
      'threat and signature names (vendor text such as "Apache Log4j RCE", kept for the cross-member threat picture; some firewalls put them in a message field)',
    ),
    pipelineWorkers: Setting.int(
      -1,
      'threads that parse, minimise and summarise, beside the one reading the sockets; -1 = one per CPU core (none on a one-core box); 0 = all on the main thread',
      -1,
      16,
    ),
    summaryWindowS: Setting.int(
      60,
      'collapse repeated events into one counted flow summary per window of this many seconds; a kill -9 loses at most one window; 0 = off (every event sent on its own)',
      0,
      3600,
    ),
    summaryMaxKeys: Setting.int(
      50000,
      'distinct flows per summary window; reaching it closes the window early (counted as earlyCloses)',
      100,
      1_000_000,
    ),
    detectEnabled: Setting.bool(
      true,
      'run the detectors (scans, brute force, floods, worm fan-out, beaconing, exposed services…) on the minimised events and raise alerts',
    ),
    detectDisabled: Setting.text(
      '',
      'detectors to turn off, comma-separated (names: cyberalarm-agent detect --help), e.g. beaconing,exposed-service',
    ),
    detectIgnore: Setting.text(
      '',
      "addresses and networks never alerted on, comma-separated: your own vulnerability scanner, central's scanner; e.g. 192.168.1.5,203.0.113.0/28",
    ),
    detectMaxTrackedSources: Setting.int(
      10000,
      'sources (or hosts, or pairs) each detector tracks at once; beyond it the least recently active is evicted and counted, so a spoofed-source flood cannot grow memory',
      100,
      1_000_000,
    ),
    healthIntervalS: Setting.int(
      300,
      'seconds between heartbeats to central (uptime, load, memory, disk, temperature, version, log source counts, outbox depth, last upload, uplink restarts, detection on/off); best-effort, never through the outbox; one missed while disconnected is sent on reconnect; 0 = off',
      0,
      86_400,
    ),
    batchMaxEvents: Setting.int(2000, 'most events in one uplink batch', 1, 5000),
    batchMaxDelayMs: Setting.int(
      500,
      'longest an accepted event waits before it is sealed into a batch',
      10,
      60000,
    ),
    inflightBatches: Setting.int(8, 'unacknowledged batches in flight to central', 1, 64),
    maxOutboxBytes: Setting.int(
      0,
      'bound on the outbox (stored batch bytes); when full the oldest batches are evicted and a loss record goes to central; 0 = min(1 GiB, 25 % of the free space on the data directory at start-up, at least 16 MiB)',
      0,
    ),
    uplinkMaxBytesPerS: Setting.int(
      524288,
      'drain rate for the backlog in payload bytes per second (loss records, alerts and health are not limited); keeps a fleet returning from an outage from flattening central; 0 = unlimited',
      0,
    ),
    reconnectMinMs: Setting.int(500, 'first reconnect delay; doubles up to reconnectMaxMs, with jitter', 50),
    reconnectMaxMs: Setting.int(30000, 'longest reconnect delay', 100),
    logLevel: Setting.choice(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const,
      'info',
      'log level',
    ),
  },
  { additionalProperties: false },
);

export type AgentConfig = Static<typeof AgentConfigSchema>;
