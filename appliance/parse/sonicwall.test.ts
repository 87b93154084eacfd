import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { sonicwall } from './sonicwall.js';

const fixtures = new URL('./fixtures/sonicwall_firewall.jsonl', import.meta.url);

runFixtures(t, sonicwall, fixtures);
runNeverThrows(t, sonicwall, fixtures);
