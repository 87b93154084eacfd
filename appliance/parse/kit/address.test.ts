import { isIP } from 'node:net';
import fc from 'fast-check';
import t from 'tap';
import { isDottedQuad, parseIp } from './address.js';

/** `parseIp` as it was written over `net.isIP`, before the hand-written checks. */
function parseIpByNode(value: string | undefined): string | undefined {
  if (value === undefined || value.length === 0 || value.length > 64) return undefined;
  let v = value;
  if (v.charCodeAt(0) === 91 && v.endsWith(']')) v = v.slice(1, -1);
  const zone = v.indexOf('%');
  if (zone > 0) v = v.slice(0, zone);
  return isIP(v) !== 0 ? v.toLowerCase() : undefined;
}

const ipEdges = [
  '0.0.0.0',
  '255.255.255.255',
  '256.1.1.1',
  '1.2.3.04',
  '01.2.3.4',
  '1.2.3',
  '1.2.3.4.',
  '.1.2.3.4',
  '1..2.3',
  '1.2.3.4 ',
  ' 1.2.3.4',
  '1.2.3.4/24',
  '1234.1.1.1',
  '1.2.3.999',
  '::',
  '::1',
  '[::1]',
  '::ffff:1.2.3.4',
  '::ffff:1.2.3.04',
  '2001:DB8::A',
  'fe80::1%eth0',
  'fe80::1x%eth0',
  '%eth0',
  ':',
  '1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7:8:9',
  'outside:10.0.0.1',
  'dead:beef',
  'abc',
  '١.٢.٣.٤',
];

t.test('parseIp accepts and returns exactly what net.isIP-based parsing did', async (t) => {
  for (const v of ipEdges) t.equal(parseIp(v), parseIpByNode(v), JSON.stringify(v));
  const ipChars = fc.constantFrom(...'0123456789abcdefABCDEFx.:%[]/ '.split(''));
  const octet = fc.oneof(
    fc.integer({ min: 0, max: 300 }).map(String),
    fc.constantFrom('00', '01', '007', '0', '255', '256', ''),
  );
  const quadish = fc.tuple(octet, octet, octet, octet).map((p) => p.join('.'));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ unit: ipChars, maxLength: 45 }),
        fc.ipV4(),
        fc.ipV4Extended(),
        fc.ipV6(),
        fc.ipV6().map((a) => `[${a.toUpperCase()}]`),
        fc.ipV6().map((a) => `${a}%eth0`),
        quadish,
        fc.tuple(fc.constantFrom('outside:', 'inside:', '::ffff:', ''), quadish).map(([a, b]) => a + b),
        fc.string({ maxLength: 20 }),
      ),
      (v) => parseIp(v) === parseIpByNode(v),
    ),
    { numRuns: 20000 },
  );
  t.pass('20000 strings');
});

t.test('isDottedQuad is net.isIPv4', async (t) => {
  const octet = fc.oneof(fc.integer({ min: 0, max: 999 }).map(String), fc.constantFrom('00', '01', '', 'x'));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.tuple(octet, octet, octet, octet).map((p) => p.join('.')),
        fc.string({ unit: fc.constantFrom(...'0123456789.'.split('')), maxLength: 17 }),
      ),
      (v) => isDottedQuad(v) === (isIP(v) === 4),
    ),
    { numRuns: 10000 },
  );
  t.pass('10000 strings');
});
