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

const cases = readFileSync(new URL('./fixtures/header.jsonl', import.meta.url), 'utf8')
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

t.test('linear time on hostile input', async (t) => {
  const hostile = [
    `<13>1 2026-06-14T08:00:00Z h a p m [${'x="'.repeat(50_000)}`,
    `<13>Jun 14 08:00:00 ${'a'.repeat(200_000)}`,
    `${'['.repeat(100_000)}`,
    `<13>${' '.repeat(100_000)}x`,
  ];
  for (const raw of hostile) {
    const started = performance.now();
    parseSyslogHeader(raw, FIXTURE_NOW);
    t.ok(performance.now() - started < 50, `${raw.slice(0, 20)}… under 50 ms`);
  }
});
