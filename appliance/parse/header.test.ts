import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import t from 'tap';
import { FIXTURE_NOW } from '../../test/support/parse-fixtures.js';
import { parseSyslogHeader } from './header.js';

interface HeaderCase {
  readonly raw: string;
  readonly expect: Record<string, unknown>;
  readonly now?: string;
  readonly note?: string;
}

const cases = readFileSync(new URL('./header.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as HeaderCase);

t.test('header fixtures', async (t) => {
  t.ok(cases.length >= 20);
  for (const [i, c] of cases.entries()) {
    const { raw: _raw, ...got } = parseSyslogHeader(c.raw, c.now ? new Date(c.now) : FIXTURE_NOW);
    t.same(got, c.expect, `#${i + 1} ${c.note ?? ''}`);
    t.strictSame(Object.keys(got).sort(), Object.keys(c.expect).sort(), `#${i + 1} no extra keys`);
  }
});

t.test('raw is the message without BOM and trailing framing debris', async (t) => {
  const m = parseSyslogHeader('\ufeff<13>Jun 14 08:00:00 h a: x\r\n\0', FIXTURE_NOW);
  t.equal(m.raw, '<13>Jun 14 08:00:00 h a: x');
  const plain = 'no header here';
  t.equal(parseSyslogHeader(plain, FIXTURE_NOW).raw, plain);
});

t.test('timestamps are ISO-8601 with an offset and parse as dates', async (t) => {
  for (const c of cases) {
    const m = parseSyslogHeader(c.raw, c.now ? new Date(c.now) : FIXTURE_NOW);
    if (m.ts === undefined) continue;
    t.match(m.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/, m.ts);
    t.notOk(Number.isNaN(Date.parse(m.ts)), `${m.ts} is a date`);
  }
});

t.test('property: never throws, msg is a suffix of raw, pri in range', async () => {
  const syslogish = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc
      .tuple(
        fc.constantFrom('', '<13>', '<191>', '<0>', '<1', '<13>1 ', '<166>12: ', '*', '\ufeff'),
        fc.constantFrom('', 'Jun 14 ', 'Dec 31 2025 ', '2026-06-14T08:00:00', '1718000000 ', 'Jan  1 '),
        fc.constantFrom('', '08:00:00', '8:00:00.1 UTC', '23:59:60:', ' - - - '),
        fc.string({ maxLength: 60 }),
      )
      .map((parts) => parts.join('')),
  );
  fc.assert(
    fc.property(syslogish, (raw) => {
      const m = parseSyslogHeader(raw, FIXTURE_NOW);
      if (!m.raw.endsWith(m.msg)) return false;
      if (m.pri !== undefined && (m.pri < 0 || m.pri > 191)) return false;
      if (m.ts !== undefined && Number.isNaN(Date.parse(m.ts))) return false;
      return true;
    }),
    { numRuns: 20_000 },
  );
});

/**
 * How much longer `run(16n)` takes than `run(n)`: the least of several timings of each size,
 * interleaved so that a busy machine slows both alike. Linear work gives about 16, quadratic 256.
 * A ratio, not a time limit: it does not depend on how fast the machine is.
 */
function growth(run: (size: number) => void, n: number, rounds = 7): number {
  const best = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  const sizes = [n, 16 * n];
  run(n); // warm up (compile) before timing
  for (let r = 0; r < rounds; r++) {
    for (const k of [0, 1]) {
      const started = performance.now();
      run(sizes[k]!);
      best[k] = Math.min(best[k]!, performance.now() - started);
    }
  }
  return best[1]! / Math.max(best[0]!, 1e-3);
}

/** Linear with margin: a quadratic scan gives 256, so 64 leaves room for noise either way. */
const LINEAR_BOUND = 64;

t.test('linear time on hostile input: 16 times the input, at most ~16 times the work', async (t) => {
  const hostile: Record<string, (size: number) => string> = {
    'unclosed structured data': (size) => `<13>1 2026-06-14T08:00:00Z h a p m [${'x="'.repeat(size / 3)}`,
    'endless hostname': (size) => `<13>Jun 14 08:00:00 ${'a'.repeat(size)}`,
    'brackets only': (size) => '['.repeat(size),
    'spaces after PRI': (size) => `<13>${' '.repeat(size)}x`,
  };
  // The check itself tells quadratic from linear on this machine (else it would prove nothing).
  const quadratic = (size: number) => {
    let x = 0;
    for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) x ^= i + j;
    return x;
  };
  t.ok(growth((size) => quadratic(size), 500) > LINEAR_BOUND, 'a quadratic function fails the check');
  for (const [name, make] of Object.entries(hostile)) {
    // Repeats keep the smaller input's timing well above the clock's resolution.
    const inputs = new Map([12_000, 192_000].map((size) => [size, make(size)]));
    const run = (size: number) => {
      const raw = inputs.get(size)!;
      for (let k = 0; k < 4; k++) parseSyslogHeader(raw, FIXTURE_NOW);
    };
    // A spike of load can still land on one size; a quadratic parser fails every attempt.
    let ratio = growth(run, 12_000);
    for (let attempt = 1; attempt < 3 && ratio >= LINEAR_BOUND; attempt++) ratio = growth(run, 12_000);
    t.ok(ratio < LINEAR_BOUND, `${name}: 16x input took ${ratio.toFixed(1)}x the time`);
  }
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
