import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { leef } from './leef.js';

const fixtures = new URL('./fixtures/leef.jsonl', import.meta.url);

runFixtures(t, leef, fixtures);
runNeverThrows(t, leef, fixtures);
