import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { forcepoint } from './forcepoint.js';

const fixtures = new URL('./fixtures/forcepoint_ngfw.jsonl', import.meta.url);

runFixtures(t, forcepoint, fixtures);
runNeverThrows(t, forcepoint, fixtures);
