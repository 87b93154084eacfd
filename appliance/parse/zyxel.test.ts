import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { zyxel } from './zyxel.js';

const fixtures = new URL('./fixtures/zyxel.jsonl', import.meta.url);

runFixtures(t, zyxel, fixtures);
runNeverThrows(t, zyxel, fixtures);
