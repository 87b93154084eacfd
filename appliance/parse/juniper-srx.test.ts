import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { juniperSrx } from './juniper-srx.js';

const fixtures = new URL('./fixtures/juniper_srx.jsonl', import.meta.url);

runFixtures(t, juniperSrx, fixtures);
runNeverThrows(t, juniperSrx, fixtures);
