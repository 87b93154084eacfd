import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { draytek } from './draytek.js';

const fixtures = new URL('./fixtures/draytek.jsonl', import.meta.url);

runFixtures(t, draytek, fixtures);
runNeverThrows(t, draytek, fixtures);
