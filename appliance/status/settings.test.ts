/** The settings forms of the status page, driven with `app.inject` over real MemberSettings files. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { resolveConfig } from '../../common/config.js';
import { AgentConfigSchema } from '../config.js';
import { FAMILIES } from '../parse/registry.js';
import { AUDIT_FILE } from '../settings/audit.js';
import { MEMBER_SETTINGS_FILE, MemberSettings } from '../settings/member-settings.js';
import { buildStatusApp, SESSION_COOKIE } from './server.js';
import { SETUP_CODE_FILE } from './setup-code.js';
import type { AgentStatus } from './status.js';

const root = mkdtempSync(join(tmpdir(), 'ca-settings-page-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

const LAN = '192.168.1.50';
const HOST = 'box.lan:8080';
const OWN = { origin: `http://${HOST}` };
const HOSTILE = '<script>alert(1)</script>';
const PASSWORD = 'correct horse battery';

function status(sources: { source: string; format?: string }[]): AgentStatus {
  return {
    device: { id: 'dev-1', version: '1', uptimeS: 1 },
    central: '',
    ingest: { udp: { port: 5514 }, tcp: { port: 5514 } },
    pipeline: { received: 0, parsed: 0, unparsed: 0, rateLimited: 0 },
    sources: sources.map((s) => ({
      messages: 3,
      parsed: 3,
      unparsed: 0,
      rateLimited: 0,
      lastSeen: '2025-01-01T00:00:00.000Z',
      unparsedSamples: [],
      ...s,
    })),
    outbox: { state: 'ok', lossRecordsPending: [] },
    uplink: { state: 'stopped' },
    enrolment: { state: 'enrolled', deviceId: 'dev-1', fingerprint: 'AA', centralUrl: '' },
    health: {
      version: '1',
      cpuLoadPercent: null,
      memory: null,
      disk: null,
      temperatureC: null,
      uptimeS: null,
    },
    sent: null,
  } as unknown as AgentStatus;
}

const openSettings = (dataDir: string) =>
  new MemberSettings({
    dataDir,
    config: resolveConfig(AgentConfigSchema, {}),
    familyNames: FAMILIES.map((f) => f.name),
    loadKey: () => new Uint8Array(32).fill(1),
  });

async function setup(dataDir = mkdtempSync(join(root, 'd-'))) {
  const settings = openSettings(dataDir);
  const sources = [{ source: '192.0.2.1', format: 'fortinet_fortigate' }, { source: HOSTILE }];
  const built = await buildStatusApp({
    getStatus: () => status(sources),
    dataDir,
    settings,
    allowedHosts: ['box.lan'],
    logger: { info: () => undefined, warn: () => undefined },
  });
  t.teardown(built.close);
  const app = built.app;
  const post = (url: string, payload: string, headers: Record<string, string> = {}, remoteAddress = LAN) =>
    app.inject({
      method: 'POST',
      url,
      payload,
      remoteAddress,
      headers: { host: HOST, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });
  const get = (cookie?: string, url = '/') =>
    app.inject({ url, remoteAddress: LAN, ...(cookie && { cookies: { [SESSION_COOKIE]: cookie } }) });
  return { app, settings, dataDir, post, get };
}

async function signIn(post: Awaited<ReturnType<typeof setup>>['post'], dataDir: string): Promise<string> {
  // As a member would: the setup code from the box (here its file in the data directory).
  const code = readFileSync(join(dataDir, SETUP_CODE_FILE), 'utf8').trim();
  const res = await post(
    '/setup',
    `setupCode=${code}&password=${encodeURIComponent(PASSWORD)}&confirm=${encodeURIComponent(PASSWORD)}`,
    OWN,
  );
  const cookie = res.cookies.find((c) => c.name === SESSION_COOKIE)?.value;
  if (!cookie) throw new Error('no session');
  return cookie;
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const PRIVACY_KEEP = form({
  privacyInternalAddresses: 'keep',
  field_src_ip: '',
  field_dst_ip: 'drop',
  field_src_nat_ip: '',
  field_dst_nat_ip: '',
  privacyNetworks: ' 203.0.113.0/28 ',
  privacyRuleNames: 'pseudonymise',
  privacyInterfaces: 'keep',
  privacyCategories: 'keep',
});

t.test('changes need a session: unauthenticated POSTs are refused, from the LAN and the box', async (t) => {
  const { post, settings, dataDir } = await setup();
  await signIn(post, dataDir); // a password exists; this request simply has no cookie
  const lan = await post('/settings/privacy', PRIVACY_KEEP, OWN);
  t.equal(lan.statusCode, 401);
  t.match(lan.body, /Sign in with the admin password to change settings/);
  const local = await post('/settings/privacy', PRIVACY_KEEP, OWN, '127.0.0.1');
  t.equal(local.statusCode, 401, 'reading from the box is free; changing is not');
  const forged = await post('/settings/sources', form({ source: '192.0.2.1', format: 'pfsense' }), {
    ...OWN,
    cookie: `${SESSION_COOKIE}=made-up`,
  });
  t.equal(forged.statusCode, 401, 'an invented session');
  t.equal(settings.view().values.privacyInternalAddresses, 'pseudonymise');
  t.same(settings.view().formatOverrides, {});
  t.notOk(existsSync(join(dataDir, MEMBER_SETTINGS_FILE)));
});

t.test('cross-origin POSTs are refused even with a session', async (t) => {
  const { post, settings, dataDir } = await setup();
  const cookie = await signIn(post, dataDir);
  const session = { cookie: `${SESSION_COOKIE}=${cookie}` };
  const foreign: Record<string, string>[] = [
    { origin: 'http://evil.example' },
    { referer: 'http://evil.example/x' },
    {},
  ];
  for (const headers of foreign) {
    const res = await post('/settings/privacy', PRIVACY_KEEP, { ...session, ...headers });
    t.equal(res.statusCode, 403, JSON.stringify(headers));
  }
  const res = await post('/settings/sources', form({ source: '192.0.2.1', format: 'pfsense' }), {
    ...session,
    origin: 'http://evil.example',
  });
  t.equal(res.statusCode, 403);
  t.equal(settings.view().values.privacyInternalAddresses, 'pseudonymise');
  t.same(settings.view().formatOverrides, {});
});

t.test('a valid privacy change is saved, live, audited and shown; it survives a restart', async (t) => {
  const { post, get, settings, dataDir } = await setup();
  const cookie = await signIn(post, dataDir);
  const session = { ...OWN, cookie: `${SESSION_COOKIE}=${cookie}` };
  const swapped: unknown[] = [];
  settings.onApplied((a) => swapped.push(a));

  const before = await get(cookie);
  t.match(before.body, /data-testid="privacy-form"/);
  t.match(before.body, /name="privacyInternalAddresses" value="pseudonymise" checked/);
  t.match(before.body, /Send a code instead/, 'plain-English explanation of each choice');

  const res = await post('/settings/privacy', PRIVACY_KEEP, session);
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/?saved=privacy#privacy');
  t.equal(swapped.length, 1, 'the new policy was handed over at once');
  t.match(settings.view().values, {
    privacyInternalAddresses: 'keep',
    privacyAddressFields: 'dst_ip=drop',
    privacyNetworks: '203.0.113.0/28',
    privacyInterfaces: 'keep',
  });
  t.equal(settings.current.privacy.internalAddresses.dst_ip, 'drop');

  const page = await get(cookie, '/?saved=privacy');
  t.match(page.body, /Privacy choices saved/);
  t.match(page.body, /name="privacyInternalAddresses" value="keep" checked/);
  t.match(page.body, /<option value="drop" selected>Do not send<\/option>/);
  t.match(page.body, /data-testid="audit-trail"/);
  t.match(page.body, /admin from 192\.168\.1\.50/);
  t.match(page.body, /privacyInternalAddresses: pseudonymise → keep/);
  const audit = readFileSync(join(dataDir, AUDIT_FILE), 'utf8').trim().split('\n');
  t.equal(audit.length, 1);
  t.match(JSON.parse(audit[0] ?? '{}'), { who: 'admin', what: 'privacy', address: LAN });

  const unknown = await get(cookie, '/?saved=zzz-unknown-zzz');
  t.equal(unknown.statusCode, 200);
  t.notMatch(unknown.body, /zzz-unknown/, 'an unknown notice code is not echoed');

  const again = await post('/settings/privacy', PRIVACY_KEEP, session);
  t.equal(again.headers.location, '/?saved=unchanged#privacy', 'the same values again: no change');
  t.equal(readFileSync(join(dataDir, AUDIT_FILE), 'utf8').trim().split('\n').length, 1, 'not audited');

  const api = await get(cookie, '/api/settings');
  t.match(api.json(), {
    values: { privacyInternalAddresses: 'keep' },
    origin: { privacyInternalAddresses: 'member' },
  });
  t.equal((await get(undefined, '/api/settings')).statusCode, 401, 'not for the LAN without a session');

  // A restart: a new process reads the file.
  const restarted = await setup(dataDir);
  t.equal(restarted.settings.view().values.privacyInternalAddresses, 'keep');
  t.equal(restarted.settings.current.privacy.internalAddresses.dst_ip, 'drop');
  const local = await restarted.app.inject({ url: '/', remoteAddress: '127.0.0.1' });
  t.match(local.body, /name="privacyInternalAddresses" value="keep" checked/);
  t.match(local.body, /data-testid="privacy-form">\n<fieldset disabled/, 'read-only from the box');
  t.notMatch(local.body, /Save privacy choices/);
  t.match(local.body, /Sign in with the admin password to change these/);
  t.match(local.body, /privacyInternalAddresses: pseudonymise → keep/, 'the audit trail is read back');
});

t.test('invalid input shows an error on the form and changes nothing', async (t) => {
  const { post, settings, dataDir } = await setup();
  const cookie = await signIn(post, dataDir);
  const session = { ...OWN, cookie: `${SESSION_COOKIE}=${cookie}` };
  const badNetworks = form({
    privacyInternalAddresses: 'keep',
    privacyNetworks: `10.0.0.0/40 "><b>${HOSTILE}`,
  });
  const res = await post('/settings/privacy', badNetworks, session);
  t.equal(res.statusCode, 400);
  t.match(res.body, /Not saved: nothing was changed/);
  t.match(res.body, /data-testid="settings-error"/);
  t.notMatch(res.body, /<script>alert/, 'the submitted value is escaped');
  t.match(res.body, /value="10\.0\.0\.0\/40 &quot;&gt;&lt;b&gt;&lt;script&gt;/, 'and shown back to correct');

  for (const payload of [
    form({ privacyInternalAddresses: 'publish' }),
    form({ field_dst_ip: 'keep,src_ip=drop' }),
    `privacyRuleNames=keep&privacyRuleNames=drop`,
  ]) {
    t.equal((await post('/settings/privacy', payload, session)).statusCode, 400, payload);
  }
  const unknown = await post('/settings/sources', form({ source: '192.0.2.1', format: 'no_such' }), session);
  t.equal(unknown.statusCode, 400);
  t.match(unknown.body, /unknown format/);
  const notAddress = await post('/settings/sources', form({ source: HOSTILE, format: 'pfsense' }), session);
  t.equal(notAddress.statusCode, 400);
  t.notMatch(notAddress.body, /<script>alert/);

  t.equal(settings.view().values.privacyInternalAddresses, 'pseudonymise', 'the valid half was not applied');
  t.same(settings.view().formatOverrides, {});
  t.notOk(existsSync(join(dataDir, MEMBER_SETTINGS_FILE)));
  t.notOk(existsSync(join(dataDir, AUDIT_FILE)));
});

t.test(
  'sources: seen sources with their format; pin and clear from a dropdown; log values escaped',
  async (t) => {
    const { post, get, settings, dataDir } = await setup();
    const cookie = await signIn(post, dataDir);
    const session = { ...OWN, cookie: `${SESSION_COOKIE}=${cookie}` };
    const page = (await get(cookie)).body;
    t.match(page, /id="source-formats"/);
    t.match(page, /<option value="pfsense">pfsense<\/option>/, 'a dropdown of family names');
    t.notMatch(page, /<script>alert/, 'a source name from the network is escaped');
    t.match(page, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);

    const pin = await post('/settings/sources', form({ source: '192.0.2.1', format: 'pfsense' }), session);
    t.equal(pin.statusCode, 303);
    t.equal(pin.headers.location, '/?saved=sources#source-formats');
    t.same(settings.view().formatOverrides, { '192.0.2.1': 'pfsense' });
    const after = (await get(cookie)).body;
    t.match(after, /pinned to pfsense/);
    t.match(after, /formatOverrides\[192\.0\.2\.1\]: detect automatically → pfsense/);

    const other = await post('/settings/sources', form({ source: ' 2001:DB8::5 ', format: 'cef' }), session);
    t.equal(other.statusCode, 303, 'an address not seen yet');
    const clear = await post('/settings/sources', form({ source: '192.0.2.1', format: '' }), session);
    t.equal(clear.statusCode, 303);
    t.same(settings.view().formatOverrides, { '2001:db8::5': 'cef' });
  },
);
