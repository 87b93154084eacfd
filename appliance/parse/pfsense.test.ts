import t from 'tap';
import { runFixtures } from './fixture-harness.js';
import { pfsense } from './pfsense.js';

runFixtures(t, pfsense, new URL('./fixtures/pfsense.jsonl', import.meta.url));
