/**
 * Syslog transports end to end against a real agent process listening dual stack (`::`): TLS
 * (RFC 5425) with a certificate from our CA, TCP and UDP over IPv6 and IPv4, and the limits that
 * must never be silent (per-source rate limit, idle timeout, connection cap), plus a per-source
 * format override. Everything is asserted through the agent's /api/status. No central is needed:
 * the uplink retries in the background while the listeners work.
 */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import t from 'tap';
import { createCa, issueServerCertificate } from '../provisioning/ca.js';
import {
  AGENT_CLI,
  CENTRAL_CLI,
  getJson,
  runCli,
  startAgentProcess,
  waitFor,
} from '../tools/demo/harness.js';

interface SourceView {
  source: string;
  messages: number;
  bytes: number;
  parsed: number;
  unparsed: number;
  rateLimited: number;
  truncated: number;
  format?: string;
  confidence?: number;
  formatFrom?: string;
  firstSeen: string;
  lastSeen: string;
  unparsedSamples: string[];
}

interface StreamView {
  messages: number;
  connections: number;
  open: number;
  refused: number;
  evicted: number;
  idleClosed: number;
  octetCounted: number;
  newlineFramed: number;
  truncated: number;
  port: number;
}

interface StatusView {
  ingest: {
    udp: { messages: number };
    tcp: StreamView;
    tls?: StreamView & { handshakeFailures: number; certNotAfter: string };
  };
  pipeline: { received: number; parsed: number; unparsed: number; rateLimited: number };
  sources: SourceView[];
}

const fixture = (family: string) =>
  (
    JSON.parse(
      readFileSync(new URL(`../appliance/parse/families/${family}.jsonl`, import.meta.url), 'utf8').split(
        '\n',
      )[0]!,
    ) as { raw: string }
  ).raw;
const PFSENSE = fixture('pfsense');
const FORTIGATE = fixture('fortinet_fortigate');
const RATE_LIMIT = 100;
const MAX_CONNECTIONS = 4;

const dir = mkdtempSync(join(tmpdir(), 'ca-e2e-transports-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const ca = await createCa({ commonName: 'syslog e2e CA' });
const server = await issueServerCertificate(ca, { hostnames: ['appliance.test'], ips: [] });
const certPath = join(dir, 'syslog.crt');
const keyPath = join(dir, 'syslog.key');
writeFileSync(certPath, server.certPem);
writeFileSync(keyPath, server.keyPem, { mode: 0o600 });
const identityDir = join(dir, 'agent', 'identity');
await runCli(CENTRAL_CLI, [
  'device',
  'issue',
  '--id',
  'e2e-transports',
  '--out',
  identityDir,
  '--data-dir',
  join(dir, 'central'),
]);
const NO_CENTRAL = 'mqtts://localhost:1';
const execFileAsync = promisify(execFile);

const agent = await startAgentProcess(join(dir, 'agent'), identityDir, NO_CENTRAL, [
  '--listen-host',
  '::',
  '--syslog-tls-port',
  '0',
  '--syslog-tls-cert',
  certPath,
  '--syslog-tls-key',
  keyPath,
  '--max-messages-per-source-per-s',
  String(RATE_LIMIT),
  '--tcp-idle-timeout-s',
  '1',
  '--max-tcp-connections',
  String(MAX_CONNECTIONS),
  '--max-message-bytes',
  '1024',
  '--format-overrides',
  '127.0.0.3=pfsense',
]);
t.teardown(() => agent.kill());
const tlsPort = Number(agent.info.syslogTls);
const status = () => getJson<StatusView>(`http://127.0.0.1:${agent.statusPort}/api/status`);
const source = (s: StatusView, key: string) => s.sources.find((x) => x.source === key);
/**
 * The source has sent at least `n` messages and the parse workers are through all of them
 * (a source's messages are counted on receipt, its parsed/unparsed when a worker answers).
 */
const settled = (s: StatusView, key: string, n: number) => {
  const x = source(s, key);
  return x !== undefined && x.messages >= n && x.parsed + x.unparsed + x.rateLimited === x.messages;
};

/** Resolves when the server closes the connection (or it fails). */
function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.on('error', () => undefined);
    socket.once('close', () => resolve());
  });
}

function tcpSend(host: string, payload: string, localAddress?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: agent.tcpPort, localAddress }, () => socket.end(payload));
    socket.once('error', reject);
    socket.once('close', () => resolve());
  });
}

function udpSend(host: string, messages: string[]): Promise<void> {
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    let left = messages.length;
    for (const m of messages) {
      socket.send(m, agent.udpPort, host, (err) => {
        if (err) reject(err);
        if (--left === 0) socket.close(() => resolve());
      });
    }
  });
}

