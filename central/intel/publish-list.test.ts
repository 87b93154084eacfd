import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  type IntelEntry,
  type IntelMessage,
  intelKeyRing,
  intelLimits,
  verifyIntelMessage,
} from '../../protocol/intel.js';
import { tagFromCode, unpackCidrTexts } from '../../protocol/intel-cidr.js';
import { type PublishedState, publishList } from './publish-list.js';
import { INTEL_KEY_FILE, INTEL_PUBLIC_KEY_FILE, loadOrCreateIntelSigningKey } from './signing-key.js';

const dir = mkdtempSync(join(tmpdir(), 'intel-key-'));
const key = loadOrCreateIntelSigningKey(join(dir, 'central'));
const keys = intelKeyRing([key.publicKey]);
const T0 = Date.parse('2026-03-01T12:00:00Z');
const HOUR = 3_600_000;

/** A device's view, built from the protocol only (central never imports the appliance). */
function apply(message: IntelMessage, base?: Map<string, string | undefined>) {
  const out = new Map(message.kind === 'full' ? [] : base);
  const sections = message.kind === 'full' ? message.entries : message.add;
  if (message.kind === 'delta') for (const cidr of unpackCidrTexts(message.remove)!) out.delete(cidr);
  for (const s of sections) for (const cidr of unpackCidrTexts(s.cidrs)!) out.set(cidr, s.tag);
  return out;
}

const entries = (n: number, from = 0): IntelEntry[] =>
  Array.from({ length: n }, (_, i) => ({ cidr: `10.${((from + i) >> 8) & 255}.${(from + i) & 255}.0/24` }));

t.test('signing key: created once, 0600, reloaded', async (t) => {
  const keyDir = join(dir, 'central');
  t.equal(statSync(join(keyDir, INTEL_KEY_FILE)).mode & 0o777, 0o600);
  t.equal(statSync(join(keyDir, INTEL_PUBLIC_KEY_FILE)).mode & 0o777, 0o644);
  t.equal(statSync(keyDir).mode & 0o777, 0o700);
  const again = loadOrCreateIntelSigningKey(keyDir);
  t.equal(again.keyId, key.keyId);
  t.equal(readFileSync(join(keyDir, INTEL_PUBLIC_KEY_FILE), 'utf8'), key.publicKeyPem);
});

t.test('first a full snapshot, then deltas from it, then a full again', async (t) => {
  const list = 'drop';
  const first = publishList({ list, entries: entries(1000), signer: key, now: T0 });
  t.ok(first.ok);
  if (!first.ok) return;
  t.equal(first.kind, 'full');
  t.same(
    first.messages.map((m) => [m.topic, m.payload.length > 0]),
    [
      ['ca/v1/intel/drop/full', true],
      ['ca/v1/intel/drop/delta', false],
    ],
    'the full snapshot clears the retained delta',
  );
  const v1 = verifyIntelMessage(first.messages[0]!.payload, { keys, now: T0 });
  t.match(v1, { ok: true, entries: 1000 });
  if (!v1.ok) return;
  const device = apply(v1.message);

  // A small change: a delta from the snapshot, much smaller than the list.
  const next = [...entries(990), { cidr: '192.0.2.0/24', tag: 'campaign' } as IntelEntry];
  const second = publishList({ list, entries: next, previous: first.state, signer: key, now: T0 + HOUR });
  t.match(second, { ok: true, kind: 'delta', version: 2, added: 1, removed: 10 });
  if (!second.ok) return;
  t.ok(second.deltaBytes! < second.fullBytes / 10);
  const v2 = verifyIntelMessage(second.messages[0]!.payload, {
    keys,
    now: T0 + HOUR,
    heldFor: () => ({ baseVersion: 1, version: 1 }),
  });
  t.match(v2, { ok: true, action: 'apply' });
  if (!v2.ok) return;
  const afterDelta = apply(v2.message, device);
  t.equal(afterDelta.size, 991);
  t.equal(afterDelta.get('192.0.2.0/24'), 'campaign');
  t.notOk(afterDelta.has('10.0.999.0/24'));

  // The third version is still relative to the snapshot (version 1), carrying all changes since.
  const third = publishList({
    list,
    entries: next.slice(1),
    previous: second.state,
    signer: key,
    now: T0 + 2 * HOUR,
  });
  t.match(third, { ok: true, kind: 'delta', version: 3, added: 1, removed: 11 });
  if (!third.ok) return;
  const v3 = verifyIntelMessage(third.messages[0]!.payload, {
    keys,
    now: T0 + 2 * HOUR,
    heldFor: () => ({ baseVersion: 1, version: 1 }), // a device that missed version 2 catches up
  });
  t.match(v3, { ok: true, message: { kind: 'delta', fromVersion: 1, version: 3 } });

  // Replace most of the list: the delta would not be smaller, so a full snapshot goes out.
  const replaced = publishList({
    list,
    entries: entries(1000, 5000),
    previous: third.state,
    signer: key,
    now: T0 + 3 * HOUR,
  });
  t.match(replaced, { ok: true, kind: 'full', version: 4, state: { baseVersion: 4 } });
});

