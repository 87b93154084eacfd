import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { watchguard } from './watchguard.js';

const fixtures = new URL('./fixtures/watchguard_firebox.jsonl', import.meta.url);

runFixtures(t, watchguard, fixtures);
runNeverThrows(t, watchguard, fixtures);
