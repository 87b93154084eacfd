import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError, resolveConfig } from '../../common/config.js';
import { AgentConfigSchema } from '../config.js';
import { FAMILIES } from '../parse/registry.js';
import { AUDIT_FILE } from './audit.js';
import { MEMBER_SETTINGS_FILE, MemberSettings, type MemberSettingsOptions } from './member-settings.js';

const root = mkdtempSync(join(tmpdir(), 'ca-member-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = () => mkdtempSync(join(root, `m${n++}-`));
const KEY = new Uint8Array(32).fill(7);
const familyNames = FAMILIES.map((f) => f.name);

function open(
  dataDir: string,
  extra: Partial<MemberSettingsOptions> & { flags?: Record<string, unknown> } = {},
) {
  const { flags = {}, ...rest } = extra;
  return new MemberSettings({
    dataDir,
    config: resolveConfig(AgentConfigSchema, flags),
    familyNames,
    loadKey: () => KEY,
    ...rest,
  });
}

t.test('config < member < explicit flag; only differences from the config are stored', async (t) => {
  const dir = newDir();
  const s = open(dir);
  t.equal(s.view().values.privacyInternalAddresses, 'pseudonymise');
  t.equal(s.view().origin.privacyInternalAddresses, 'config');
  const r = s.apply(
    'privacy',
    { privacyInternalAddresses: 'keep', privacyRuleNames: 'pseudonymise' },
    '192.0.2.9',
  );
  t.match(r, {
    ok: true,
    changes: [{ setting: 'privacyInternalAddresses', from: 'pseudonymise', to: 'keep' }],
  });
  t.equal(r.ok && r.changes.length, 1, 'an unchanged key is not a change');
  const file = JSON.parse(readFileSync(join(dir, MEMBER_SETTINGS_FILE), 'utf8'));
  t.same(file.settings, { privacyInternalAddresses: 'keep' }, 'the default-equal key is not stored');
  t.equal((statSync(join(dir, MEMBER_SETTINGS_FILE)).mode & 0o777).toString(8), '600');
  t.equal(s.current.privacy.internalAddresses.src_ip, 'keep', 'compiled at once');

  const restarted = open(dir);
  t.equal(restarted.view().values.privacyInternalAddresses, 'keep', 'survives a restart');
  t.equal(restarted.view().origin.privacyInternalAddresses, 'member');
  t.equal(restarted.current.privacy.internalAddresses.dst_nat_ip, 'keep');

  const flagged = open(dir, {
    flags: { privacyInternalAddresses: 'drop' },
    explicitKeys: new Set(['privacyInternalAddresses']),
  });
  t.equal(flagged.view().values.privacyInternalAddresses, 'drop', 'the operator flag wins');
  t.equal(flagged.view().origin.privacyInternalAddresses, 'flag');
  t.match(flagged.apply('privacy', { privacyInternalAddresses: 'keep' }, 'x'), {
    ok: false,
    key: 'privacyInternalAddresses',
    reason: /--privacy-internal-addresses/,
  });
  t.match(flagged.apply('privacy', { privacyInternalAddresses: 'drop', privacyInterfaces: 'keep' }, 'x'), {
    ok: true,
  });
  const kept = JSON.parse(readFileSync(join(dir, MEMBER_SETTINGS_FILE), 'utf8')).settings;
  t.same(kept, { privacyInternalAddresses: 'keep', privacyInterfaces: 'keep' }, 'the dormant choice is kept');

  const back = open(dir);
  t.match(back.apply('privacy', { privacyInternalAddresses: 'pseudonymise' }, 'x'), { ok: true });
  t.equal(back.view().origin.privacyInternalAddresses, 'config', 'back to the default forgets the key');
});

t.test('invalid input is refused with the key named, and nothing changes', async (t) => {
  const dir = newDir();
  const s = open(dir);
  let calls = 0;
  s.onApplied(() => calls++);
  const before = s.current;
  for (const [changes, key] of [
    [{ privacyNetworks: '10.0.0.0/33' }, 'privacyNetworks'],
    [{ privacyNetworks: 'not-a-network' }, 'privacyNetworks'],
    [{ privacyAddressFields: 'src_ip=maybe' }, 'privacyAddressFields'],
    [{ privacyRuleNames: 'publish' }, 'privacyRuleNames'],
    [{ formatOverrides: '192.0.2.1=no_such_family' }, 'formatOverrides'],
  ] as const) {
    const r = s.apply('privacy', { privacyInternalAddresses: 'keep', ...changes }, 'x');
    t.match(r, { ok: false, key }, key);
    if (!r.ok) t.notMatch(r.reason, /^config key/, 'the reason without the config prefix');
  }
  t.equal(s.current, before, 'same compiled settings');
  t.equal(s.view().values.privacyInternalAddresses, 'pseudonymise', 'the valid half was not applied');
  t.equal(calls, 0, 'nothing swapped');
  t.notOk(existsSync(join(dir, MEMBER_SETTINGS_FILE)), 'nothing written');
  t.notOk(existsSync(join(dir, AUDIT_FILE)), 'nothing audited');
  t.same(s.view().audit, []);
});

t.test('source formats: set, clear, refuse bad input; the audit names the source', async (t) => {
  const dir = newDir();
  const s = open(dir, { flags: { formatOverrides: '198.51.100.7=pfsense' } });
  const applied: unknown[] = [];
  s.onApplied((a) => applied.push(a));
  t.match(s.setSourceFormat('not an address', 'pfsense', 'x'), { ok: false, key: 'formatOverrides' });
  t.match(s.setSourceFormat('192.0.2.1,198.51.100.9', 'pfsense', 'x'), { ok: false });
  t.match(s.setSourceFormat('192.0.2.1', 'pfsense=x', 'x'), { ok: false, reason: /unknown format/ });
  t.equal(applied.length, 0);

  t.match(s.setSourceFormat('2001:DB8::0:1', 'fortinet_fortigate', '192.168.1.9'), { ok: true });
  t.same(s.view().formatOverrides, {
    '198.51.100.7': 'pfsense',
    '2001:db8::1': 'fortinet_fortigate',
  });
  t.equal(applied.length, 1);
  t.match(applied[0], {
    changes: [{ setting: 'formatOverrides[2001:db8::1]', from: '', to: 'fortinet_fortigate' }],
  });
  t.notOk((applied[0] as { privacy?: unknown }).privacy, 'the privacy policy is not rebuilt');
  t.match(s.setSourceFormat('198.51.100.7', '', '192.168.1.9'), { ok: true });
  t.same(s.view().formatOverrides, { '2001:db8::1': 'fortinet_fortigate' }, 'cleared');

  const audit = readFileSync(join(dir, AUDIT_FILE), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.equal(audit.length, 2);
  t.match(audit[1], {
    who: 'admin',
    address: '192.168.1.9',
    what: 'sources',
    ts: /^\d{4}-/,
    changes: [{ setting: 'formatOverrides[198.51.100.7]', from: 'pfsense', to: '' }],
  });
  t.equal((statSync(join(dir, AUDIT_FILE)).mode & 0o777).toString(8), '600');
  const restarted = open(dir, { flags: { formatOverrides: '198.51.100.7=pfsense' } });
  t.same(restarted.view().formatOverrides, { '2001:db8::1': 'fortinet_fortigate' }, 'survives a restart');
  t.equal(restarted.view().audit.length, 2, 'the audit tail is read back');
  t.match(restarted.view().audit[0], { changes: [{ from: 'pfsense' }] }, 'newest first');
});

t.test('a damaged or invalid settings file stops start-up, naming the file', async (t) => {
  const dir = newDir();
  const path = join(dir, MEMBER_SETTINGS_FILE);
  writeFileSync(path, '{"v":1,"settings":{"privacyInter');
  t.throws(() => open(dir), ConfigError);
  t.throws(() => open(dir), new RegExp(MEMBER_SETTINGS_FILE));
  writeFileSync(path, JSON.stringify({ v: 1, settings: { statusPort: 1 } }));
  t.throws(() => open(dir), /"statusPort" cannot be set from the status page/);
  writeFileSync(path, JSON.stringify({ v: 1, settings: { privacyRuleNames: 'publish' } }));
  t.throws(() => open(dir), /privacyRuleNames/);
  writeFileSync(path, JSON.stringify({ v: 1, settings: { privacyNetworks: '10.0.0.0/99' } }));
  t.throws(() => open(dir), /saved from the status page.*privacyNetworks/);
});
