import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { sophos } from './sophos.js';

const fixtures = new URL('./fixtures/sophos_xg.jsonl', import.meta.url);

runFixtures(t, sophos, fixtures);
runNeverThrows(t, sophos, fixtures);
