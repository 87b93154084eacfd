import t from 'tap';
import { ciscoFtd } from './cisco-ftd.js';
import { runFixtures, runNeverThrows } from './fixture-harness.js';

const fixtures = new URL('./fixtures/cisco_ftd.jsonl', import.meta.url);

runFixtures(t, ciscoFtd, fixtures);
runNeverThrows(t, ciscoFtd, fixtures);
