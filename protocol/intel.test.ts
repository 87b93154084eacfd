import { generateKeyPairSync, sign } from 'node:crypto';
import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import t from 'tap';
import {
  encodeIntelPayload,
  INTEL_SIGNING_CONTEXT,
  type IntelMessage,
  intelKeyId,
  intelKeyRing,
  intelLimits,
  packCidrs,
  packIntelEntries,
  signIntelPayload,
  verifyIntelMessage,
} from './intel.js';
import { unpackCidrTexts } from './intel-cidr.js';
import { intelTopic, parseIntelTopic } from './topics.js';

const central = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const keyId = intelKeyId(central.publicKey);
const keys = intelKeyRing([central.publicKey]);
const NOW = Date.parse('2026-03-01T12:00:00Z');
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

const full = (version: number, over: Partial<IntelMessage> = {}): IntelMessage =>
  ({
    v: 1,
    kind: 'full',
    list: 'drop',
    version,
    issued: iso(NOW - 60_000),
    expires: iso(NOW + 14 * DAY),
    entries: packIntelEntries([
      { cidr: '192.0.2.0/24' },
      { cidr: '198.51.100.7' },
      { cidr: '2001:db8::/32', tag: 'scanner' },
    ]),
    ...over,
  }) as IntelMessage;

const delta = (fromVersion: number, version: number, over: Partial<IntelMessage> = {}): IntelMessage =>
  ({
    v: 1,
    kind: 'delta',
    list: 'drop',
    fromVersion,
    version,
    issued: iso(NOW - 60_000),
    expires: iso(NOW + 14 * DAY),
    add: packIntelEntries([{ cidr: '203.0.113.0/25', tag: 'campaign' }]),
    remove: packCidrs(['198.51.100.7/32']),
    ...over,
  }) as IntelMessage;

const signed = (message: IntelMessage, key = central.privateKey, id = keyId) =>
  signIntelPayload(encodeIntelPayload(message), key, id);

t.test('topics', async (t) => {
  t.equal(intelTopic('drop', 'full'), 'ca/v1/intel/drop/full');
  t.equal(intelTopic('drop', 'delta'), 'ca/v1/intel/drop/delta');
  t.same(parseIntelTopic('ca/v1/intel/firehol_level1/delta'), { list: 'firehol_level1', kind: 'delta' });
  t.equal(parseIntelTopic('ca/v1/intel/+/full'), undefined);
  t.equal(parseIntelTopic('ca/v1/intel/drop/other'), undefined);
});

t.test('a full snapshot and a delta round-trip', async (t) => {
  const r = verifyIntelMessage(signed(full(3)), { keys, now: NOW });
  t.ok(r.ok);
  if (!r.ok || r.message.kind !== 'full') return;
  t.equal(r.action, 'apply');
  t.equal(r.entries, 3);
  t.equal(r.keyId, keyId);
  t.same(
    r.message.entries.map((s) => [s.tag, unpackCidrTexts(s.cidrs)]),
    [
      [undefined, ['192.0.2.0/24', '198.51.100.7/32']],
      ['scanner', ['2001:db8::/32']],
    ],
  );
  const d = verifyIntelMessage(signed(delta(3, 5)), {
    keys,
    now: NOW,
    heldFor: () => ({ baseVersion: 3, version: 4 }),
    expect: { list: 'drop', kind: 'delta' },
  });
  t.ok(d.ok);
  if (!d.ok || d.message.kind !== 'delta') return;
  t.equal(d.entries, 2);
  t.same(unpackCidrTexts(d.message.remove), ['198.51.100.7/32']);
  t.same(d.message.add[0]?.tag, 'campaign');
});

t.test('every tampered byte is refused', async (t) => {
  const bytes = signed(full(3));
  const reasons = new Set<string>();
  for (let i = 0; i < bytes.length; i++) {
    for (const flip of [0x01, 0x80]) {
      const copy = Uint8Array.from(bytes);
      copy[i]! ^= flip;
      const r = verifyIntelMessage(copy, { keys, now: NOW });
      if (r.ok) t.fail(`byte ${i} ^ ${flip} accepted`);
      else reasons.add(r.reason);
    }
  }
  t.ok(reasons.has('bad signature'), 'payload and signature flips fail the signature');
  t.same(
    [...reasons].filter((r) => !['bad signature', 'malformed', 'unknown key'].includes(r)),
    [],
  );
});

t.test('wrong and unknown keys are refused', async (t) => {
  const forged = signed(full(3), other.privateKey, keyId);
  t.match(verifyIntelMessage(forged, { keys, now: NOW }), { ok: false, reason: 'bad signature' });
  const unknown = signed(full(3), other.privateKey, intelKeyId(other.publicKey));
  t.match(verifyIntelMessage(unknown, { keys, now: NOW }), { ok: false, reason: 'unknown key' });
  // A signature over the bare payload (no context) does not verify either.
  const payload = encodeIntelPayload(full(3));
  const bare = new Encoder({ useRecords: false, tagUint8Array: false, variableMapSize: true }).encode({
    v: 1,
    keyId,
    payload,
    sig: new Uint8Array(sign(null, payload, central.privateKey)),
  });
  t.match(verifyIntelMessage(bare, { keys, now: NOW }), { ok: false, reason: 'bad signature' });
  t.ok(INTEL_SIGNING_CONTEXT.length > 0);
  // Rotation: a ring holding both keys takes either.
  const both = intelKeyRing([central.publicKey, other.publicKey]);
  t.ok(verifyIntelMessage(unknown, { keys: both, now: NOW }).ok);
  t.throws(() => intelKeyRing([generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey]));
});

