import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { cef } from './cef.js';

const fixtures = new URL('./fixtures/cef.jsonl', import.meta.url);

runFixtures(t, cef, fixtures);
runNeverThrows(t, cef, fixtures);
