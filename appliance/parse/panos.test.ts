import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { panos } from './panos.js';

const fixtures = new URL('./fixtures/panw.jsonl', import.meta.url);

runFixtures(t, panos, fixtures);
runNeverThrows(t, panos, fixtures);
