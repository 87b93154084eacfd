/**
 * Every detector against its fixture file `detectors/<name>.jsonl` (format: fixtures.ts). Each case
 * runs through the whole engine, so a case also proves that no other detector fires on it.
 */
import { existsSync, readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import type { Alert } from './alert.js';
import { DETECTOR_NAMES } from './detectors/index.js';
import { createDetectionEngine } from './engine.js';
import { expandEvents, type FixtureCase } from './fixtures.js';
import { parseIgnoreList } from './ignore-list.js';

function finalAlerts(c: FixtureCase): Alert[] {
  const ignore = parseIgnoreList(c.ignore ?? '');
  if (!ignore.ok) throw new Error(ignore.reason);
  const background = new Set(c.background ?? []);
  const intel = c.intel ?? {};
  const engine = createDetectionEngine({
    ...(c.settings ? { settings: c.settings } : {}),
    ignore: ignore.list,
    background: (a) => background.has(a),
    intel: (a) => (intel[a] !== undefined ? { list: intel[a] } : false),
  });
  const latest = new Map<string, Alert>();
  const events = expandEvents(c.events);
  for (const e of events) for (const a of engine.observe(e, 0)) latest.set(a.id, a);
  for (const a of engine.finish()) latest.set(a.id, a);
  return [...latest.values()];
}

function matches(actual: Alert, expected: Record<string, unknown>): boolean {
  const record = actual as unknown as Record<string, unknown>;
  return Object.entries(expected).every(([k, v]) => JSON.stringify(record[k]) === JSON.stringify(v));
}

function runCase(t: Test, c: FixtureCase): void {
  const actual = finalAlerts(c);
  for (const expected of c.alerts) {
    const found = actual.find((a) => matches(a, expected));
    t.ok(found, `raises ${JSON.stringify(expected)}`, {
      actual: actual.map((a) => ({
        detector: a.detector,
        source: a.source,
        kind: a.kind,
        severity: a.severity,
        events: a.events,
        label: a.label,
      })),
    });
  }
  for (const a of actual) {
    const listed = c.alerts.some((e) => e.detector === a.detector && e.source === a.source);
    t.ok(listed, `${a.detector} about ${a.source} is expected`, { summary: a.summary });
  }
  for (const a of actual) {
    t.equal(a.status, 'final', `${c.case}: ${a.id} closes`);
    t.ok(a.targets.length <= 10 && a.ports.length <= 20, 'samples are bounded');
    t.match(a.summary, /\S/);
    t.match(a.advice, /\S/);
  }
}

for (const name of DETECTOR_NAMES) {
  t.test(name, async (t) => {
    const file = new URL(`./detectors/${name}.jsonl`, import.meta.url);
    if (!existsSync(file)) {
      t.fail(`${name}: needs detectors/${name}.jsonl`);
      return;
    }
    const cases = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as FixtureCase);
    t.ok(
      cases.some((c) => c.alerts.length === 0),
      `${name}: has a benign case`,
    );
    t.ok(
      cases.some((c) => c.alerts.some((a) => a.detector === name)),
      `${name}: has a case that fires`,
    );
    for (const c of cases) t.test(c.case, async (t) => runCase(t, c));
  });
}
