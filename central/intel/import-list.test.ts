import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { importList, MAX_PROBLEMS } from './import-list.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
/** Each fixture file beside the expected result (checked by hand): adding a case is adding a file. */
const expected = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8')) as Record<
  string,
  Record<string, unknown> & { entries: string[] }
>;

for (const [file, want] of Object.entries(expected)) {
  t.test(file, async (t) => {
    const r = importList(readFileSync(join(fixtures, file), 'utf8'));
    t.same(
      {
        format: r.format,
        lines: r.lines,
        entries: r.entries.map((e) => e.cidr),
        invalid: r.invalid,
        problems: r.problems,
        duplicates: r.duplicates,
        normalised: r.normalised,
        ...(r.metadata ? { metadata: r.metadata } : {}),
      },
      want,
    );
  });
}

t.test('a truncated Spamhaus JSON download is reported', async (t) => {
  const text = readFileSync(join(fixtures, 'drop_v6.json'), 'utf8').split('\n');
  const truncated = [text[0], text[2]].join('\n'); // one record lost, metadata kept
  const r = importList(truncated);
  t.equal(r.entries.length, 1);
  t.match(r.problems, [{ line: 0, reason: /metadata says 2 records, 1 read/ }]);
  t.match(importList('{"cidr": 5}\n[1]\nnot json\n', { format: 'spamhaus-drop-json' }).problems, [
    { line: 1, reason: 'no "cidr" string' },
    { line: 2, reason: 'not a JSON object' },
    { line: 3, reason: 'not JSON' },
  ]);
});

t.test('tags, CRLF, limits', async (t) => {
  const r = importList('192.0.2.1\r\n192.0.2.2\r\n', { tag: 'scanner' });
  t.same(r.entries, [
    { cidr: '192.0.2.1/32', tag: 'scanner' },
    { cidr: '192.0.2.2/32', tag: 'scanner' },
  ]);
  t.equal(r.lines, 2);
  const many = Array.from({ length: 300 }, (_, i) => `bad-${i}`).join('\n');
  const bad = importList(many);
  t.equal(bad.invalid, 300, 'every bad line is counted');
  t.equal(bad.problems.length, MAX_PROBLEMS, 'but only the first are listed');
  t.equal(bad.problems[0]!.line, 1);
  const capped = importList('10.0.0.1\n10.0.0.2\n10.0.0.3\n', { maxEntries: 2 });
  t.equal(capped.entries.length, 2);
  t.match(capped.problems, [{ reason: /1 entries beyond the limit of 2/ }]);
  t.match(importList(`${'1'.repeat(2000)}\n`).problems, [{ reason: 'line too long' }]);
});
