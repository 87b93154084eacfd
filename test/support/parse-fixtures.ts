/**
 * Fixture-driven test runner shared by every parser family: a fixture file holds one JSON object
 * per line, `{"raw": "...", "expect": {...}}` (the event fields the line must yield; fields not
 * listed must be absent unless `"partial": true`) or `{"raw": "...", "error": true}` (the parser
 * must refuse it with a reason). Adding a case means adding a line, not code.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { Test } from 'tap';
import { parseSyslogHeader } from '../../appliance/parse/header.js';
import type { ParserFamily } from '../../appliance/parse/types.js';

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

/**
 * Every family, on top of its fixtures: 2,000 inputs — fixture lines with a random stretch replaced
 * by random text, and random text alone — never throw, keep the confidence in [0, 1] and refuse with
 * a reason.
 */
export function runNeverThrows(t: Test, family: ParserFamily, path: string | URL, numRuns = 2000): void {
  t.test(`${family.name}: never throws on mangled fixture lines or random text`, (t) => {
    const lines = readFixtures(path).map((c) => c.raw);
    const mangled = fc
      .tuple(fc.constantFrom(...lines), fc.nat(), fc.nat(), fc.string({ maxLength: 40 }))
      .map(([line, a, b, noise]) => {
        const i = a % (line.length + 1);
        const j = Math.min(line.length, i + (b % 60));
        return line.slice(0, i) + noise + line.slice(j);
      });
    fc.assert(
      fc.property(fc.oneof(mangled, fc.string({ maxLength: 300 })), (raw) => {
        const msg = parseSyslogHeader(raw, FIXTURE_NOW);
        const confidence = family.detect(msg);
        const result = family.parse(msg);
        return confidence >= 0 && confidence <= 1 && (result.ok || result.reason.length > 0);
      }),
      { numRuns },
    );
    t.pass(`${numRuns} inputs parsed without throwing`);
    t.end();
  });
}
