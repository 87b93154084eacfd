import t from 'tap';
import { barracuda } from './barracuda.js';
import { runFixtures, runNeverThrows } from './fixture-harness.js';

const fixtures = new URL('./fixtures/barracuda_cloudgen.jsonl', import.meta.url);

runFixtures(t, barracuda, fixtures);
runNeverThrows(t, barracuda, fixtures);
