import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import t from 'tap';
import { createCa, issueClientCertificate, issueServerCertificate } from '../../provisioning/ca.js';
import { loadTlsMaterial, startTlsListener, type TlsMaterial } from './tls.js';

const dir = mkdtempSync(join(tmpdir(), 'ca-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const ca = await createCa({ commonName: 'syslog test CA' });
const server = await issueServerCertificate(ca, { hostnames: ['syslog.test'], ips: [] });
const other = await issueServerCertificate(ca, { hostnames: ['other.test'], ips: [] });
const client = await issueClientCertificate(ca, { commonName: 'fw-1', organizationalUnit: 'devices' });
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const certPath = file('server.crt', server.certPem);
const keyPath = file('server.key', server.keyPem);
const caPath = file('ca.crt', ca.certPem);
const otherKeyPath = file('other.key', other.keyPem);
const junkPath = file('junk.pem', 'not a pem file\n');

const settings = (over: Partial<Record<string, unknown>> = {}) => ({
  syslogTlsCert: certPath,
  syslogTlsKey: keyPath,
  syslogTlsCa: '',
  syslogTlsRequireClientCert: false,
  ...over,
});

t.test('loadTlsMaterial: off when no certificate and key, clear errors naming the key', async (t) => {
  t.equal(loadTlsMaterial(settings({ syslogTlsCert: '', syslogTlsKey: '' })), undefined);
  const material = loadTlsMaterial(settings());
  t.ok(material?.certNotAfter.match(/^\d{4}-/), 'expiry reported');
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ syslogTlsKey: '' }, /"syslogTlsKey" \(--syslog-tls-key\): must be set when syslogTlsCert is/],
    [{ syslogTlsCert: '' }, /"syslogTlsCert".*must be set when syslogTlsKey is/],
    [{ syslogTlsCert: join(dir, 'missing.crt') }, /"syslogTlsCert".*cannot read .*missing\.crt/],
    [{ syslogTlsCert: junkPath }, /"syslogTlsCert".*junk\.pem is not a PEM certificate/],
    [{ syslogTlsKey: junkPath }, /"syslogTlsKey".*junk\.pem is not an unencrypted PEM private key/],
    [{ syslogTlsKey: otherKeyPath }, /"syslogTlsKey".*does not belong to the certificate/],
    [{ syslogTlsRequireClientCert: true }, /"syslogTlsCa".*must name the CA/],
    [{ syslogTlsCa: caPath }, /"syslogTlsCa".*set syslogTlsRequireClientCert/],
    [{ syslogTlsCa: junkPath, syslogTlsRequireClientCert: true }, /"syslogTlsCa".*not a PEM certificate/],
    [{ syslogTlsCert: '', syslogTlsKey: '', syslogTlsCa: caPath }, /"syslogTlsCa".*TLS is off/],
  ];
  for (const [over, message] of cases) {
    t.throws(() => loadTlsMaterial(settings(over)), { name: 'ConfigError', message }, JSON.stringify(over));
  }
});

interface Received {
  raw: string;
  source: string;
  transport: string;
  truncated: boolean;
}

async function listener(material: TlsMaterial, maxMessageBytes = 1024) {
  const received: Received[] = [];
  const l = await startTlsListener({
    host: '::',
    port: 0,
    maxMessageBytes,
    maxConnections: 8,
    idleTimeoutMs: 5000,
    onMessage: (frame, source, transport, truncated) =>
      received.push({ raw: frame.toString('utf8'), source, transport, truncated }),
    tls: material,
  });
  return { l, received };
}

function send(port: number, host: string, payload: Buffer | string, extra: tls.ConnectionOptions = {}) {
  return new Promise<void>((resolve, reject) => {
    const socket = tls.connect({ port, host, ca: ca.certPem, servername: 'syslog.test', ...extra }, () => {
      socket.end(payload);
    });
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}

async function until(check: () => boolean, what: string) {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out: ${what}`);
}

t.test('octet-counted frames over TLS, an embedded newline kept inside its frame', async (t) => {
  const { l, received } = await listener(loadTlsMaterial(settings())!, 64);
  t.teardown(() => l.close());
  const frames = ['<13>one', '<13>two\nstill two', `<13>${'x'.repeat(100)}`];
  const wire = frames.map((f) => `${Buffer.byteLength(f)} ${f}`).join('');
  await send(l.port, '127.0.0.1', wire);
  await until(() => received.length === 3, 'three frames');
  t.same(
    received.map((r) => r.raw),
    ['<13>one', '<13>two\nstill two', `<13>${'x'.repeat(60)}`],
  );
  t.same(
    received.map((r) => r.truncated),
    [false, false, true],
  );
  t.equal(received[0]!.source, '127.0.0.1', 'IPv4-mapped peer keyed by its IPv4 address');
  t.equal(received[0]!.transport, 'tls');
  t.match(l.counters, { messages: 3, octetCounted: 1, truncated: 1, connections: 1, handshakeFailures: 0 });

  await send(l.port, '::1', '<13>newline framed\n<13>second\n');
  await until(() => received.length === 5, 'newline frames');
  t.equal(received[3]!.source, '::1');
  t.equal(l.counters.newlineFramed, 1);
});

t.test('handshake failures are counted: plain TCP, and a missing client certificate', async (t) => {
  const { l, received } = await listener(
    loadTlsMaterial(settings({ syslogTlsCa: caPath, syslogTlsRequireClientCert: true }))!,
  );
  t.teardown(() => l.close());
  await new Promise<void>((resolve) => {
    const s = net.connect(l.port, '127.0.0.1', () => s.write('<13>plain text on the TLS port\n'));
    s.on('error', () => undefined);
    s.on('close', () => resolve());
  });
  await send(l.port, '127.0.0.1', '<13>no client certificate\n').catch(() => undefined);
  await until(() => l.counters.handshakeFailures === 2, 'two handshake failures');
  await send(l.port, '127.0.0.1', '<13>with a client certificate\n', {
    cert: client.certPem,
    key: client.keyPem,
  });
  await until(() => received.length === 1, 'the authenticated message');
  t.equal(received[0]!.raw, '<13>with a client certificate');
  t.equal(l.counters.handshakeFailures, 2);
  t.equal(l.counters.messages, 1, 'nothing from the refused connections');
});