t.test('a full snapshot every N versions and before the snapshot grows old', async (t) => {
  let state: PublishedState | undefined;
  const kinds: string[] = [];
  for (let v = 1; v <= 7; v++) {
    const r = publishList({
      list: 'x',
      entries: entries(100 + v),
      previous: state,
      signer: key,
      now: T0 + v * HOUR,
      fullEvery: 3,
    });
    if (!r.ok) return t.fail(r.reason);
    kinds.push(r.kind);
    state = r.state;
  }
  t.same(kinds, ['full', 'delta', 'delta', 'full', 'delta', 'delta', 'full']);
  const old = publishList({
    list: 'x',
    entries: entries(50),
    previous: state,
    signer: key,
    now: T0 + 8 * 86_400_000,
  });
  t.match(old, { ok: true, kind: 'full' });
});

t.test('tag changes travel in the delta; refusals are values', async (t) => {
  const first = publishList({ list: 'x', entries: [{ cidr: '192.0.2.0/24' }], signer: key, now: T0 });
  if (!first.ok) return t.fail();
  const retag = publishList({
    list: 'x',
    entries: [...entries(200), { cidr: '192.0.2.0/24', tag: 'scanner' }],
    previous: { ...first.state, baseEntries: [...entries(200), { cidr: '192.0.2.0/24' }] },
    signer: key,
    now: T0 + HOUR,
  });
  t.match(retag, { ok: true, kind: 'delta', added: 1, removed: 0 });
  if (retag.ok) {
    const v = verifyIntelMessage(retag.messages[0]!.payload, {
      keys,
      now: T0 + HOUR,
      heldFor: () => ({ baseVersion: 1, version: 1 }),
    });
    if (v.ok && v.message.kind === 'delta') t.equal(v.message.add[0]!.tag, 'scanner');
    t.equal(tagFromCode(2), 'scanner');
  }
  t.match(publishList({ list: 'Bad/Name', entries: [], signer: key, now: T0 }), { ok: false });
  t.match(publishList({ list: 'x', entries: [{ cidr: 'nope' }], signer: key, now: T0 }), {
    ok: false,
    reason: /not a CIDR/,
  });
  const tooMany = Array.from({ length: intelLimits.maxEntries + 1 }, (_, i) => ({
    cidr: `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.1`,
  }));
  t.match(publishList({ list: 'x', entries: tooMany, signer: key, now: T0 }), {
    ok: false,
    reason: /more than/,
  });
  const tooBig = Array.from({ length: 230_000 }, (_, i) => ({
    cidr: `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.1`,
  }));
  t.match(publishList({ list: 'x', entries: tooBig, signer: key, now: T0 }), { ok: false, reason: /bytes/ });
});
