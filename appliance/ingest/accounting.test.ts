import t from 'tap';
import {
  MAX_UNPARSED_SAMPLES,
  OVERFLOW_SOURCE,
  SourceAccounting,
  UNPARSED_SAMPLE_CHARS,
} from './accounting.js';

t.test('messages = parsed + unparsed + rateLimited, per source', async (t) => {
  const acc = new SourceAccounting({ maxMessagesPerSourcePerS: 3 });
  t.teardown(() => acc.close());
  let limited = 0;
  for (let i = 0; i < 10; i++) {
    const record = acc.receive('10.0.0.1', 100, i === 0, 0);
    if (record === undefined) limited++;
    else if (i % 2 === 0) acc.recordParsed(record, 'pfsense', 0.9);
    else acc.recordUnparsed(record, `junk ${i}`);
  }
  const other = acc.receive('10.0.0.2', 5, false, 0);
  t.ok(other, 'another source has its own bucket');
  const [a] = acc.list();
  t.equal(limited, 7);
  t.match(a, {
    source: '10.0.0.1',
    messages: 10,
    bytes: 1000,
    parsed: 2,
    unparsed: 1,
    rateLimited: 7,
    truncated: 1,
    format: 'pfsense',
    confidence: 0.9,
  });
  t.ok(acc.receive('10.0.0.1', 1, false, 1000), 'refilled a second later');
});

t.test('0 means unlimited', async (t) => {
  const acc = new SourceAccounting({ maxMessagesPerSourcePerS: 0 });
  t.teardown(() => acc.close());
  for (let i = 0; i < 100_000; i++) if (acc.receive('a', 1, false, 0) === undefined) t.fail('limited');
  t.equal(acc.list()[0]!.rateLimited, 0);
});

t.test('unparsed samples: the last few, each cut short', async (t) => {
  const acc = new SourceAccounting();
  t.teardown(() => acc.close());
  for (let i = 0; i < 12; i++) acc.recordUnparsed(acc.receive('s', 1, false, 0)!, `${i}:${'x'.repeat(2000)}`);
  const samples = acc.list()[0]!.unparsedSamples;
  t.equal(samples.length, MAX_UNPARSED_SAMPLES);
  t.ok(samples[0]!.startsWith('7:'), 'oldest kept is the 8th');
  t.ok(samples.every((s) => s.length === UNPARSED_SAMPLE_CHARS + 1 && s.endsWith('…')));
});

t.test('sources beyond the cap are pooled, and share one bucket', async (t) => {
  const acc = new SourceAccounting({ maxSources: 2, maxMessagesPerSourcePerS: 2 });
  t.teardown(() => acc.close());
  for (let i = 0; i < 10; i++) acc.receive(`10.0.0.${i}`, 1, false, 0);
  const list = acc.list();
  t.equal(list.length, 3, 'two sources and the pool');
  const pool = list.find((s) => s.source === OVERFLOW_SOURCE)!;
  t.equal(pool.messages, 8);
  t.equal(pool.rateLimited, 6);
});