t.test('stale, expired and replayed messages are refused', async (t) => {
  const check = (message: IntelMessage, held?: { baseVersion: number; version: number }) =>
    verifyIntelMessage(signed(message), { keys, now: NOW, heldFor: () => held });
  t.match(check(full(3, { issued: iso(NOW - 20 * DAY), expires: iso(NOW - DAY) })), {
    ok: false,
    reason: 'expired/stale',
    detail: /expired/,
  });
  t.match(check(full(3, { issued: iso(NOW - 31 * DAY), expires: iso(NOW + DAY) })), {
    reason: 'expired/stale',
    detail: /too old/,
  });
  t.match(check(full(3, { issued: iso(NOW + 3_600_000), expires: iso(NOW + DAY) })), {
    reason: 'expired/stale',
    detail: /future/,
  });
  t.match(check(full(3, { issued: iso(NOW - DAY), expires: iso(NOW - 120_000) })), {
    reason: 'expired/stale',
  });
  t.match(check(full(3), { baseVersion: 5, version: 7 }), { reason: 'expired/stale', detail: /older/ });
  t.match(check(full(5), { baseVersion: 5, version: 7 }), { ok: true, action: 'duplicate' });
  t.match(check(full(7), { baseVersion: 5, version: 7 }), { ok: true, action: 'duplicate' });
  t.match(check(full(8), { baseVersion: 5, version: 7 }), { ok: true, action: 'apply' });
  t.match(check(delta(5, 6), { baseVersion: 5, version: 7 }), { reason: 'expired/stale' });
  t.match(check(delta(5, 7), { baseVersion: 5, version: 7 }), { ok: true, action: 'duplicate' });
});

t.test('a delta that does not start from the held snapshot is a version gap', async (t) => {
  const bytes = signed(delta(4, 6));
  t.match(verifyIntelMessage(bytes, { keys, now: NOW }), { ok: false, reason: 'version gap' });
  t.match(verifyIntelMessage(bytes, { keys, now: NOW, heldFor: () => ({ baseVersion: 3, version: 5 }) }), {
    ok: false,
    reason: 'version gap',
    detail: 'delta from 4, holding 3',
  });
  t.throws(() => signed(delta(6, 6)), 'fromVersion must be below version');
});

t.test('a message must match its topic', async (t) => {
  t.match(verifyIntelMessage(signed(full(3)), { keys, now: NOW, expect: { list: 'other' } }), {
    reason: 'malformed',
  });
  t.match(verifyIntelMessage(signed(full(3)), { keys, now: NOW, expect: { kind: 'delta' } }), {
    reason: 'malformed',
  });
});

t.test('size limits', async (t) => {
  const big = new Uint8Array(intelLimits.maxMessageBytes + 1);
  t.match(verifyIntelMessage(big, { keys, now: NOW }), { ok: false, reason: 'too large' });
  // Signed but with more entries than a message may carry: /0 entries take one byte each.
  const tooMany = new Uint8Array(intelLimits.maxEntries + 1);
  const raw = new Encoder({ useRecords: false, tagUint8Array: false, variableMapSize: true }).encode({
    ...full(3),
    entries: [{ cidrs: tooMany }],
  });
  t.match(verifyIntelMessage(signIntelPayload(raw, central.privateKey, keyId), { keys, now: NOW }), {
    ok: false,
    reason: 'too large',
  });
  // Central refuses to build it in the first place.
  t.throws(() => encodeIntelPayload({ ...full(3), entries: [{ cidrs: tooMany }] } as IntelMessage));
});

t.test('signed but malformed payloads are refused', async (t) => {
  const enc = new Encoder({ useRecords: false, tagUint8Array: false, variableMapSize: true });
  const signRaw = (value: unknown) => signIntelPayload(enc.encode(value), central.privateKey, keyId);
  const bad = [
    { ...full(3), v: 2 },
    { ...full(3), list: 'UPPER' },
    { ...full(3), list: '../etc' },
    { ...full(3), extra: 1 },
    { ...full(3), entries: [{ tag: 'nope', cidrs: new Uint8Array(0) }] },
    { ...full(3), entries: [{ cidrs: Uint8Array.of(23, 192, 0, 3) }] }, // host bits
    { ...full(3), issued: 'yesterday' },
    { ...full(3), expires: iso(NOW - 120_000), issued: iso(NOW - 60_000) }, // expires before issued
    'a string',
  ];
  for (const value of bad) {
    const r = verifyIntelMessage(signRaw(value), { keys, now: NOW });
    t.notOk(r.ok, JSON.stringify(value).slice(0, 60));
  }
});

t.test('hostile CBOR is refused without a crash', async (t) => {
  const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
  const hostile = [
    hex(''),
    hex('5b 0000000080000000'), // a 2 GiB byte string declared in 9 bytes
    hex('9b 0000000100000000'), // 2^32 array items
    hex('81'.repeat(100) + '80'), // deep nesting
    hex('d8 1c 80'), // a tag (cbor-x shared references)
    hex('a4 65 6b65794964 5f 41 00 ff'), // indefinite length
    hex('bf ff'),
  ];
  for (const bytes of hostile) t.match(verifyIntelMessage(bytes, { keys, now: NOW }), { ok: false });
  const good = signed(full(3));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.tuple(fc.nat(good.length - 1), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([at, junk]) => {
          const copy = Uint8Array.from(good);
          copy.set(junk.subarray(0, good.length - at), at);
          return copy;
        }),
        fc.nat(good.length).map((n) => good.subarray(0, n)),
      ),
      (bytes) => {
        const r = verifyIntelMessage(bytes, { keys, now: NOW });
        return !r.ok || Buffer.from(bytes).equals(Buffer.from(good));
      },
    ),
    { numRuns: 5_000, seed: 11 },
  );
});
