import t from 'tap';
import { MAX_UNPARSED_SAMPLES, SourceOutcomes, UNPARSED_SAMPLE_CHARS } from './outcomes.js';

t.test('parsed, unparsed and the latest format per source', async (t) => {
  const outcomes = new SourceOutcomes();
  outcomes.parsed('a', 'pfsense', 0.9);
  outcomes.unparsed('b', 'junk');
  outcomes.parsed('a', 'pfsense', 0.95);
  outcomes.unparsed('a', 'noise');
  t.same(outcomes.list(), [
    { source: 'a', parsed: 2, unparsed: 1, format: 'pfsense', confidence: 0.95, unparsedSamples: ['noise'] },
    { source: 'b', parsed: 0, unparsed: 1, unparsedSamples: ['junk'] },
  ]);
  t.same(
    outcomes.list(new Set(['b'])).map((o) => o.source),
    ['b'],
    'only the sources asked for',
  );
});

t.test('unparsed samples: the last few, each cut short', async (t) => {
  const outcomes = new SourceOutcomes();
  for (let i = 0; i < 12; i++) outcomes.unparsed('s', `${i}:${'x'.repeat(2000)}`);
  const samples = outcomes.list()[0]!.unparsedSamples;
  t.equal(samples.length, MAX_UNPARSED_SAMPLES);
  t.ok(samples[0]!.startsWith('7:'), 'oldest kept is the 8th');
  t.ok(samples.every((s) => s.length === UNPARSED_SAMPLE_CHARS + 1 && s.endsWith('…')));
});

t.test('list returns copies', async (t) => {
  const outcomes = new SourceOutcomes();
  outcomes.unparsed('s', 'x');
  const [copy] = outcomes.list();
  copy!.unparsedSamples.push('y');
  copy!.parsed = 5;
  t.same(outcomes.list()[0], { source: 's', parsed: 0, unparsed: 1, unparsedSamples: ['x'] });
});
