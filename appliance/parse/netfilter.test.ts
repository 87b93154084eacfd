import t from 'tap';
import { runFixtures, runNeverThrows } from './fixture-harness.js';
import { netfilter } from './netfilter.js';

const fixtures = new URL('./fixtures/netfilter.jsonl', import.meta.url);

runFixtures(t, netfilter, fixtures);
runNeverThrows(t, netfilter, fixtures);
