import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { stormshield } from './stormshield.js';

const fixtures = new URL('./fixtures/stormshield.jsonl', import.meta.url);

runFixtures(t, stormshield, fixtures);
runNeverThrows(t, stormshield, fixtures);
