import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { fortigate } from './fortigate.js';

const fixtures = new URL('./fixtures/fortinet_fortigate.jsonl', import.meta.url);

runFixtures(t, fortigate, fixtures);
runNeverThrows(t, fortigate, fixtures);
