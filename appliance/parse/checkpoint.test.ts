import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { checkpoint } from './checkpoint.js';

const fixtures = new URL('./fixtures/checkpoint.jsonl', import.meta.url);

runFixtures(t, checkpoint, fixtures);
runNeverThrows(t, checkpoint, fixtures);
