import { TypeCompiler } from '@sinclair/typebox/compiler';
import fc from 'fast-check';
import t from 'tap';
import { type ConnectionEvent, ConnectionEventSchema, EVENT_KEYS } from '../../protocol/event.js';
import { limits } from '../../protocol/limits.js';
import { NetworkSet } from './address.js';
import {
  createMinimisePolicy,
  type MinimisePolicyOptions,
  minimise,
  newMinimiseCounters,
  parseAddressOverrides,
} from './minimise.js';
import { cleanText } from './text.js';

const KEY_A = Buffer.alloc(32, 1);
const KEY_B = Buffer.alloc(32, 2);
const checker = TypeCompiler.Compile(ConnectionEventSchema);

function run(event: ConnectionEvent, options: Partial<MinimisePolicyOptions> = {}) {
  const counters = newMinimiseCounters();
  const out = minimise(event, createMinimisePolicy({ key: KEY_A, ...options }), counters);
  return { out, counters };
}

const base: ConnectionEvent = {
  ts: '2026-03-10T13:22:05.123Z',
  vendor: 'fortinet_fortigate',
  src_ip: '192.168.1.50',
  src_port: 51515,
  dst_ip: '93.184.216.34',
  dst_port: 443,
  proto: 'tcp',
  action: 'allow',
  src_nat_ip: '203.0.113.9',
  src_nat_port: 61515,
  dst_nat_ip: '10.0.0.8',
  dst_nat_port: 8443,
  bytes: 43008,
  packets: 55,
  rule: 'LAN-to-WAN',
  interface: 'internal',
  direction: 'out',
  category: 'Malicious Websites',
  severity: 'high',
  count: 3,
  last_seen: '2026-03-10T13:22:09.000Z',
  src_ports: 2,
};

t.test('every allow-listed key is handled: with keep policies an event passes unchanged', async (t) => {
  t.same(Object.keys(base).sort(), [...EVENT_KEYS].sort(), 'the sample sets every key of the schema');
  const { out, counters } = run(base, { internalAddresses: 'keep', rule: 'keep', interface: 'keep' });
  t.same(out, base);
  t.same(Object.keys(out), EVENT_KEYS, 'keys in wire order');
  t.equal(counters.pseudonymised + counters.invalidValues + counters.droppedByPolicy, 0);
  t.not(out, base, 'a new object');
});

t.test('defaults: internal addresses, rule and interface pseudonymised; external kept', async (t) => {
  const { out, counters } = run(base);
  t.match(out.src_ip, /^p:[a-z2-7]{12}$/);
  t.match(out.dst_nat_ip, /^p:[a-z2-7]{12}$/);
  t.equal(out.dst_ip, '93.184.216.34', 'external destination kept');
  t.equal(out.src_nat_ip, '203.0.113.9', 'public NAT address kept');
  t.match(out.rule, /^p:[a-z2-7]{12}$/);
  t.match(out.interface, /^p:[a-z2-7]{12}$/);
  t.not(out.rule, out.interface);
  t.equal(counters.pseudonymised, 4);
  t.ok(checker.Check(out), 'still a valid wire event');
});

t.test('pseudonyms are stable per host, differ between hosts, and across devices', async (t) => {
  const policyA = createMinimisePolicy({ key: KEY_A });
  const policyA2 = createMinimisePolicy({ key: Buffer.from(KEY_A) });
  const policyB = createMinimisePolicy({ key: KEY_B });
  const c = newMinimiseCounters();
  const p = (policy: typeof policyA, ip: string) =>
    minimise({ vendor: 'x', action: 'deny', src_ip: ip }, policy, c).src_ip;
  t.equal(p(policyA, '10.0.0.1'), p(policyA, '10.0.0.1'), 'same host, same pseudonym');
  t.equal(p(policyA, '10.0.0.1'), p(policyA2, '10.0.0.1'), 'same key after a restart, same pseudonym');
  t.not(p(policyA, '10.0.0.1'), p(policyA, '10.0.0.2'), 'different hosts differ');
  t.not(p(policyA, '10.0.0.1'), p(policyB, '10.0.0.1'), 'another device, another pseudonym');
  t.equal(p(policyA, '10.0.0.1'), p(policyA, '::ffff:10.0.0.1'), 'IPv4-mapped form is the same host');
  t.equal(p(policyA, 'fe80::1'), p(policyA, 'fe80:0:0:0::1'), 'IPv6 text forms are the same host');
  t.equal(p(policyA, 'fd00::1'), p(policyA, 'FD00::1'));
  const srcAndDst = minimise(
    { vendor: 'x', action: 'deny', src_ip: '10.9.9.9', dst_ip: '10.9.9.9' },
    policyA,
    c,
  );
  t.equal(srcAndDst.src_ip, srcAndDst.dst_ip, 'one host, one pseudonym in every address field');
  const rule = minimise({ vendor: 'x', action: 'deny', rule: '10.9.9.9' }, policyA, c).rule;
  t.not(rule, srcAndDst.src_ip, 'a rule named like an address does not share its pseudonym');
  // The pseudonym reveals nothing of the address: no octet, no hex of it.
  for (const ip of ['10.0.0.1', '192.168.1.50', '172.16.5.4']) {
    const pseudo = p(policyA, ip)!;
    t.notMatch(pseudo, ip);
    t.notMatch(pseudo, /\./);
  }
  // Distinct over many hosts (60-bit pseudonyms: a collision among 65,536 would be a bug).
  const seen = new Set<string>();
  for (let i = 0; i < 65_536; i++) seen.add(p(policyA, `10.0.${i >> 8}.${i & 255}`)!);
  t.equal(seen.size, 65_536);
});

