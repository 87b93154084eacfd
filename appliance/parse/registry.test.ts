import { Value } from '@sinclair/typebox/value';
import fc from 'fast-check';
import t from 'tap';
import { ConnectionEventSchema } from '../../protocol/event.js';
import { FIXTURE_NOW, readFixtures } from '../../test/support/parse-fixtures.js';
import { parseSyslogHeader } from './header.js';
import {
  explainMessage,
  FAMILIES,
  familyByName,
  parseMessage,
  parseWithFamily,
  SourceFormatTracker,
} from './registry.js';

const familyDir = new URL('./families/', import.meta.url);

const NETFILTER_LINE =
  'Jun 14 10:01:02 gw kernel: [UFW BLOCK] IN=eth0 OUT= SRC=198.51.100.1 DST=192.0.2.1 LEN=40 PROTO=TCP SPT=1234 DPT=22';
const PFSENSE_LINE =
  '<134>Jun 14 10:01:02 pf filterlog[1]: 5,,,1000000103,igb1,match,block,in,4,0x0,,64,0,0,DF,17,udp,40,198.51.100.3,192.0.2.1,4444,161,20';

t.test('detection picks the family of every fixture line', async (t) => {
  t.equal(FAMILIES.length, 21);
  for (const { name: family } of FAMILIES) {
    const file = `${family}.jsonl`;
    for (const [i, c] of readFixtures(new URL(file, familyDir)).entries()) {
      if (c.error) continue;
      const result = parseMessage(c.raw, FIXTURE_NOW);
      t.ok(result.ok, `${file} #${i + 1}: parsed`);
      if (result.ok) {
        t.equal(result.family, family, `${file} #${i + 1} ${c.note ?? ''}`);
        t.ok(result.confidence > 0 && result.confidence <= 1, 'confidence in (0, 1]');
      }
    }
  }
});

t.test('lines nobody understands give a reason', async (t) => {
  for (const raw of [
    '',
    'hello world',
    '<13>Jun 14 10:01:02 gw sshd[22]: Accepted publickey for root',
    '\0\0\0',
  ]) {
    const result = parseMessage(raw, FIXTURE_NOW);
    t.notOk(result.ok, JSON.stringify(raw));
    if (!result.ok) t.ok(result.reason.length > 0);
  }
  const garbage = parseMessage('random words without structure', FIXTURE_NOW);
  t.same(garbage, { ok: false, reason: 'no parser matched' });
  // A line a family claims but cannot parse reports that family's reason.
  const truncated = parseMessage('<134>Jun 14 10:01:02 pf filterlog[1]: 5,,,1000000103,igb1', FIXTURE_NOW);
  t.notOk(truncated.ok);
  if (!truncated.ok) t.match(truncated.reason, /^pfsense: /);
});

t.test('parseWithFamily forces one family', async (t) => {
  const forced = parseWithFamily(NETFILTER_LINE, FIXTURE_NOW, 'netfilter');
  t.ok(forced.ok);
  if (forced.ok) t.equal(forced.family, 'netfilter');
  const wrong = parseWithFamily(NETFILTER_LINE, FIXTURE_NOW, 'pfsense');
  t.notOk(wrong.ok, 'no fallback to detection');
  const unknown = parseWithFamily(NETFILTER_LINE, FIXTURE_NOW, 'no-such-family');
  t.same(unknown, { ok: false, reason: 'unknown format no-such-family' });
});

t.test('explainMessage shows the header, every candidate and the winner', async (t) => {
  const e = explainMessage(PFSENSE_LINE, FIXTURE_NOW);
  t.equal(e.header.app, 'filterlog');
  t.equal(e.candidates.length, FAMILIES.length);
  t.equal(e.candidates[0]?.family, 'pfsense');
  t.equal(e.candidates[0]?.outcome, 'parsed');
  t.ok(e.result.ok);
  t.match(e.why, /pfsense/);
  for (let i = 1; i < e.candidates.length; i++) {
    t.ok(e.candidates[i - 1]!.confidence >= e.candidates[i]!.confidence, 'sorted by confidence');
  }
  const none = explainMessage('random words', FIXTURE_NOW);
  t.notOk(none.result.ok);
  t.equal(none.why, 'no family recognised the line');
});

t.test('tracker: a confident source takes the fast path', async (t) => {
  const tracker = new SourceFormatTracker(new Map(), 16, 20);
  const netfilter = familyByName('netfilter')!;
  const detectCalls = { n: 0 };
  const originalDetect = netfilter.detect;
  // Count detect calls on one family by wrapping it (families are plain objects).
  (netfilter as { detect: typeof netfilter.detect }).detect = (msg) => {
    detectCalls.n++;
    return originalDetect(msg);
  };
  t.teardown(() => {
    (netfilter as { detect: typeof netfilter.detect }).detect = originalDetect;
  });
  for (let i = 0; i < 20; i++) {
    const r = parseMessage(NETFILTER_LINE, FIXTURE_NOW, tracker, '192.0.2.254');
    t.ok(r.ok);
  }
  t.equal(detectCalls.n, 20, 'detection ran while learning');
  t.ok(tracker.isConfident('192.0.2.254'));
  t.same(tracker.format('192.0.2.254'), { family: 'netfilter', confidence: 0.95 });
  for (let i = 0; i < 100; i++) {
    const r = parseMessage(NETFILTER_LINE, FIXTURE_NOW, tracker, '192.0.2.254');
    t.ok(r.ok && r.family === 'netfilter' && r.confidence === 0.95);
  }
  t.equal(detectCalls.n, 20, 'no detection on the fast path');
  // A different format from the same source falls back to detection and is still parsed.
  const other = parseMessage(PFSENSE_LINE, FIXTURE_NOW, tracker, '192.0.2.254');
  t.ok(other.ok && other.family === 'pfsense');
  t.notOk(tracker.isConfident('192.0.2.254'), 'a new format restarts learning');
  // Unparsed chatter does not reset the streak.
  for (let i = 0; i < 25; i++) parseMessage(NETFILTER_LINE, FIXTURE_NOW, tracker, 'x');
  parseMessage('sshd chatter', FIXTURE_NOW, tracker, 'x');
  t.ok(tracker.isConfident('x'));
});

