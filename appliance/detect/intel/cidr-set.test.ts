import fc from 'fast-check';
import t from 'tap';
import { formatIpv4, formatIpv6, INTEL_TAGS, type IntelTag } from '../../../protocol/intel-cidr.js';
import { CidrListBuilder, CidrSet, type IntelMatch } from './cidr-set.js';

/** The model: a list of CIDRs as BigInts, longest prefix wins; nothing clever. */
interface ModelEntry {
  readonly v6: boolean;
  readonly start: bigint;
  readonly prefix: number;
  readonly tag: number;
}

const bits = (e: { v6: boolean }) => (e.v6 ? 128 : 32);
const key = (e: ModelEntry) => `${e.v6}/${e.start}/${e.prefix}`;

function modelOf(entries: readonly ModelEntry[]): Map<string, ModelEntry> {
  const map = new Map<string, ModelEntry>();
  for (const e of entries) {
    const held = map.get(key(e));
    if (held === undefined || e.tag > held.tag) map.set(key(e), e); // the later tag in INTEL_TAGS wins
  }
  return map;
}

function modelLookup(model: Map<string, ModelEntry>, v6: boolean, address: bigint): IntelMatch | undefined {
  let best: ModelEntry | undefined;
  for (const e of model.values()) {
    if (e.v6 !== v6) continue;
    const host = BigInt(bits(e) - e.prefix);
    if (address >> host !== e.start >> host) continue;
    if (best === undefined || e.prefix > best.prefix) best = e;
  }
  return best === undefined ? undefined : best.tag === 0 ? 'listed' : INTEL_TAGS[best.tag - 1];
}

const words = (v: bigint) => [0, 1, 2, 3].map((q) => Number((v >> BigInt(96 - 32 * q)) & 0xffffffffn));
const cidrText = (e: ModelEntry) =>
  e.v6 ? `${formatIpv6(words(e.start))}/${e.prefix}` : `${formatIpv4(Number(e.start))}/${e.prefix}`;
const tagName = (code: number): IntelTag | undefined => (code === 0 ? undefined : INTEL_TAGS[code - 1]);

const V4_BASE = 0x0a000000n; // 10.0.0.0: entries crowd one /16 so they overlap and nest
const V6_BASE = 0x20010db8n << 96n;

const entryArb: fc.Arbitrary<ModelEntry> = fc
  .record({
    v6: fc.boolean(),
    offset: fc.nat(0xffff),
    prefix: fc.oneof(fc.constantFrom(0, 1, 8, 31, 32, 127, 128), fc.integer({ min: 12, max: 32 })),
    tag: fc.nat(INTEL_TAGS.length),
  })
  .map(({ v6, offset, prefix, tag }) => {
    const width = v6 ? 128 : 32;
    const p = v6 ? (prefix <= 32 && prefix > 1 ? 96 + prefix : prefix) : Math.min(prefix, 32);
    const raw = (v6 ? V6_BASE : V4_BASE) + BigInt(offset);
    const host = BigInt(width - p);
    return { v6, start: (raw >> host) << host, prefix: p, tag };
  });

/** Addresses worth asking about: each entry's edges and just outside them, plus strangers. */
function probes(entries: readonly ModelEntry[]): { v6: boolean; address: bigint }[] {
  const out: { v6: boolean; address: bigint }[] = [
    { v6: false, address: 0n },
    { v6: false, address: 0xffffffffn },
    { v6: false, address: 0x01020304n },
    { v6: true, address: 0n },
    { v6: true, address: (1n << 128n) - 1n },
    { v6: true, address: (0x20010db9n << 96n) | 1n },
  ];
  for (const e of entries) {
    const max = (1n << BigInt(bits(e))) - 1n;
    const end = e.start + (1n << BigInt(bits(e) - e.prefix)) - 1n;
    for (const a of [e.start, end, e.start - 1n, end + 1n, (e.start + end) / 2n]) {
      if (a >= 0n && a <= max) out.push({ v6: e.v6, address: a });
    }
  }
  return out;
}

function textsFor(p: { v6: boolean; address: bigint }): string[] {
  if (p.v6) {
    const w = words(p.address);
    const full = w
      .flatMap((x) => [(x >>> 16).toString(16), (x & 0xffff).toString(16).toUpperCase()])
      .join(':');
    return [formatIpv6(w), full];
  }
  const dotted = formatIpv4(Number(p.address));
  const n = Number(p.address);
  return [dotted, `::ffff:${dotted}`, `::FFFF:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`];
}

function agree(set: CidrSet, model: Map<string, ModelEntry>, entries: readonly ModelEntry[]): boolean {
  if (set.size !== model.size) return false;
  for (const p of probes(entries)) {
    const expected = modelLookup(model, p.v6, p.address);
    for (const text of textsFor(p)) {
      if (set.lookup(text) !== expected || set.has(text) !== (expected !== undefined)) {
        throw new Error(`${text}: got ${set.lookup(text)}, model ${expected}`);
      }
    }
  }
  return true;
}

