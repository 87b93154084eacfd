import t from 'tap';
import { runFixtures, runNeverThrows } from './fixture-harness.js';
import { pfsense } from './pfsense.js';

const fixtures = new URL('./fixtures/pfsense.jsonl', import.meta.url);

runFixtures(t, pfsense, fixtures);
runNeverThrows(t, pfsense, fixtures);
