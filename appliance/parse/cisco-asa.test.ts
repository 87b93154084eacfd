import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { ciscoAsa } from './cisco-asa.js';

const fixtures = new URL('./fixtures/cisco_asa.jsonl', import.meta.url);

runFixtures(t, ciscoAsa, fixtures);
runNeverThrows(t, ciscoAsa, fixtures);