t.test('keep and drop per field; member networks are internal too', async (t) => {
  const kept = run(base, { internalAddresses: { dst_nat_ip: 'keep' } }).out;
  t.equal(kept.dst_nat_ip, '10.0.0.8');
  t.match(kept.src_ip, /^p:/);
  const dropped = run(base, { internalAddresses: 'drop', rule: 'drop', interface: 'drop' });
  t.notOk('src_ip' in dropped.out);
  t.notOk('dst_nat_ip' in dropped.out);
  t.notOk('rule' in dropped.out);
  t.notOk('interface' in dropped.out);
  t.equal(dropped.out.dst_ip, '93.184.216.34');
  t.equal(dropped.counters.droppedByPolicy, 4);
  const parsed = NetworkSet.parse('203.0.113.0/24');
  if (!parsed.ok) throw new Error(parsed.reason);
  const own = run(base, { networks: parsed.networks }).out;
  t.match(own.src_nat_ip, /^p:/, "the member's public range is pseudonymised when listed");
  t.equal(own.dst_ip, '93.184.216.34');
});

t.test('address fields only ever hold addresses', async (t) => {
  const { out, counters } = run({
    vendor: 'x',
    action: 'deny',
    src_ip: 'canary-host.example',
    dst_ip: '8.8.8.8 CANARY',
    src_nat_ip: 42 as unknown as string,
    dst_nat_ip: '[2001:DB8::1]',
  });
  t.notOk('src_ip' in out);
  t.notOk('dst_ip' in out);
  t.notOk('src_nat_ip' in out);
  t.equal(out.dst_nat_ip, '2001:db8::1', 'external IPv6 kept without brackets, lower-case');
  t.equal(counters.invalidValues, 3);
  const zoned = run(
    { vendor: 'x', action: 'deny', src_ip: 'fe80::1%canary-iface' },
    { internalAddresses: 'keep' },
  );
  t.equal(zoned.out.src_ip, 'fe80::1', 'a zone id (an interface name) never passes');
});

t.test('unknown keys, bad numbers and bad actions are removed and counted', async (t) => {
  const hostile = {
    vendor: 'x',
    action: 'exfiltrate',
    user: 'CANARY-USER-7f3a',
    url: 'https://canary.example/path',
    msg: 'hello',
    src_port: 70000,
    dst_port: 1.5,
    bytes: -1,
    packets: '12',
    count: 0,
    __proto__: { inherited: 'CANARY' },
  } as unknown as ConnectionEvent;
  const { out, counters } = run(hostile);
  t.same(out, { vendor: 'x', action: 'other' });
  t.equal(counters.unknownFields, 4, 'inherited enumerable keys count too');
  t.equal(counters.invalidValues, 6);
  t.notMatch(JSON.stringify(out), /CANARY|canary/);
});

t.test('unknown keys are counted however the allow-listed ones are filled', async (t) => {
  // minimise counts keys before looking them up: keys holding undefined must not hide unknown ones.
  const cases: [Record<string, unknown>, number][] = [
    [{ ...base }, 0],
    [{ vendor: 'x', action: 'deny' }, 0],
    [{ vendor: 'x', action: 'deny', src_ip: undefined }, 0],
    [{ vendor: 'x', action: 'deny', src_ip: undefined, user: 'bob' }, 1],
    [{ vendor: 'x', action: 'deny', rule: undefined, user: 'bob', msg: undefined }, 2],
    [{ ...base, src_ip: undefined, dst_ip: undefined, user: 'bob', host: 'h' }, 2],
  ];
  for (const [event, unknown] of cases) {
    const { counters } = run(event as unknown as ConnectionEvent);
    t.equal(counters.unknownFields, unknown, JSON.stringify(Object.keys(event)));
  }
});

