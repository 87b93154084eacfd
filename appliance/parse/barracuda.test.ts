import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { barracuda } from './barracuda.js';

const fixtures = new URL('./fixtures/barracuda_cloudgen.jsonl', import.meta.url);

runFixtures(t, barracuda, fixtures);
runNeverThrows(t, barracuda, fixtures);
