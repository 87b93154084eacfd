import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  encodeIntelPayload,
  type IntelEntry,
  intelKeyId,
  intelKeyRing,
  packCidrs,
  packIntelEntries,
  signIntelPayload,
} from '../../../protocol/intel.js';
import { IntelStore } from './intel-store.js';

const central = generateKeyPairSync('ed25519');
const keyId = intelKeyId(central.publicKey);
const keys = intelKeyRing([central.publicKey]);
const DAY = 86_400_000;
const T0 = Date.parse('2026-03-01T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function full(list: string, version: number, entries: IntelEntry[], issued = T0): Uint8Array {
  const payload = encodeIntelPayload({
    v: 1,
    kind: 'full',
    list,
    version,
    issued: iso(issued),
    expires: iso(issued + 14 * DAY),
    entries: packIntelEntries(entries),
  });
  return signIntelPayload(payload, central.privateKey, keyId);
}

function delta(list: string, fromVersion: number, version: number, add: IntelEntry[], remove: string[]) {
  const payload = encodeIntelPayload({
    v: 1,
    kind: 'delta',
    list,
    fromVersion,
    version,
    issued: iso(T0 + DAY),
    expires: iso(T0 + 15 * DAY),
    add: packIntelEntries(add),
    remove: packCidrs(remove),
  });
  return signIntelPayload(payload, central.privateKey, keyId);
}

function setup(now = { ms: T0 + 2 * DAY }) {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'intel-store-')), 'intel');
  const open = () => new IntelStore({ dataDir, keys, now: () => now.ms });
  return { dataDir, open, now };
}

const dropV3 = () =>
  full('drop', 3, [
    { cidr: '192.0.2.0/24' },
    { cidr: '198.51.100.7' },
    { cidr: '2001:db8::/32', tag: 'scanner' },
  ]);

t.test('a full snapshot, a delta, and a restart that keeps them', async (t) => {
  const { dataDir, open } = setup();
  const store = open();
  t.same(store.load(), [], 'nothing on disk yet');
  t.equal(store.lookup('192.0.2.9'), undefined);

  t.match(store.receive(dropV3(), { list: 'drop', kind: 'full' }), { ok: true, action: 'full', version: 3 });
  t.equal(store.lookup('192.0.2.9'), 'listed');
  t.equal(store.lookup('::ffff:198.51.100.7'), 'listed');
  t.equal(store.lookup('2001:db8:1::1'), 'scanner');
  t.equal(store.lookup('203.0.113.1'), undefined);
  t.ok(existsSync(join(dataDir, 'drop.full.cbor')));

  const d = delta('drop', 3, 4, [{ cidr: '203.0.113.0/24', tag: 'campaign' }], ['198.51.100.7/32']);
  t.match(store.receive(d, { list: 'drop', kind: 'delta' }), {
    ok: true,
    action: 'delta',
    version: 4,
    persisted: true,
  });
  t.equal(store.lookup('203.0.113.1'), 'campaign');
  t.equal(store.lookup('198.51.100.7'), undefined);
  t.match(store.status(), [
    { list: 'drop', version: 4, baseVersion: 3, entries: 3, issued: iso(T0 + DAY), lastError: null },
  ]);

  // Retained messages seen again on reconnect change nothing.
  t.match(store.receive(dropV3(), { list: 'drop', kind: 'full' }), { ok: true, action: 'duplicate' });
  t.match(store.receive(d, { list: 'drop', kind: 'delta' }), { ok: true, action: 'duplicate' });
  t.equal(store.counters.duplicates, 2);
  // Central clears the retained delta (a zero-length payload) when it sends a new snapshot.
  t.match(store.receive(new Uint8Array(0), { list: 'drop', kind: 'delta' }), {
    ok: true,
    action: 'cleared',
    version: 4,
  });
  t.equal(store.lookup('203.0.113.1'), 'campaign', 'clearing changes nothing held');

  const again = open();
  t.match(again.load(), [
    { ok: true, action: 'full', version: 3 },
    { ok: true, action: 'delta', version: 4 },
  ]);
  t.equal(again.lookup('203.0.113.1'), 'campaign');
  t.equal(again.lookup('198.51.100.7'), undefined);
  t.match(again.status(), [{ list: 'drop', version: 4, baseVersion: 3, entries: 3 }]);
});

