import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { netfilter } from './netfilter.js';

const fixtures = new URL('./fixtures/netfilter.jsonl', import.meta.url);

runFixtures(t, netfilter, fixtures);
runNeverThrows(t, netfilter, fixtures);
