/**
 * Every listed section against the fixtures beside it: `<id>.fixtures.json` holds cases of report
 * data (merged over an empty report) and the HTML fragments the section must and must not contain.
 * Adding a case is adding JSON, not code. A section without a fixture file fails.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { emptyReportData, type MemberReportData } from '../member-report-data.js';
import { SECTIONS } from './index.js';

interface FixtureCase {
  readonly name: string;
  readonly data: Partial<MemberReportData>;
  readonly contains: readonly string[];
  readonly absent?: readonly string[];
}

const here = dirname(fileURLToPath(import.meta.url));

for (const section of SECTIONS) {
  t.test(section.id, async (t) => {
    const file = join(here, `${section.id}.fixtures.json`);
    t.ok(existsSync(file), `${section.id}.fixtures.json exists`);
    if (!existsSync(file)) return;
    const cases = JSON.parse(readFileSync(file, 'utf8')) as FixtureCase[];
    t.ok(cases.length > 0, 'at least one case');
    for (const c of cases) {
      const html = section.render(emptyReportData(c.data));
      t.ok(html.startsWith(`<section id="${section.id}">`), `${c.name}: one section element`);
      for (const fragment of c.contains) t.ok(html.includes(fragment), `${c.name}: contains ${fragment}`);
      for (const fragment of c.absent ?? []) t.notOk(html.includes(fragment), `${c.name}: lacks ${fragment}`);
      t.notOk(/<script/i.test(html), `${c.name}: no script element`);
    }
  });
}
