import fc from 'fast-check';
import t from 'tap';
import { parseKeyValues, parseKeyValuesInto } from './key-values.js';

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
