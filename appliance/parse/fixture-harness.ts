/**
 * Fixture-driven test runner shared by every parser family: a fixture file holds one JSON object
 * per line, `{"raw": "...", "expect": {...}}` (the event fields the line must yield; fields not
 * listed must be absent unless `"partial": true`) or `{"raw": "...", "error": true}` (the parser
 * must refuse it with a reason). Adding a case means adding a line, not code.
 */
import { readFileSync } from 'node:fs';
import type { Test } from 'tap';
import { parseSyslogHeader } from './header.js';
import type { ParserFamily } from './types.js';

export interface FixtureCase {
  readonly raw: string;
  readonly expect?: Record<string, unknown>;
  readonly partial?: boolean;
  readonly error?: boolean;
  readonly note?: string;
}

export function readFixtures(path: string | URL): FixtureCase[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('//'))
    .map((line) => JSON.parse(line) as FixtureCase);
}

/** Fixed clock for year-less dates in fixtures. */
export const FIXTURE_NOW = new Date('2026-06-15T12:00:00Z');

export function runFixtures(t: Test, family: ParserFamily, path: string | URL): void {
  const cases = readFixtures(path);
  t.ok(cases.length > 0, `${family.name} has fixtures`);
  for (const [i, c] of cases.entries()) {
    const label = `${family.name} #${i + 1}${c.note ? ` (${c.note})` : ''}`;
    const msg = parseSyslogHeader(c.raw, FIXTURE_NOW);
    const result = family.parse(msg);
    if (c.error) {
      t.notOk(result.ok, `${label}: refused`);
      if (!result.ok) t.ok(result.reason.length > 0, `${label}: gives a reason`);
      continue;
    }
    t.ok(family.detect(msg) > 0, `${label}: detected`);
    if (!result.ok) {
      t.fail(`${label}: ${result.reason}`);
      continue;
    }
    if (c.partial) t.match(result.event, c.expect ?? {}, label);
    else t.same(result.event, { vendor: family.name, ...(c.expect ?? {}) }, label);
  }
}