t.test('text is clamped by UTF-8 bytes and schema length, never splitting a character', async (t) => {
  const ascii = 'a'.repeat(300);
  const { out, counters } = run({ vendor: 'x', action: 'deny', category: ascii }, {});
  t.equal(out.category, 'a'.repeat(64), 'category: schema maxLength 64');
  t.equal(counters.clampedText, 1);
  const euro = '€'.repeat(100); // 3 bytes each
  const r1 = cleanText(euro, 256, 256);
  t.type(r1, 'object');
  if (typeof r1 !== 'string') {
    t.equal(r1.text, '€'.repeat(85), '85 × 3 bytes = 255 ≤ 256');
    t.ok(r1.clamped);
  }
  const emoji = '😀'.repeat(80); // a surrogate pair, 4 bytes each
  const r2 = cleanText(emoji, 128, 256);
  if (typeof r2 !== 'string') {
    t.equal(r2.text, '😀'.repeat(64), '64 × 4 bytes = 256; 128 UTF-16 units');
    t.equal(Buffer.byteLength(r2.text), 256);
  }
  const r3 = cleanText('ab😀', 3, 256);
  if (typeof r3 !== 'string') t.equal(r3.text, 'ab', 'a pair that does not fit whole is left out');
  const rule = run({ vendor: 'x', action: 'deny', rule: 'é'.repeat(200) }, { rule: 'keep' }).out.rule!;
  t.equal(rule.length, 128, 'rule: schema maxLength 128 units');
  t.ok(Buffer.byteLength(rule) <= limits.maxStringBytes);
});

t.test('control characters, NUL and lone surrogates are stripped', async (t) => {
  const { out, counters } = run(
    {
      vendor: 'x\u0000',
      action: 'deny',
      category: 'a\u0000b\u001bc\u007fd\u0085e\u2028f\ud800g\udc00h',
      severity: 'hi\r\n',
    },
    {},
  );
  t.equal(out.vendor, 'x');
  t.equal(out.category, 'abcdefgh');
  t.equal(out.severity, 'hi');
  t.equal(counters.strippedChars, 10);
  t.equal(cleanText('plain text', 64, 256), 'plain text', 'the common case returns the same string');
  t.equal(cleanText('Grüße', 64, 256).constructor, Object, 'non-ASCII takes the careful path');
});

t.test('property: any event of any shape comes out valid for the wire', async (t) => {
  const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)); // lone surrogates too
  const anyText = fc.oneof(
    fc.string({ maxLength: 400 }),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.string({ unit: codeUnit, maxLength: 300 }),
    fc.ipV4(),
    fc.ipV6(),
  );
  const anyValue = fc.oneof(anyText, fc.integer(), fc.double(), fc.constant(undefined), fc.boolean());
  const policy = createMinimisePolicy({
    key: KEY_A,
    rule: 'keep',
    interface: 'keep',
    internalAddresses: 'keep',
  });
  const counters = newMinimiseCounters();
  fc.assert(
    fc.property(fc.dictionary(fc.constantFrom(...EVENT_KEYS, 'user', 'msg'), anyValue), (raw) => {
      const out = minimise(raw as unknown as ConnectionEvent, policy, counters);
      if (!checker.Check(out)) return false;
      for (const value of Object.values(out)) {
        if (typeof value === 'string' && Buffer.byteLength(value) > limits.maxStringBytes) return false;
      }
      return true;
    }),
    { numRuns: 5000 },
  );
  t.pass();
});

t.test('privacyAddressFields overrides parse or give a reason', async (t) => {
  t.same(parseAddressOverrides('dst_ip=keep, src_nat_ip=drop'), {
    ok: true,
    overrides: { dst_ip: 'keep', src_nat_ip: 'drop' },
  });
  t.same(parseAddressOverrides(''), { ok: true, overrides: {} });
  for (const bad of ['dst_ip', 'dst_ip=hide', 'user=keep', 'dst_ip=keep=1']) {
    const r = parseAddressOverrides(bad);
    t.notOk(r.ok, bad);
  }
});
