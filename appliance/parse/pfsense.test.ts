import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { pfsense } from './pfsense.js';

const fixtures = new URL('./fixtures/pfsense.jsonl', import.meta.url);

runFixtures(t, pfsense, fixtures);
runNeverThrows(t, pfsense, fixtures);
