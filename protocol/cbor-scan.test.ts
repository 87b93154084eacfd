import fc from 'fast-check';
import t from 'tap';
import { CBOR_REASONS, isValidUtf8, scanCbor } from './cbor-scan.js';
import { limits } from './limits.js';

const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
const reasonOf = (input: Uint8Array): string => {
  const r = scanCbor(input);
  return r.ok ? 'ok' : r.reason;
};
/** A CBOR head (major type + argument) in preferred form. */
const head = (major: number, arg: number): Uint8Array => {
  const m = major << 5;
  if (arg < 24) return Uint8Array.of(m | arg);
  if (arg < 0x100) return Uint8Array.of(m | 24, arg);
  if (arg < 0x10000) return Uint8Array.of(m | 25, arg >> 8, arg & 0xff);
  return Uint8Array.of(m | 26, arg >>> 24, (arg >> 16) & 0xff, (arg >> 8) & 0xff, arg & 0xff);
};
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
const text = (s: string): Uint8Array => concat(head(3, Buffer.byteLength(s)), Buffer.from(s));
const nestedArrays = (depth: number): Uint8Array =>
  concat(new Uint8Array(depth - 1).fill(0x81), Uint8Array.of(0x80));
const mapOf = (pairs: number): Uint8Array => {
  const parts = [head(5, pairs)];
  for (let i = 0; i < pairs; i++) parts.push(text(`k${i}`), Uint8Array.of(0x00));
  return concat(...parts);
};

const cases: [string, Uint8Array, string][] = [
  ['empty input', new Uint8Array(0), CBOR_REASONS.truncated],
  ['one integer', bytes('00'), 'ok'],
  ['uint64', bytes('1b ffffffffffffffff'), 'ok'],
  ['negative int', bytes('38 63'), 'ok'],
  ['false true null undefined', bytes('84 f4 f5 f6 f7'), 'ok'],
  ['half, single and double floats', bytes('83 f9 3c00 fa 47c35000 fb 3ff199999999999a'), 'ok'],
  ['uint16 missing a byte', bytes('19 01'), CBOR_REASONS.truncated],
  ['float64 missing bytes', bytes('fb 3ff1'), CBOR_REASONS.truncated],
  ['string shorter than declared', bytes('78 10 61'), CBOR_REASONS.truncated],
  ['array count beyond the remaining bytes', bytes('98 64 00 00 00 00 00'), CBOR_REASONS.truncated],
  ['map count beyond the remaining bytes', bytes('a2 61 61 00'), CBOR_REASONS.truncated],
  ['array missing its last item', bytes('83 00 00'), CBOR_REASONS.truncated],
  ['two top-level items', bytes('00 00'), CBOR_REASONS.trailingBytes],
  ['2 GiB text string declared in 9 bytes', bytes('7b 00000000 80000000'), CBOR_REASONS.stringTooLong],
  ['2 GiB byte string declared in 5 bytes', bytes('5a 80000000'), CBOR_REASONS.stringTooLong],
  ['array declaring 2^32 items', bytes('9b 00000001 00000000'), CBOR_REASONS.arrayTooLong],
  ['map declaring 2^64-1 pairs', bytes('bb ffffffff ffffffff'), CBOR_REASONS.mapTooLarge],
  ['indefinite byte string', bytes('5f 41 00 ff'), CBOR_REASONS.indefiniteLength],
  ['indefinite text string', bytes('7f 61 61 ff'), CBOR_REASONS.indefiniteLength],
  ['indefinite array', bytes('9f 00 ff'), CBOR_REASONS.indefiniteLength],
  ['indefinite map', bytes('bf 61 61 00 ff'), CBOR_REASONS.indefiniteLength],
  ['stray break', bytes('ff'), CBOR_REASONS.unexpectedBreak],
  ['break inside an array', bytes('82 00 ff'), CBOR_REASONS.unexpectedBreak],
  ['integer with info 31', bytes('1f'), CBOR_REASONS.malformed],
  ['negative with info 31', bytes('3f'), CBOR_REASONS.malformed],
  ['tag with info 31', bytes('df'), CBOR_REASONS.malformed],
  ['reserved info 28', bytes('1c'), CBOR_REASONS.reservedInfo],
  ['reserved info 29 in a string head', bytes('7d'), CBOR_REASONS.reservedInfo],
  ['reserved info 30 in a simple value', bytes('fe'), CBOR_REASONS.reservedInfo],
  ['tag 1 (epoch date)', bytes('c1 00'), CBOR_REASONS.tag],
  ['tag 28 (cbor-x shareable)', bytes('d8 1c 80'), CBOR_REASONS.tag],
  ['tag 29 (cbor-x shared reference)', bytes('d8 1d 00'), CBOR_REASONS.tag],
  ['tag 0x7fff', bytes('d9 7fff 00'), CBOR_REASONS.tag],
  ['tag 0xdfff (cbor-x inline record)', bytes('d9 dfff 83 00 81 61 61 00'), CBOR_REASONS.tag],
  ['tag 0xdffe (cbor-x record definitions)', bytes('d9 dffe 00'), CBOR_REASONS.tag],
  ['tag as a map value', bytes('a1 61 61 c1 00'), CBOR_REASONS.tag],
  ['tag as a map key', bytes('a1 c1 00 00'), CBOR_REASONS.tag],
  ['one-byte simple value', bytes('f8 20'), CBOR_REASONS.simpleValue],
  ['unassigned simple value 0', bytes('e0'), CBOR_REASONS.simpleValue],
  ['integer map key', bytes('a1 01 02'), CBOR_REASONS.nonTextKey],
  ['byte-string map key', bytes('a1 41 61 00'), CBOR_REASONS.nonTextKey],
  ['array map key', bytes('a1 80 00'), CBOR_REASONS.nonTextKey],
  ['second key not text', bytes('a2 61 61 00 00 00'), CBOR_REASONS.nonTextKey],
  ['text value after text key', bytes('a1 61 61 61 62'), 'ok'],
  ['overlong UTF-8', bytes('62 c0 af'), CBOR_REASONS.invalidUtf8],
  ['NUL inside a text string', bytes('63 61 00 62'), CBOR_REASONS.nulInText],
  ['UTF-8 surrogate half', bytes('63 ed a0 80'), CBOR_REASONS.invalidUtf8],
  ['UTF-8 above U+10FFFF', bytes('64 f4 90 80 80'), CBOR_REASONS.invalidUtf8],
  ['UTF-8 sequence cut by the string end', bytes('82 61 e2 61 61'), CBOR_REASONS.invalidUtf8],
  ['non-UTF-8 bytes in a byte string are fine', bytes('42 c0 af'), 'ok'],
  ['4-byte UTF-8', bytes('64 f0 9f 94 a5'), 'ok'],
  ['1000-deep nested arrays', nestedArrays(1000), CBOR_REASONS.tooDeep],
  [
    '1000-deep nested maps',
    concat(...Array.from({ length: 1000 }, () => bytes('a1 61 61')), bytes('00')),
    'cbor: too deep',
  ],
  [`nesting of exactly maxDepth (${limits.maxDepth})`, nestedArrays(limits.maxDepth), 'ok'],
  [
    'nesting of maxDepth + 1, even if the innermost is empty',
    nestedArrays(limits.maxDepth + 1),
    CBOR_REASONS.tooDeep,
  ],
  [`text of maxStringBytes (${limits.maxStringBytes})`, text('é'.repeat(limits.maxStringBytes / 2)), 'ok'],
  [
    'text of maxStringBytes + 1',
    text(`${'é'.repeat(limits.maxStringBytes / 2)}a`),
    CBOR_REASONS.stringTooLong,
  ],
  [
    'byte string of maxStringBytes + 1',
    concat(head(2, limits.maxStringBytes + 1), new Uint8Array(limits.maxStringBytes + 1)),
    CBOR_REASONS.stringTooLong,
  ],
  [
    `array of maxEventsPerBatch (${limits.maxEventsPerBatch})`,
    concat(head(4, limits.maxEventsPerBatch), new Uint8Array(limits.maxEventsPerBatch)),
    'ok',
  ],
  [
    'array of maxEventsPerBatch + 1',
    concat(head(4, limits.maxEventsPerBatch + 1), new Uint8Array(limits.maxEventsPerBatch + 1)),
    CBOR_REASONS.arrayTooLong,
  ],
  [`map of maxMapKeys (${limits.maxMapKeys}) pairs`, mapOf(limits.maxMapKeys), 'ok'],
  ['map of maxMapKeys + 1 pairs', mapOf(limits.maxMapKeys + 1), CBOR_REASONS.mapTooLarge],
];

