import t from 'tap';
import { checkpoint } from './checkpoint.js';
import { runFixtures, runNeverThrows } from './fixture-harness.js';

const fixtures = new URL('./fixtures/checkpoint.jsonl', import.meta.url);

runFixtures(t, checkpoint, fixtures);
runNeverThrows(t, checkpoint, fixtures);
