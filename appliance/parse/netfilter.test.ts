import t from 'tap';
import { runFixtures } from './fixture-harness.js';
import { netfilter } from './netfilter.js';

runFixtures(t, netfilter, new URL('./fixtures/netfilter.jsonl', import.meta.url));
