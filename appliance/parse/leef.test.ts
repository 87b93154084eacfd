import t from 'tap';
import { runFixtures, runNeverThrows } from './fixture-harness.js';
import { leef } from './leef.js';

const fixtures = new URL('./fixtures/leef.jsonl', import.meta.url);

runFixtures(t, leef, fixtures);
runNeverThrows(t, leef, fixtures);