t.test('tracker: overrides pin a source without fallback', async (t) => {
  const tracker = new SourceFormatTracker(new Map([['10.0.0.1', 'pfsense']]));
  const pinned = parseMessage(PFSENSE_LINE, FIXTURE_NOW, tracker, '10.0.0.1');
  t.ok(pinned.ok && pinned.family === 'pfsense' && pinned.confidence === 1);
  const refused = parseMessage(NETFILTER_LINE, FIXTURE_NOW, tracker, '10.0.0.1');
  t.notOk(refused.ok);
  t.same(tracker.format('10.0.0.1'), { family: 'pfsense', confidence: 1 });
  const bad = new SourceFormatTracker(new Map([['10.0.0.2', 'nope']]));
  t.same(parseMessage(PFSENSE_LINE, FIXTURE_NOW, bad, '10.0.0.2'), {
    ok: false,
    reason: 'unknown format nope',
  });
});

t.test('tracker: memory is bounded, least recently seen source evicted', async (t) => {
  const tracker = new SourceFormatTracker(new Map(), 4);
  for (const s of ['a', 'b', 'c', 'd']) parseMessage(NETFILTER_LINE, FIXTURE_NOW, tracker, s);
  parseMessage(NETFILTER_LINE, FIXTURE_NOW, tracker, 'a'); // a is now the most recent
  parseMessage(NETFILTER_LINE, FIXTURE_NOW, tracker, 'e'); // evicts b
  t.equal(tracker.size, 4);
  t.ok(tracker.format('a'));
  t.equal(tracker.format('b'), undefined);
  t.ok(tracker.format('e'));
  for (let i = 0; i < 10_000; i++) parseMessage(NETFILTER_LINE, FIXTURE_NOW, tracker, `spoofed-${i}`);
  t.equal(tracker.size, 4);
  const big = new SourceFormatTracker();
  t.equal(big.maxSources, 4096);
});

t.test('tracker: repeats of the last source keep LRU order; a changed pin forgets the source', async (t) => {
  const tracker = new SourceFormatTracker(new Map(), 2);
  for (const s of ['a', 'b', 'b', 'a', 'a']) parseMessage(NETFILTER_LINE, FIXTURE_NOW, tracker, s);
  parseMessage(NETFILTER_LINE, FIXTURE_NOW, tracker, 'c'); // a was touched last: b goes
  t.ok(tracker.format('a'));
  t.equal(tracker.format('b'), undefined);
  t.equal(tracker.format('c')?.family, 'netfilter');
  tracker.setOverrides(new Map([['c', 'pfsense']]));
  tracker.setOverrides(new Map());
  t.equal(tracker.format('c'), undefined, 'the cached last source was dropped with its entry');
  parseMessage(NETFILTER_LINE, FIXTURE_NOW, tracker, 'c');
  t.equal(tracker.format('c')?.family, 'netfilter');
  t.equal(tracker.size, 2);
});

t.test('parseMessage never throws, even when a family does', async (t) => {
  const pfsense = familyByName('pfsense')!;
  const originalParse = pfsense.parse;
  (pfsense as { parse: typeof pfsense.parse }).parse = () => {
    throw new Error('bug');
  };
  t.teardown(() => {
    (pfsense as { parse: typeof pfsense.parse }).parse = originalParse;
  });
  const r = parseMessage(PFSENSE_LINE, FIXTURE_NOW);
  t.notOk(r.ok);
  if (!r.ok) t.equal(r.reason, 'parser error');
});

t.test('property: netfilter, pfsense and mikrotik never throw on mutated fixture lines', async (t) => {
  for (const name of ['netfilter', 'pfsense', 'mikrotik']) {
    const family = familyByName(name)!;
    const seeds = readFixtures(new URL(`${name}.jsonl`, familyDir)).map((c) => c.raw);
    const mutated = fc
      .tuple(fc.constantFrom(...seeds), fc.nat(), fc.nat(), fc.string({ maxLength: 12 }))
      .map(([line, a, b, insert]) => {
        const i = a % (line.length + 1);
        const j = Math.min(line.length, i + (b % 20));
        return line.slice(0, i) + insert + line.slice(j);
      });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.string({ maxLength: 300 })), (raw) => {
        const msg = parseSyslogHeader(raw, FIXTURE_NOW);
        family.detect(msg);
        const r = family.parse(msg);
        if (!r.ok) return r.reason.length > 0;
        return r.event.vendor === name && Value.Check(ConnectionEventSchema, r.event);
      }),
      { numRuns: 5_000 },
    );
    t.pass(`${name}: no throw`);
  }
});

t.test('FAMILY_NAMES (loaded without the parsers) lists every family, in order', async (t) => {
  const { FAMILY_NAMES } = await import('./family-names.js');
  t.same(
    FAMILY_NAMES,
    FAMILIES.map((f) => f.name),
  );
});
