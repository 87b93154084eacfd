import t from 'tap';
import { clavister } from './clavister.js';
import { runFixtures, runNeverThrows } from './fixture-harness.js';

const fixtures = new URL('./fixtures/clavister.jsonl', import.meta.url);

runFixtures(t, clavister, fixtures);
runNeverThrows(t, clavister, fixtures);
