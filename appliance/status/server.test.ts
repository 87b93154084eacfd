import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { formatEnrolmentQr, parseEnrolmentQr } from '../../provisioning/enrolment.js';
import type { Alert } from '../detect/alert.js';
import { DETECTION_OFF, type DetectionView } from '../detect/live.js';
import type { EnrolmentView } from '../enrol/enrolment.js';
import { buildStatusApp, SESSION_COOKIE } from './server.js';
import { SETUP_CODE_FILE } from './setup-code.js';
import { type AgentStatus, notRunningUplinkStats } from './status.js';

const root = mkdtempSync(join(tmpdir(), 'ca-status-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>';
const qrFields = {
  deviceId: 'ca-abcdefghijklmnopqrst',
  pairingCode: 'ABCD-EFGH',
  fingerprint: Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(
    ':',
  ),
  centralUrl: 'https://central.example:8443',
};
const pendingView: EnrolmentView = {
  state: 'pending',
  deviceId: qrFields.deviceId,
  fingerprint: qrFields.fingerprint,
  centralUrl: qrFields.centralUrl,
  pairingCode: qrFields.pairingCode,
  qr: formatEnrolmentQr(qrFields),
};

/** Enough of a status for the page and the API (the fields they read). */
function fakeStatus(enrolment: EnrolmentView = pendingView): AgentStatus {
  return {
    device: { id: enrolment.deviceId, version: '9.9.9', uptimeS: 5 },
    central: '',
    ingest: {
      udp: { messages: 1, truncated: 0, port: 5514, receiveBufferBytes: 0, kernelDrops: 0 },
      tcp: { messages: 0, truncated: 0, port: 5515, refused: 0, idleClosed: 0, framingErrors: 0 },
    },
    pipeline: {
      received: 1,
      parsed: 0,
      unparsed: 1,
      rateLimited: 0,
      byTransport: {},
      byFamily: {},
      unparsedReasons: {},
    },
    sources: [
      {
        source: '192.0.2.1',
        messages: 1,
        bytes: 10,
        parsed: 0,
        unparsed: 1,
        rateLimited: 0,
        truncated: 0,
        firstSeen: '2025-01-01T00:00:00.000Z',
        lastSeen: '2025-01-01T00:00:00.000Z',
        unparsedSamples: [`hello ${HOSTILE}`],
      },
    ],
    outbox: {
      state: 'ok',
      depthBatches: 0,
      depthEvents: 7,
      depthBytes: 0,
      maxOutboxBytes: 1,
      acceptedEvents: 7,
      ackedEvents: 0,
      writeErrors: 0,
      lostEvents: 0,
      lossRecordsPending: [],
    },
    uplink: { ...notRunningUplinkStats(), restarts: 2 },
    enrolment,
    health: {
      sampledAt: '2025-01-01T00:00:00.000Z',
      version: '9.9.9',
      cpuLoadPercent: 3,
      memory: null,
      disk: null,
      temperatureC: null,
      uptimeS: 100,
      errors: ['fsSize: secret path /x'],
    },
    sent: null,
  } as unknown as AgentStatus;
}

const silent = { info: () => undefined, warn: () => undefined };

async function app(
  status: () => AgentStatus = () => fakeStatus(),
  dataDir = mkdtempSync(join(root, `s${n++}-`)),
) {
  const built = await buildStatusApp({
    getStatus: status,
    dataDir,
    allowedHosts: ['box.lan'],
    logger: silent,
  });
  t.teardown(built.close);
  return built.app;
}

/** What a member does: reads the code from the box (its screen, its log, or this file). */
const setupCodeOf = (dataDir: string) => readFileSync(join(dataDir, SETUP_CODE_FILE), 'utf8').trim();

const LAN = '192.168.1.50';

t.test('/api/status carries the exact QR text, which parseEnrolmentQr accepts', async (t) => {
  const a = await app();
  for (const remoteAddress of ['127.0.0.1', LAN]) {
    const res = await a.inject({ url: '/api/status', remoteAddress });
    const body = res.json() as { enrolment: EnrolmentView };
    t.equal(body.enrolment.state, 'pending');
    t.equal(body.enrolment.qr, pendingView.qr, `from ${remoteAddress}`);
    t.same(parseEnrolmentQr(body.enrolment.qr ?? ''), qrFields, 'the QR text parses to what the page shows');
    t.equal(body.enrolment.pairingCode, 'ABCD-EFGH');
    t.equal(body.enrolment.fingerprint, qrFields.fingerprint);
  }
  const svg = await a.inject({ url: '/api/enrolment/qr.svg', remoteAddress: LAN });
  t.equal(svg.statusCode, 200);
  t.match(svg.body, /^<svg/);
});

t.test('the LAN sees enrolment and basic health only; the box itself sees everything', async (t) => {
  const a = await app();
  const lan = (await a.inject({ url: '/api/status', remoteAddress: LAN })).json();
  t.equal(lan.full, false);
  t.ok(lan.health.cpuLoadPercent !== undefined);
  for (const hidden of ['sources', 'outbox', 'uplink', 'pipeline', 'ingest', 'sent'])
    t.notOk(hidden in lan, `${hidden} hidden from the LAN`);
  t.notOk('errors' in lan.health, 'probe errors hidden');
  const local = (await a.inject({ url: '/api/status', remoteAddress: '::1' })).json();
  t.equal(local.outbox.acceptedEvents, 7, 'loopback gets the counters the harness reads');
  t.equal(local.sources.length, 1);
  t.equal((await a.inject({ url: '/metrics', remoteAddress: LAN })).statusCode, 401);
  const metrics = await a.inject({ url: '/metrics', remoteAddress: '127.0.0.1' });
  t.match(metrics.body, /cyberalarm_enrolment_state\{state="pending"\} 1/);
  t.match(
    metrics.body,
    /cyberalarm_uplink_restarts_total 2/,
    'uplink restarts after a fault in the MQTT stack',
  );

  const page = (await a.inject({ url: '/', remoteAddress: LAN })).body;
  t.match(page, /data-testid="enrolment-qr"/, 'the QR is public');
  t.match(page, /<svg/, 'server-rendered SVG');
  t.match(page, /ABCD-EFGH/);
  t.match(page, /ca-abcdefghijklmnopqrst/);
  t.notMatch(page, /192\.0\.2\.1/, 'sources need the password');
  t.match(page, /Set the admin password/);
  t.notMatch(page, /<script/i, 'no script anywhere');
});

t.test('log text is escaped on the page', async (t) => {
  const a = await app();
  const res = await a.inject({ url: '/', remoteAddress: '127.0.0.1' });
  t.match(res.headers['content-security-policy'], /default-src 'none'/);
  t.notMatch(res.body, /<script>alert/);
  t.notMatch(res.body, /<img src=x/);
  t.match(res.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;&lt;img src=x onerror=alert\(2\)&gt;/);
});

t.test('first visit sets the password; the session shows the rest; POSTs need this origin', async (t) => {
  const dataDir = mkdtempSync(join(root, `s${n++}-`));
  const a = await app(undefined, dataDir);
  const code = setupCodeOf(dataDir);
  const form = (password: string, confirm = password) =>
    `setupCode=${code}&password=${encodeURIComponent(password)}&confirm=${encodeURIComponent(confirm)}`;
  const post = (url: string, payload: string, headers: Record<string, string> = {}) =>
    a.inject({
      method: 'POST',
      url,
      payload,
      remoteAddress: LAN,
      headers: { host: 'box.lan:8080', 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });
  t.equal((await post('/setup', form('correct horse battery'))).statusCode, 403, 'no Origin: refused');
  t.equal(
    (await post('/setup', form('correct horse battery'), { origin: 'http://evil.example' })).statusCode,
    403,
    'another origin: refused',
  );
  const own = { origin: 'http://box.lan:8080' };
  t.equal((await post('/setup', form('correct horse battery', 'different one!'), own)).statusCode, 400);
  const set = await post('/setup', form('correct horse battery'), own);
  t.equal(set.statusCode, 303);
  const cookie = set.cookies.find((c) => c.name === SESSION_COOKIE);
  t.ok(cookie, 'a session cookie');
  t.equal(cookie?.httpOnly, true);
  t.equal(cookie?.sameSite, 'Strict');
  t.equal((await post('/setup', form('another password!'), own)).statusCode, 400, 'set once only');

  const signedIn = await a.inject({
    url: '/',
    remoteAddress: LAN,
    cookies: { [SESSION_COOKIE]: cookie?.value ?? '' },
  });
  t.match(signedIn.body, /192\.0\.2\.1/, 'sources shown to the admin');
  t.match(signedIn.body, /data-testid="uplink-state"/);
  t.match(signedIn.body, /Sign out/);
  const api = await a.inject({
    url: '/api/status',
    remoteAddress: LAN,
    cookies: { [SESSION_COOKIE]: cookie?.value ?? '' },
  });
  t.equal(api.json().sources.length, 1, 'and the full API');

  t.equal((await post('/login', 'password=wrong+password', own)).statusCode, 401);
  const login = await post('/login', `password=${encodeURIComponent('correct horse battery')}`, own);
  t.equal(login.statusCode, 303);
  t.ok(login.cookies.some((c) => c.name === SESSION_COOKIE && c.value));
  const out = await post('/logout', '', { ...own, cookie: `${SESSION_COOKIE}=${cookie?.value}` });
  t.equal(out.statusCode, 303);
  const after = await a.inject({
    url: '/',
    remoteAddress: LAN,
    cookies: { [SESSION_COOKIE]: cookie?.value ?? '' },
  });
  t.notMatch(after.body, /192\.0\.2\.1/, 'signed out');
  t.match(after.body, /Sign in/);
});

t.test('enrolled and revoked: no QR; the state is shown', async (t) => {
  const enrolled: EnrolmentView = {
    state: 'enrolled',
    deviceId: 'dev-1',
    fingerprint: 'AA:BB',
    centralUrl: '',
  };
  let view = enrolled;
  const a = await app(() => fakeStatus(view));
  let page = (await a.inject({ url: '/', remoteAddress: LAN })).body;
  t.match(page, /data-testid="enrolment-state">Enrolled/);
  t.notMatch(page, /enrolment-qr/);
  t.equal((await a.inject({ url: '/api/enrolment/qr.svg' })).statusCode, 404);
  view = { ...enrolled, state: 'revoked', detail: 'central revoked this device: <b>x</b>' };
  page = (await a.inject({ url: '/', remoteAddress: LAN })).body;
  t.match(page, /data-testid="enrolment-state">Revoked/);
  t.match(page, /&lt;b&gt;x&lt;\/b&gt;/, 'central text escaped too');
});

t.test('an unclaimed box: setting the admin password needs the setup code from the box', async (t) => {
  const dataDir = mkdtempSync(join(root, `s${n++}-`));
  const logged: unknown[] = [];
  const built = await buildStatusApp({
    getStatus: () => fakeStatus(),
    dataDir,
    allowedHosts: ['box.lan'],
    logger: { info: () => undefined, warn: (fields: unknown) => logged.push(fields) },
    consoleIssueFile: join(dataDir, 'console.issue'),
    publicPort: 8080,
  });
  t.teardown(built.close);
  const a = built.app;
  const code = existsSync(join(dataDir, SETUP_CODE_FILE)) ? setupCodeOf(dataDir) : 'NO CODE FILE';
  const onConsole = () => readFileSync(join(dataDir, 'console.issue'), 'utf8');
  t.match(onConsole(), `First-time setup code: ${code.slice(0, 5)}-${code.slice(5)}`, 'on the box’s console');
  t.match(onConsole(), 'Status page: http://\\4:8080/', 'with the page’s address (getty fills in \\4)');
  t.equal(statSync(join(dataDir, 'console.issue')).mode & 0o777, 0o600, 'readable by root only');
  t.match(code, /^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{10}$/, '10 characters, no look-alikes');
  t.equal((statSync(join(dataDir, SETUP_CODE_FILE), { throwIfNoEntry: false })?.mode ?? 0) & 0o777, 0o600);
  t.match(logged[0], { setupCode: `${code.slice(0, 5)}-${code.slice(5)}` }, 'in the first log lines');
  const body = (extra: string) => `password=correct+horse+battery&confirm=correct+horse+battery${extra}`;
  const post = (payload: string, host = 'box.lan:8080', remoteAddress = LAN) =>
    a.inject({
      method: 'POST',
      url: '/setup',
      payload,
      remoteAddress,
      headers: { host, origin: `http://${host}`, 'content-type': 'application/x-www-form-urlencoded' },
    });

  const publicPage = (await a.inject({ url: '/', remoteAddress: LAN })).body;
  t.notMatch(publicPage, code, 'the code is not on the public page');
  t.notMatch(publicPage, code.slice(0, 5));
  t.notMatch(JSON.stringify((await a.inject({ url: '/api/status', remoteAddress: LAN })).json()), code);
  t.notMatch((await a.inject({ url: '/api/enrolment/qr.svg', remoteAddress: LAN })).body, code);
  t.match(
    (await a.inject({ url: '/', remoteAddress: '127.0.0.1' })).body,
    code.slice(0, 5),
    'shown on the box',
  );

  t.equal((await post(body(''))).statusCode, 403, 'no code: refused');
  t.equal((await post(body('&setupCode=AAAAAAAAAA'))).statusCode, 403, 'a wrong code: refused');
  t.equal(
    (await post(body(`&setupCode=${code}`), 'rebind.attacker.example')).statusCode,
    403,
    'DNS rebinding (foreign Host with a matching Origin) is refused even with the code',
  );
  t.ok(existsSync(join(dataDir, SETUP_CODE_FILE)), 'still unclaimed');
  const typed = `${code.slice(0, 5).toLowerCase()}-${code.slice(5)}`;
  t.equal((await post(body(`&setupCode=${typed}`))).statusCode, 303, 'the code as typed from the screen');
  t.notOk(existsSync(join(dataDir, SETUP_CODE_FILE)), 'used once, then removed');
  t.notMatch(onConsole(), code.slice(0, 5), 'and gone from the console');
  t.match(onConsole(), 'Status page:', 'which still shows the address');
  t.equal((await post(body(`&setupCode=${code}`), '127.0.0.1:8080')).statusCode, 400, 'set once only');
});

t.test('alerts: plain English and advice for the member, escaped, not on the public page', async (t) => {
  const alert: Alert = {
    id: 'vertical-scan:203.0.113.9:2026-01-01T00:00:00.000Z',
    detector: 'vertical-scan',
    kind: 'fast',
    status: 'new',
    severity: 'high',
    source: '203.0.113.9',
    keyRole: 'source',
    targets: ['p:abcdefghijkl'],
    ports: [22, 23, 80],
    protocols: ['tcp'],
    events: 120,
    distinctTargets: 1,
    distinctPorts: 120,
    distinctCapped: false,
    firstSeen: '2026-01-01T00:00:00.000Z',
    lastSeen: '2026-01-01T00:00:30.000Z',
    thresholds: { distinctPorts: 15, windowS: 60 },
    label: 'targeted',
    summary: '203.0.113.9 probed 120 ports of one host <script>alert(3)</script>',
    advice: 'Block 203.0.113.9 at the firewall.',
  };
  const detection: DetectionView = {
    ...DETECTION_OFF,
    enabled: true,
    recent: [alert],
    detectors: [{ name: 'vertical-scan', tracked: 3, evicted: 7, raised: 1, updated: 0, suppressed: 0 }],
  };
  const a = await app(() => ({ ...fakeStatus(), detection }));
  const local = (await a.inject({ url: '/', remoteAddress: '127.0.0.1' })).body;
  t.match(local, /data-testid="alert" data-detector="vertical-scan"/, 'listed');
  t.match(local, /What to do: Block 203\.0\.113\.9 at the firewall\./, 'with what to do');
  t.match(local, /&lt;script&gt;alert\(3\)/, 'escaped');
  t.notMatch(local, /<script>alert\(3\)/);
  t.notMatch((await a.inject({ url: '/', remoteAddress: LAN })).body, /203\.0\.113\.9/, 'not public');
  const metrics = (await a.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })).body;
  t.match(metrics, /cyberalarm_detect_alerts_total\{detector="vertical-scan"\} 1/);
  t.match(metrics, /cyberalarm_detect_evicted_total\{detector="vertical-scan"\} 7/);

  const quiet = await app(() => ({ ...fakeStatus(), detection: { ...detection, recent: [] } }));
  t.match(
    (await quiet.inject({ url: '/', remoteAddress: '127.0.0.1' })).body,
    /Nothing suspicious found so far/,
  );
});
