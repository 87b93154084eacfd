import { isIP } from 'node:net';
import fc from 'fast-check';
import t from 'tap';
import { FIXTURE_NOW } from '../../test/support/parse-fixtures.js';
import { isDottedQuad, normaliseProto, parseIp, parseKeyValues, parseKeyValuesInto } from './fields.js';
import { fortigate } from './fortigate.js';
import { parseSyslogHeader } from './header.js';

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

t.test('normaliseProto shortcut agrees with the general path', async (t) => {
  // A leading space misses the shortcut; the general path trims it.
  for (const v of ['6', '17', '1', 'tcp', 'TCP', 'udp', 'UDP', 'icmp', 'ICMP', 'Tcp', 'TCP/443', '06', '58'])
    t.equal(normaliseProto(v), normaliseProto(` ${v}`), v);
  t.equal(normaliseProto('6'), 'tcp');
  t.equal(normaliseProto('UDP'), 'udp');
  t.equal(normaliseProto('1'), 'icmp');
});

const kvText = fc.string({
  unit: fc.constantFrom(...'ab=="\\ ,k1_ v'.split(''), 'date=', 'time=', ' srcip=', ' tz="+0000"', 'src'),
  maxLength: 60,
});

t.test('parseKeyValuesInto holds what the map holds, whatever the previous line was', async (t) => {
  const keys = ['a', 'ab', 'date', 'time', 'srcip', 'src', 'k1_', 'v', ''];
  const slots = new Map(keys.map((k, i) => [k, i]));
  const values: (string | undefined)[] = new Array(keys.length).fill('stale');
  const read = (text: string, separator: string) => {
    parseKeyValuesInto(text, separator, slots, values);
    return JSON.stringify(values);
  };
  fc.assert(
    fc.property(kvText, kvText, fc.constantFrom(' ', ',', ''), (text, other, separator) => {
      const map = parseKeyValues(text, separator);
      const expected = JSON.stringify(keys.map((k) => map.get(k)));
      read('x=1', '\u0001'); // another separator: no key guesses
      const fresh = read(text, separator);
      const again = read(text, separator); // every key guessed from itself
      read(other, separator);
      const afterOther = read(text, separator); // guesses from another layout
      return fresh === expected && again === expected && afterOther === expected;
    }),
    { numRuns: 10000 },
  );
  t.pass('10000 texts');
});

t.test('a repeated BSD date reads as when it is new, whatever follows it', async (t) => {
  const dates = [
    'Nov 25 16:04:56',
    'Nov  5 16:04:56',
    'nov 25 16:04:56',
    'Nov  25 9:04:56',
    'Dec 31 23:59:59',
  ];
  const tails = fc.oneof(
    fc.constantFrom(
      '',
      ':',
      ' ',
      ' 2026 x',
      ' 1969 x',
      ' UTC',
      ' UTCx',
      ' GMT: y',
      '.5 x',
      'x',
      ' Ux',
      ' h a: m',
    ),
    fc.string({ unit: fc.constantFrom(...' :.,0129UTCGMx'.split('')), maxLength: 8 }),
  );
  const nows = [FIXTURE_NOW, new Date('2027-01-01T00:00:00Z')];
  fc.assert(
    fc.property(
      fc.constantFrom(...dates),
      tails,
      fc.constantFrom('', '<13>', '<13>*'),
      (date, tail, lead) => {
        const line = `${lead}${date}${tail}`;
        for (const now of nows) {
          parseSyslogHeader('<13>Jan  1 00:00:00 other', now);
          const fresh = parseSyslogHeader(line, now);
          parseSyslogHeader(`<13>${date} h a: primed`, now);
          const repeated = parseSyslogHeader(line, now);
          if (JSON.stringify(fresh) !== JSON.stringify(repeated)) return false;
        }
        return true;
      },
    ),
    { numRuns: 3000 },
  );
  t.pass('3000 lines');
});

t.test('FortiGate time is the same for a repeated date, time and zone', async (t) => {
  const line = (date: string, time: string, tz: string) =>
    `date=${date} time=${time} logid="0000000013" type="traffic" tz="${tz}" srcip=10.0.0.1 dstip=10.0.0.2 action="deny"`;
  const parse = (raw: string) => fortigate.parse(parseSyslogHeader(raw, FIXTURE_NOW));
  for (const [date, time, tz] of [
    ['2026-11-25', '16:04:56', '+0000'],
    ['2026-11-25', '16:04:56', '-0700'],
    ['2026-11-25', '16:04:56', 'bogus'],
    ['2026-02-30', '16:04:56', '+0100'],
  ] as const) {
    parse(line('2020-01-01', '00:00:00', '+0000'));
    const fresh = parse(line(date, time, tz));
    const repeated = parse(line(date, time, tz));
    t.same(repeated, fresh, `${date} ${time} ${tz}`);
  }
});
