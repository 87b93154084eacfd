import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { meraki } from './meraki.js';

const fixtures = new URL('./fixtures/cisco_meraki.jsonl', import.meta.url);

runFixtures(t, meraki, fixtures);
runNeverThrows(t, meraki, fixtures);
