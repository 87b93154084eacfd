import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { mikrotik } from './mikrotik.js';

const fixtures = new URL('./fixtures/mikrotik.jsonl', import.meta.url);

runFixtures(t, mikrotik, fixtures);
runNeverThrows(t, mikrotik, fixtures);