const build = (entries: readonly ModelEntry[]) =>
  CidrSet.fromTexts(entries.map((e) => ({ cidr: cidrText(e), tag: tagName(e.tag) })));

t.test('agrees with the model on random overlapping lists', async (t) => {
  fc.assert(
    fc.property(fc.array(entryArb, { maxLength: 60 }), (entries) => {
      const { set, invalid } = build(entries);
      return invalid === 0 && agree(set, modelOf(entries), entries);
    }),
    { numRuns: 1_500, seed: 42 },
  );
  t.pass('1,500 lists');
});

t.test('deltas agree with rebuilding the list', async (t) => {
  fc.assert(
    fc.property(
      fc.array(entryArb, { maxLength: 50 }),
      fc.array(entryArb, { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (base, adds, removePicks) => {
        const { set } = build(base);
        const removes = removePicks.filter(() => base.length > 0).map((i) => base[i % base.length]!);
        const addBuilder = new CidrListBuilder();
        for (const e of adds) addBuilder.addText(cidrText(e), tagName(e.tag));
        const removeBuilder = new CidrListBuilder();
        for (const e of removes) removeBuilder.addText(cidrText(e));
        const changed = set.withChanges(addBuilder, removeBuilder);
        // The model: take out removed CIDRs, then adds replace whatever is there.
        const model = modelOf(base);
        for (const e of removes) model.delete(key(e));
        const addModel = modelOf(adds);
        for (const [k, e] of addModel) model.set(k, e);
        return agree(changed, model, [...base, ...adds]) && agree(set, modelOf(base), base);
      },
    ),
    { numRuns: 1_000, seed: 43 },
  );
  t.pass('1,000 deltas');
});

t.test('edges: /0, /32, /128, mapped, invalid text', async (t) => {
  const { set, invalid } = CidrSet.fromTexts([
    { cidr: '0.0.0.0/0', tag: 'imported' },
    { cidr: '192.0.2.1/32', tag: 'scanner' },
    '2001:db8::1/128',
    { cidr: '::ffff:198.51.100.0/120', tag: 'campaign' },
    'not-a-cidr',
    '10.0.0.0/33',
  ]);
  t.equal(invalid, 2);
  t.equal(set.v4Size, 3);
  t.equal(set.v6Size, 1);
  t.equal(set.lookup('1.2.3.4'), 'imported');
  t.equal(set.lookup('255.255.255.255'), 'imported');
  t.equal(set.lookup('192.0.2.1'), 'scanner');
  t.equal(set.lookup('192.0.2.2'), 'imported');
  t.equal(set.lookup('::ffff:192.0.2.1'), 'scanner');
  t.equal(set.lookup('198.51.100.77'), 'campaign', 'a mapped CIDR is stored as IPv4');
  t.equal(set.lookup('2001:db8::1'), 'listed');
  t.equal(set.lookup('2001:db8::2'), undefined);
  t.equal(set.lookup('::'), undefined, 'IPv4 /0 does not cover IPv6');
  for (const bad of ['', 'x', '1.2.3.4.5', '1.2.3.04', ' 1.2.3.4', '2001:db8::1%lo', '1.2.3.4/32', '[::1]']) {
    t.equal(set.has(bad), false, JSON.stringify(bad));
  }
  const everything = CidrSet.fromTexts(['::/0']).set;
  t.ok(everything.has('::'));
  t.ok(everything.has('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'));
  t.notOk(everything.has('10.0.0.1'));
  t.notOk(CidrSet.empty().has('10.0.0.1'));
  t.notOk(CidrSet.empty().has('::1'));
  t.same(
    [...set.entries()].map((e) => e.cidr),
    ['0.0.0.0/0', '192.0.2.1/32', '198.51.100.0/24', '2001:db8::1/128'],
  );
});

t.test('nested CIDRs: the most specific tag wins and ranges merge', async (t) => {
  const { set } = CidrSet.fromTexts([
    { cidr: '10.0.0.0/8', tag: 'scanner' },
    '10.1.0.0/16',
    { cidr: '10.1.2.0/24', tag: 'scanner' },
    { cidr: '10.1.2.0/24', tag: 'campaign' },
  ]);
  t.equal(set.size, 3);
  t.equal(set.lookup('10.0.0.1'), 'scanner');
  t.equal(set.lookup('10.1.0.1'), 'listed');
  t.equal(set.lookup('10.1.2.255'), 'scanner', 'a duplicate keeps the later tag');
  t.equal(set.lookup('10.1.3.0'), 'listed');
  t.equal(set.lookup('10.2.0.0'), 'scanner');
  t.equal(set.lookup('11.0.0.0'), undefined);
});
