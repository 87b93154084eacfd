import { readFileSync } from 'node:fs';
import t from 'tap';
import { parseLines } from './parse-lines.js';
import { FAMILIES } from './registry.js';

/** The first fixture line of a family (real family parsers, documented formats). */
function fixtureRaw(family: string): string {
  const line = readFileSync(new URL(`./families/${family}.jsonl`, import.meta.url), 'utf8').split('\n')[0]!;
  return (JSON.parse(line) as { raw: string }).raw;
}

async function run(lines: string[], options: Partial<Parameters<typeof parseLines>[1]> = {}) {
  async function* input() {
    yield* lines;
  }
  const out: Record<string, unknown>[] = [];
  for await (const o of parseLines(input(), { format: 'auto', input: 'lines', explain: false, ...options })) {
    out.push(o);
  }
  return out;
}

const PFSENSE = fixtureRaw('pfsense');
const FORTIGATE = fixtureRaw('fortinet_fortigate');

t.test('one output per input line, in order, errors in place', async (t) => {
  const out = await run([PFSENSE, '', 'sshd[1]: session opened for user root', '   ', FORTIGATE, PFSENSE]);
  t.equal(out.length, 6, 'aligned 1:1');
  t.match(out[0], { vendor: 'pfsense', src_ip: '198.51.100.3', dst_port: 22, action: 'deny' });
  t.same(out[1], { error: 'empty line' });
  t.match(out[2], { error: String });
  t.notOk('vendor' in out[2]!, 'an unparsed line has no event fields');
  t.same(out[3], { error: 'empty line' });
  t.match(out[4], { vendor: 'fortinet_fortigate', src_ip: '192.168.1.50', action: 'allow' });
  t.same(out[5], out[0], 'same line, same result');
});

t.test('jsonl: the raw field carries multi-line messages; bad input is an error in its place', async (t) => {
  const out = await run(
    [
      JSON.stringify({ raw: PFSENSE, note: 'extra fields ignored' }),
      '{not json',
      '[1,2]',
      'null',
      '"a string"',
      JSON.stringify({ raw: 5 }),
      JSON.stringify({}),
      JSON.stringify({ raw: `${FORTIGATE}\n` }),
      '',
    ],
    { input: 'jsonl' },
  );
  t.equal(out.length, 9);
  t.match(out[0], { vendor: 'pfsense' });
  t.same(out.slice(1, 7), [
    { error: 'bad JSON' },
    { error: 'not a JSON object' },
    { error: 'not a JSON object' },
    { error: 'not a JSON object' },
    { error: 'no string "raw" field' },
    { error: 'no string "raw" field' },
  ]);
  t.match(out[7], { vendor: 'fortinet_fortigate' }, 'a trailing newline inside raw is tolerated');
  t.same(out[8], { error: 'empty line' });
});

t.test('--format NAME parses with that family only', async (t) => {
  const out = await run([PFSENSE, FORTIGATE], { format: 'pfsense' });
  t.match(out[0], { vendor: 'pfsense' });
  t.match(out[1], { error: String }, 'a FortiGate line is not pfSense');
});

t.test('--explain: which family, with what confidence, and why', async (t) => {
  const [parsed, unparsed] = await run([PFSENSE, 'hello world'], { explain: true });
  const explain = parsed!.explain as {
    family: string;
    confidence: number;
    header: Record<string, unknown>;
    candidates: { family: string; confidence: number; outcome: string }[];
    why: string;
  };
  t.equal(explain.family, 'pfsense');
  t.ok(explain.confidence > 0 && explain.confidence <= 1);
  t.match(explain.header, { app: 'filterlog', host: 'pfSense' });
  t.notOk('raw' in explain.header, 'the raw line is not repeated');
  t.equal(explain.candidates.length, FAMILIES.length, 'every family listed');
  t.match(explain.candidates[0], { family: 'pfsense', outcome: 'parsed' });
  t.match(explain.why, /pfsense detected the line with confidence/);
  t.match(parsed, { vendor: 'pfsense' }, 'the event is still there');

  const none = unparsed!.explain as { family: unknown; confidence: number; why: string };
  t.equal(none.family, null);
  t.equal(none.confidence, 0);
  t.type(unparsed!.error, 'string');
  t.type(none.why, 'string');

  const [forced] = await run([FORTIGATE], { explain: true, format: 'pfsense' });
  t.match((forced!.explain as { why: string }).why, /--format pfsense given: detection skipped/);
});
