import t from 'tap';
import { draytek } from './draytek.js';
import { runFixtures, runNeverThrows } from './fixture-harness.js';

const fixtures = new URL('./fixtures/draytek.jsonl', import.meta.url);

runFixtures(t, draytek, fixtures);
runNeverThrows(t, draytek, fixtures);
