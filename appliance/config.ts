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
    statusHost: Setting.text('0.0.0.0', 'address the status page binds to'),
    statusPort: Setting.port(8080, 'HTTP status page and /api/status; 0 picks a free port'),
    central: Setting.text('mqtts://localhost:8883', "central's MQTT broker URL (mqtts://host:port)", {
      pattern: '^mqtts?://',
    }),
    maxMessageBytes: Setting.int(
      16384,
      'longer syslog messages are truncated to this and counted',
      480,
      1048576,
    ),
    maxTcpConnections: Setting.int(
      256,
      'concurrent syslog TCP connections; more are refused and counted',
      1,
      65535,
    ),
    tcpIdleTimeoutS: Setting.int(
      300,
      'close a syslog TCP connection that sends nothing for this long',
      1,
      86400,
    ),
    udpReceiveBufferBytes: Setting.int(
      8 * 1024 * 1024,
      'UDP socket receive buffer (capped by net.core.rmem_max)',
      65536,
    ),
    batchMaxEvents: Setting.int(2000, 'most events in one uplink batch', 1, 5000),
    batchMaxDelayMs: Setting.int(
      500,
      'longest an accepted event waits before it is sealed into a batch',
      10,
      60000,
    ),
    inflightBatches: Setting.int(8, 'unacknowledged batches in flight to central', 1, 64),
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
