import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { ciscoFtd } from './cisco-ftd.js';

const fixtures = new URL('./fixtures/cisco_ftd.jsonl', import.meta.url);

runFixtures(t, ciscoFtd, fixtures);
runNeverThrows(t, ciscoFtd, fixtures);
