import t from 'tap';
import { cef } from './cef.js';
import { runFixtures, runNeverThrows } from './fixture-harness.js';

const fixtures = new URL('./fixtures/cef.jsonl', import.meta.url);

runFixtures(t, cef, fixtures);
runNeverThrows(t, cef, fixtures);