t.test('TLS: octet-counted frames, one with an embedded newline, one oversized', async (t) => {
  t.ok(tlsPort > 0, 'the TLS listener is up');
  const embedded = '<13>Jun 14 10:01:02 host app: first line\nsecond line of the same message';
  const oversized = `<13>${'y'.repeat(3000)}`;
  const frames = [PFSENSE, embedded, FORTIGATE, oversized];
  const wire = frames.map((f) => `${Buffer.byteLength(f)} ${f}`).join('');
  await new Promise<void>((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port: tlsPort, ca: ca.certPem, servername: 'appliance.test' },
      () => socket.end(wire),
    );
    socket.once('error', reject);
    socket.once('close', () => resolve());
  });
  // A plain-text sender on the TLS port is a failed handshake, counted.
  const plain = net.connect(tlsPort, '127.0.0.1', () => plain.write('<13>not TLS\n'));
  await closed(plain);

  const s = await waitFor(
    'TLS messages and the handshake failure',
    async () => {
      const s = await status();
      return s.ingest.tls &&
        s.ingest.tls.messages >= 4 &&
        s.ingest.tls.handshakeFailures >= 1 &&
        settled(s, '127.0.0.1', 4)
        ? s
        : undefined;
    },
    15_000,
  );
  t.match(s.ingest.tls, { messages: 4, octetCounted: 1, truncated: 1, handshakeFailures: 1, port: tlsPort });
  t.ok(Date.parse(s.ingest.tls!.certNotAfter) > Date.now(), 'certificate expiry shown');
  const src = source(s, '127.0.0.1')!;
  t.match(src, { messages: 4, parsed: 2, unparsed: 2, truncated: 1, rateLimited: 0 });
  t.ok(src.unparsedSamples.includes(embedded), 'the embedded newline stayed inside its one message');
  t.ok(
    src.unparsedSamples.some((x) => x.startsWith('<13>yyy') && x.length === 513 && x.endsWith('…')),
    'samples are cut to 512 characters',
  );
  t.ok(src.firstSeen <= src.lastSeen);
  t.notOk(
    s.sources.some((x) => x.source.startsWith('::ffff:')),
    'IPv4-mapped addresses are keyed as IPv4',
  );
  const metrics = await (await fetch(`http://127.0.0.1:${agent.statusPort}/metrics`)).text();
  t.match(metrics, /cyberalarm_ingest_tls_handshake_failures_total 1/);
  t.match(metrics, /cyberalarm_ingest_messages_total\{transport="tls"\} 4/);
});

t.test('IPv6: newline-framed TCP and UDP from ::1; IPv4 UDP on the same dual-stack socket', async (t) => {
  await tcpSend('::1', `${PFSENSE}\n${PFSENSE}\n<13>nothing to parse here\n${FORTIGATE}\n`);
  await udpSend('::1', [PFSENSE, FORTIGATE, 'udp noise']);
  await udpSend('127.0.0.1', [PFSENSE]);
  const s = await waitFor(
    'IPv6 and IPv4 messages',
    async () => {
      const s = await status();
      return settled(s, '::1', 7) && settled(s, '127.0.0.1', 5) ? s : undefined;
    },
    15_000,
  );
  t.match(source(s, '::1'), { messages: 7, parsed: 5, unparsed: 2, rateLimited: 0 });
  t.match(source(s, '::1'), { format: String, formatFrom: 'detection' });
  t.ok(s.ingest.tcp.newlineFramed >= 1, 'newline framing detected');
  t.equal(s.ingest.udp.messages, 4);
  t.match(source(s, '127.0.0.1'), { messages: 5, parsed: 3 }, 'IPv4 over udp6 counted under 127.0.0.1');
});

t.test('a burst over the per-source rate limit: the excess is counted, the rest parsed', async (t) => {
  const burst = 600;
  await tcpSend('127.0.0.1', `${PFSENSE}\n`.repeat(burst), '127.0.0.2');
  const s = await waitFor(
    'the burst',
    async () => {
      const s = await status();
      return settled(s, '127.0.0.2', burst) ? s : undefined;
    },
    15_000,
  );
  const src = source(s, '127.0.0.2')!;
  t.equal(src.messages, burst);
  t.equal(src.parsed + src.unparsed + src.rateLimited, burst, 'every message accounted for');
  t.equal(src.unparsed, 0);
  t.ok(src.parsed >= RATE_LIMIT, `at least the burst allowance parsed (${src.parsed})`);
  t.ok(src.rateLimited >= burst - 3 * RATE_LIMIT, `the excess rate-limited (${src.rateLimited})`);
  t.equal(s.pipeline.rateLimited, src.rateLimited, 'in the totals too');
  t.equal(
    s.pipeline.parsed + s.pipeline.unparsed + s.pipeline.rateLimited,
    s.pipeline.received,
    'totals add up',
  );
  t.equal(source(s, '127.0.0.1')!.rateLimited, 0, 'other sources are not limited');
});

