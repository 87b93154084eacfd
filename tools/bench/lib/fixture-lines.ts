import { readFileSync } from 'node:fs';

/** The raw lines a parser fixture file expects to parse (`{"raw": ...}` per line; refusals left out), as benchmark input. */
export function fixtureLines(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('//'))
    .map((line) => JSON.parse(line) as { raw: string; error?: boolean })
    .filter((c) => !c.error)
    .map((c) => c.raw);
}

/** The clock the fixtures are written against (year-less dates resolve to 2026). */
export const FIXTURE_NOW = new Date('2026-06-15T12:00:00Z');
