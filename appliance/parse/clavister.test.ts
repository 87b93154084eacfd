import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { clavister } from './clavister.js';

const fixtures = new URL('./fixtures/clavister.jsonl', import.meta.url);

runFixtures(t, clavister, fixtures);
runNeverThrows(t, clavister, fixtures);