t.test('a TCP client that sends nothing is closed after the idle timeout and counted', async (t) => {
  const before = (await status()).ingest.tcp.idleClosed;
  const started = Date.now();
  const idle = net.connect(agent.tcpPort, '127.0.0.1');
  await closed(idle);
  t.ok(Date.now() - started >= 900, 'closed by the server after about a second');
  const s = await waitFor(
    'idle close counted',
    async () => {
      const s = await status();
      return s.ingest.tcp.idleClosed > before ? s : undefined;
    },
    5_000,
  );
  t.equal(s.ingest.tcp.idleClosed, before + 1);
});

t.test('at maxTcpConnections a newcomer evicts a connection that delivered nothing', async (t) => {
  const before = (await status()).ingest.tcp;
  const held: net.Socket[] = [];
  for (let i = 0; i < MAX_CONNECTIONS; i++) {
    held.push(
      await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect(agent.tcpPort, '127.0.0.1', () => resolve(s));
        s.once('error', reject);
      }),
    );
  }
  // Empty lines keep them active (they reset the idle timer and are not messages): a slowloris
  // that fills the listener without ever delivering a message.
  const keepAlive = setInterval(() => {
    for (const s of held) if (!s.destroyed) s.write('\n');
  }, 200);
  const heldClosed = held.map(closed);
  t.teardown(() => {
    clearInterval(keepAlive);
    for (const s of held) s.destroy();
  });
  await waitFor(
    'the held connections to be open',
    async () => ((await status()).ingest.tcp.open >= MAX_CONNECTIONS ? true : undefined),
    5_000,
    50,
  );
  // Before, the listener refused this sender; now it evicts one of the idle holders to let it in.
  await tcpSend('127.0.0.1', `${PFSENSE}\n`, '127.0.0.4');
  const s = await waitFor(
    'the real sender parsed and the eviction counted',
    async () => {
      const s = await status();
      return s.ingest.tcp.evicted >= before.evicted + 1 && settled(s, '127.0.0.4', 1) ? s : undefined;
    },
    5_000,
  );
  t.equal(s.ingest.tcp.refused, before.refused, 'nobody refused');
  t.ok(s.ingest.tcp.evicted >= before.evicted + 1, 'a connection that delivered nothing made room');
  t.equal(source(s, '127.0.0.4')?.parsed, 1, 'the real sender got through');
  await Promise.race([...heldClosed, new Promise((r) => setTimeout(r, 5_000))]);
  t.ok(
    held.some((h) => h.destroyed),
    'one of the holders was closed',
  );
});

t.test('formatOverrides pins a source to one family, with no fallback', async (t) => {
  // The previous test's held connections close asynchronously; until the agent has seen them go,
  // a new connection would evict one of them at maxTcpConnections.
  await waitFor(
    'the previous connections to close',
    async () => ((await status()).ingest.tcp.open === 0 ? true : undefined),
    5_000,
    50,
  );
  await tcpSend('127.0.0.1', `${PFSENSE}\n${FORTIGATE}\n`, '127.0.0.3');
  const s = await waitFor(
    'the overridden source',
    async () => {
      const s = await status();
      return settled(s, '127.0.0.3', 2) ? s : undefined;
    },
    15_000,
  );
  t.match(source(s, '127.0.0.3'), {
    messages: 2,
    parsed: 1,
    unparsed: 1,
    format: 'pfsense',
    confidence: 1,
    formatFrom: 'override',
  });
  t.ok(source(s, '127.0.0.3')!.unparsedSamples[0]!.includes('devname='), 'the FortiGate line was not parsed');
});

t.test('bad TLS or override settings stop start-up with the key named', async (t) => {
  // execFile waits for the process to close, so its stderr is complete (a start that wrongly succeeds
  // is ended by the timeout and fails the match).
  const start = (args: string[]) =>
    execFileAsync(
      process.execPath,
      [AGENT_CLI, 'run', '--data-dir', join(dir, 'bad'), '--identity-dir', identityDir, ...args],
      { timeout: 30_000 },
    ).then(
      () => 'started',
      (err: { stderr?: string; code?: number }) => `exit ${err.code}: ${err.stderr ?? ''}`,
    );
  t.match(
    await start(['--syslog-tls-cert', join(dir, 'missing.crt'), '--syslog-tls-key', keyPath]),
    /^exit 2: .*config key "syslogTlsCert" \(--syslog-tls-cert\): cannot read .*missing\.crt/,
  );
  t.match(
    await start(['--format-overrides', '10.0.0.1=fortinet']),
    /config key "formatOverrides".*unknown format "fortinet".*accepted: .*fortinet_fortigate/,
  );
});