t.test('hostile and boundary inputs each give their reason', async (t) => {
  for (const [name, input, expected] of cases) t.equal(reasonOf(input), expected, name);
});

t.test('the stack is reset between scans', async (t) => {
  t.equal(reasonOf(nestedArrays(limits.maxDepth + 1)), CBOR_REASONS.tooDeep);
  t.equal(reasonOf(bytes('a1 61 61 00')), 'ok', 'a map right after an aborted deep scan');
  t.equal(reasonOf(bytes('a2 61 61')), CBOR_REASONS.truncated);
  t.equal(reasonOf(bytes('81 00')), 'ok');
});

t.test('never throws on arbitrary bytes and always ends with ok or a known reason', async (t) => {
  const known = new Set<string>(['ok', ...Object.values(CBOR_REASONS)]);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (input) => known.has(reasonOf(input))),
    { numRuns: 5000 },
  );
  t.pass('5000 arbitrary inputs');
});

t.test('isValidUtf8 agrees with a fatal TextDecoder', async (t) => {
  const fatal = new TextDecoder('utf-8', { fatal: true });
  const decodes = (b: Uint8Array): boolean => {
    try {
      fatal.decode(b);
      return true;
    } catch {
      return false;
    }
  };
  // Bias towards bytes >= 0x80 so multi-byte sequences, valid and broken, are common.
  const byte = fc.oneof(fc.integer({ min: 0x80, max: 0xff }), fc.integer({ min: 0, max: 0xff }));
  fc.assert(
    fc.property(fc.array(byte, { maxLength: 40 }), (arr) => {
      const b = Uint8Array.from(arr);
      return isValidUtf8(b, 0, b.length) === decodes(b);
    }),
    { numRuns: 20000 },
  );
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      const b = Buffer.from(s, 'utf8');
      return isValidUtf8(b, 0, b.length);
    }),
  );
  t.pass('agrees on random and on valid input');
});
