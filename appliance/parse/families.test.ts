/**
 * Every family in `FAMILY_NAMES` against its fixture file `families/<name>.jsonl` (one case a
 * line; see README.md), then 2,000 mangled or random lines that must not make it throw. A family
 * without a fixture file, or with an empty one, fails.
 */
import { existsSync } from 'node:fs';
import t from 'tap';
import { runFixtures, runNeverThrows } from '../../test/support/parse-fixtures.js';
import { FAMILY_NAMES } from './family-names.js';
import { familyByName } from './registry.js';

for (const name of FAMILY_NAMES) {
  t.test(name, async (t) => {
    const family = familyByName(name);
    const fixtures = new URL(`./families/${name}.jsonl`, import.meta.url);
    if (family === undefined || !existsSync(fixtures)) {
      t.fail(`${name}: needs families/${name}.ts and families/${name}.jsonl`);
      return;
    }
    runFixtures(t, family, fixtures);
    runNeverThrows(t, family, fixtures);
  });
}
