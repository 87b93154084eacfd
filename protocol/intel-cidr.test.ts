import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import t from 'tap';
import {
  canonicalCidr,
  FAMILY_NONE,
  FAMILY_V4,
  FAMILY_V6,
  formatIpv6,
  PackedCidrWriter,
  parseAddressInto,
  readPackedCidrs,
  unpackCidrTexts,
} from './intel-cidr.js';

const out = new Uint32Array(4);

t.test('addresses: families, mapped IPv4, refusals', async (t) => {
  const cases: [string, number, number[]?][] = [
    ['192.0.2.1', FAMILY_V4, [0xc0000201]],
    ['0.0.0.0', FAMILY_V4, [0]],
    ['255.255.255.255', FAMILY_V4, [0xffffffff]],
    ['::ffff:192.0.2.1', FAMILY_V4, [0xc0000201]],
    ['::FFFF:c000:0201', FAMILY_V4, [0xc0000201]],
    ['::1', FAMILY_V6, [0, 0, 0, 1]],
    ['::', FAMILY_V6, [0, 0, 0, 0]],
    ['2001:db8::', FAMILY_V6, [0x20010db8, 0, 0, 0]],
    ['2001:DB8:0:0:0:0:0:1', FAMILY_V6, [0x20010db8, 0, 0, 1]],
    ['64:ff9b::192.0.2.1', FAMILY_V6, [0x0064ff9b, 0, 0, 0xc0000201]],
    ['1:2:3:4:5:6:7::', FAMILY_V6, [0x10002, 0x30004, 0x50006, 0x70000]],
    ['01.2.3.4', FAMILY_NONE],
    ['1.2.3', FAMILY_NONE],
    ['1.2.3.4.5', FAMILY_NONE],
    ['256.1.1.1', FAMILY_NONE],
    ['1.2.3.4 ', FAMILY_NONE],
    ['', FAMILY_NONE],
    ['fe80::1%eth0', FAMILY_NONE],
    ['[::1]', FAMILY_NONE],
    [':::', FAMILY_NONE],
    ['1::2::3', FAMILY_NONE],
    ['1:2:3:4:5:6:7:8:9', FAMILY_NONE],
    ['1:2:3:4:5:6:7:8::', FAMILY_NONE],
    ['12345::', FAMILY_NONE],
    ['1:', FAMILY_NONE],
    ['::ffff:1.2.3', FAMILY_NONE],
    ['pseudonym-abc', FAMILY_NONE],
  ];
  for (const [text, family, words] of cases) {
    const got = parseAddressInto(text, out);
    t.equal(got, family, text);
    if (words) t.same(Array.from(out.subarray(0, words.length)), words, `${text} words`);
  }
});

t.test('addresses agree with node:net on random and mutated text', async (t) => {
  const arb = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%/ '.split('')), maxLength: 45 }),
  );
  fc.assert(
    fc.property(arb, (text) => {
      const family = parseAddressInto(text, out);
      const v4 = isIPv4(text);
      const v6 = isIPv6(text) && !text.includes('%');
      if (family === FAMILY_NONE) return !v4 && !v6;
      return v4 || v6;
    }),
    { numRuns: 20_000, seed: 7 },
  );
  // Canonical IPv6 text round-trips through the parser.
  fc.assert(
    fc.property(fc.ipV6(), (text) => {
      if (parseAddressInto(text, out) !== FAMILY_V6) return true;
      const words = Array.from(out);
      const again = new Uint32Array(4);
      parseAddressInto(formatIpv6(words), again);
      return Array.from(again).every((w, i) => w === words[i]) && isIPv6(formatIpv6(words));
    }),
    { numRuns: 5_000, seed: 8 },
  );
  t.pass('25,000 cases');
});

t.test('CIDRs: canonical text, host bits, mapped prefixes', async (t) => {
  t.equal(canonicalCidr('10.1.2.3/8'), '10.0.0.0/8');
  t.equal(canonicalCidr('0.0.0.0/0'), '0.0.0.0/0');
  t.equal(canonicalCidr('192.0.2.1'), '192.0.2.1/32');
  t.equal(canonicalCidr('2001:DB8:0::/32'), '2001:db8::/32');
  t.equal(canonicalCidr('::/0'), '::/0');
  t.equal(canonicalCidr('2001:db8::1'), '2001:db8::1/128');
  t.equal(canonicalCidr('1:0:0:1:0:0:0:1/128'), '1:0:0:1::1/128', 'RFC 5952: the longer zero run');
  t.equal(canonicalCidr('1:0:1:1:1:1:1:1/128'), '1:0:1:1:1:1:1:1/128', 'RFC 5952: one zero group stays');
  t.equal(canonicalCidr('::ffff:192.0.2.0/120'), '192.0.2.0/24');
  t.equal(canonicalCidr('::ffff:0:0/80'), '::/80', 'shorter than /96 stays IPv6');
  for (const bad of ['1.2.3.4/33', '1.2.3.4/', '1.2.3.4/08', '::/129', '1.2.3.4/a', '/24', '1.2.3.4/24/1']) {
    t.equal(canonicalCidr(bad), undefined, bad);
  }
});

t.test('packed lists round-trip and refuse non-canonical entries', async (t) => {
  const texts = [
    '0.0.0.0/0',
    '10.0.0.0/8',
    '192.0.2.0/24',
    '192.0.2.7/32',
    '::/0',
    '2001:db8::/33',
    '2001:db8::1/128',
  ];
  const writer = new PackedCidrWriter();
  for (const text of texts) t.ok(writer.addText(text));
  const packed = writer.finish();
  t.equal(packed.length, 1 + 2 + 4 + 5 + 1 + 6 + 17);
  t.same(unpackCidrTexts(packed), texts);
  t.same(readPackedCidrs(packed, 0, 3, undefined), { ok: false, reason: 'too many' });
  t.same(readPackedCidrs(Uint8Array.of(23, 192, 0, 3), 0, 10, undefined), {
    ok: false,
    reason: 'host bits set',
  });
  t.same(readPackedCidrs(Uint8Array.of(24, 192, 0), 0, 10, undefined), { ok: false, reason: 'truncated' });
  t.same(readPackedCidrs(Uint8Array.of(33), 0, 10, undefined), { ok: false, reason: 'bad header' });
  t.same(readPackedCidrs(Uint8Array.of(193), 0, 10, undefined), { ok: false, reason: 'bad header' });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const r = readPackedCidrs(bytes, 0, 100, undefined);
      if (!r.ok) return true;
      const again = new PackedCidrWriter();
      for (const text of unpackCidrTexts(bytes)!) again.addText(text);
      return Buffer.from(again.finish()).equals(Buffer.from(bytes));
    }),
    { numRuns: 5_000, seed: 9 },
  );
});
