import t from 'tap';
import { OVERFLOW_SOURCE, SourceIntake } from './intake.js';

t.test('messages, bytes, truncated and rateLimited per source', async (t) => {
  const intake = new SourceIntake({ maxMessagesPerSourcePerS: 3 });
  t.teardown(() => intake.close());
  let limited = 0;
  for (let i = 0; i < 10; i++) {
    if (intake.admit('10.0.0.1', 100, i === 0, 0) === undefined) limited++;
  }
  t.equal(intake.admit('10.0.0.2', 5, false, 0), '10.0.0.2', 'another source has its own bucket');
  const [a] = intake.list();
  t.equal(limited, 7);
  t.match(a, { source: '10.0.0.1', messages: 10, bytes: 1000, rateLimited: 7, truncated: 1 });
  t.equal(intake.admit('10.0.0.1', 1, false, 1000), '10.0.0.1', 'refilled a second later');
});

t.test('0 means unlimited', async (t) => {
  const intake = new SourceIntake({ maxMessagesPerSourcePerS: 0 });
  t.teardown(() => intake.close());
  for (let i = 0; i < 100_000; i++) if (intake.admit('a', 1, false, 0) === undefined) t.fail('limited');
  t.equal(intake.list()[0]!.rateLimited, 0);
});

t.test('sources beyond the cap are pooled under one key, and share one bucket', async (t) => {
  const intake = new SourceIntake({ maxSources: 2, maxMessagesPerSourcePerS: 2 });
  t.teardown(() => intake.close());
  const keys = new Set<string | undefined>();
  for (let i = 0; i < 10; i++) keys.add(intake.admit(`10.0.0.${i}`, 1, false, 0));
  const list = intake.list();
  t.equal(list.length, 3, 'two sources and the pool');
  t.ok(keys.has(OVERFLOW_SOURCE), 'the parse stage is handed the pooled key');
  t.notOk(keys.has('10.0.0.5'), 'never a source past the cap');
  const pool = list.find((s) => s.source === OVERFLOW_SOURCE)!;
  t.equal(pool.messages, 8);
  t.equal(pool.rateLimited, 6);
});

t.test('list returns copies', async (t) => {
  const intake = new SourceIntake();
  t.teardown(() => intake.close());
  intake.admit('a', 1, false, 0);
  const [copy] = intake.list();
  copy!.messages = 99;
  t.equal(intake.list()[0]!.messages, 1);
});