t.test('refused messages leave the list as it was and say why', async (t) => {
  const { open } = setup();
  const store = open();
  store.receive(dropV3());

  const tampered = Uint8Array.from(dropV3());
  tampered[tampered.length >> 1]! ^= 1; // inside the payload
  t.match(store.receive(tampered, { list: 'drop', kind: 'full' }), { ok: false, reason: 'bad signature' });
  t.match(store.status(), [{ list: 'drop', version: 3, lastError: /^bad signature/ }]);

  const gap = delta('drop', 2, 5, [{ cidr: '10.0.0.0/8' }], []);
  t.match(store.receive(gap), { ok: false, list: 'drop', reason: 'version gap' });
  t.equal(store.lookup('10.1.1.1'), undefined);
  t.match(store.status(), [{ version: 3, lastError: 'version gap: delta from 2, holding 3' }]);

  const older = full('drop', 2, [{ cidr: '10.0.0.0/8' }]);
  t.match(store.receive(older), { ok: false, reason: 'expired/stale' });
  t.equal(store.lookup('10.1.1.1'), undefined, 'a replayed older list does not roll back');

  const other = generateKeyPairSync('ed25519');
  const forged = signIntelPayload(
    encodeIntelPayload({
      v: 1,
      kind: 'full',
      list: 'drop',
      version: 9,
      issued: iso(T0),
      expires: iso(T0 + 14 * DAY),
      entries: packIntelEntries([{ cidr: '0.0.0.0/0' }]),
    }),
    other.privateKey,
    keyId,
  );
  t.match(store.receive(forged, { list: 'drop', kind: 'full' }), { ok: false, reason: 'bad signature' });
  t.equal(store.lookup('8.8.8.8'), undefined);

  t.match(store.receive(Uint8Array.of(0xff, 0x00)), { ok: false, list: undefined, reason: 'malformed' });
  t.match(store.lastUnattributedError, /^malformed/);
  t.equal(store.counters.refused['bad signature'], 2);
  t.equal(store.counters.refused['version gap'], 1);

  // An accepted message clears the list's error.
  t.match(store.receive(full('drop', 6, [{ cidr: '10.0.0.0/8' }])), { ok: true });
  t.match(store.status(), [{ version: 6, lastError: null }]);
});

t.test('a new snapshot replaces the delta on disk; a file edited on disk is refused at load', async (t) => {
  const { dataDir, open } = setup();
  const store = open();
  store.receive(dropV3());
  store.receive(delta('drop', 3, 4, [{ cidr: '203.0.113.0/24' }], []));
  t.ok(existsSync(join(dataDir, 'drop.delta.cbor')));
  store.receive(full('drop', 5, [{ cidr: '192.0.2.0/24' }]));
  t.notOk(existsSync(join(dataDir, 'drop.delta.cbor')), 'the old delta built on the old snapshot');
  t.equal(store.lookup('203.0.113.1'), undefined);

  const path = join(dataDir, 'drop.full.cbor');
  const bytes = readFileSync(path);
  bytes[bytes.length - 80]! ^= 0x10;
  writeFileSync(path, bytes);
  const again = open();
  t.match(again.load(), [{ ok: false, reason: 'bad signature' }]);
  t.equal(again.lookup('192.0.2.1'), undefined);
  t.match(again.status(), [{ list: 'drop', version: 0, entries: 0, lastError: /\(from disk\)$/ }]);
});

t.test('an expired list on disk is not used after a long power-off', async (t) => {
  const { open, now } = setup();
  open().receive(dropV3());
  now.ms = T0 + 20 * DAY;
  const later = open();
  t.match(later.load(), [{ ok: false, reason: 'expired/stale' }]);
  t.equal(later.lookup('192.0.2.1'), undefined);
});

t.test('several lists: the strongest tag wins, lookupList names the first list', async (t) => {
  const { open } = setup();
  const store = open();
  store.receive(full('drop', 1, [{ cidr: '192.0.2.0/24' }]));
  store.receive(full('scanners', 1, [{ cidr: '192.0.2.128/25', tag: 'scanner' }]));
  t.equal(store.lookup('192.0.2.1'), 'listed');
  t.equal(store.lookup('192.0.2.200'), 'scanner');
  t.same(store.lookupList('192.0.2.200'), { list: 'drop', match: 'listed' });
  t.equal(store.lookup('nonsense'), undefined);
  t.same(
    store.status().map((s) => s.list),
    ['drop', 'scanners'],
  );
});

t.test('a message on the wrong topic is refused', async (t) => {
  const { open } = setup();
  const store = open();
  t.match(store.receive(dropV3(), { list: 'other', kind: 'full' }), { ok: false, reason: 'malformed' });
  t.equal(store.lookup('192.0.2.1'), undefined);
});
