import t from 'tap';
import { ciscoAsa } from './cisco-asa.js';
import { runFixtures, runNeverThrows } from './fixture-harness.js';

const fixtures = new URL('./fixtures/cisco_asa.jsonl', import.meta.url);

runFixtures(t, ciscoAsa, fixtures);
runNeverThrows(t, ciscoAsa, fixtures);
