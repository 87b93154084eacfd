/**
 * `npm run bench -- parse [--ms N]`: single-core throughput of `parseMessage` (header + detection +
 * family parse), per family on its fixture lines, overall on the mix of every fixture line, on the
 * corpus mix when `../shared` is present, and with the per-source tracker (the agent's fast path).
 * Ends with one JSON line.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { readFixtures } from '../appliance/parse/fixture-harness.js';
import { parseMessage, SourceFormatTracker } from '../appliance/parse/registry.js';
import { projectRoot } from '../common/version.js';

const now = new Date('2026-06-15T12:00:00Z');

/**
 * Lines/s over `lines`, cycling until `budgetMs` has passed (after a warm-up). With `sources` (one
 * per line) the lines go through a per-source tracker like on the appliance.
 */
function measure(
  lines: readonly string[],
  budgetMs: number,
  sources?: readonly string[],
): { linesPerS: number; parsedPct: number } {
  const tracker = sources ? new SourceFormatTracker() : undefined;
  let parsed = 0;
  for (let w = 0; w < 3; w++)
    for (let i = 0; i < lines.length; i++) parseMessage(lines[i]!, now, tracker, sources?.[i]);
  let count = 0;
  const started = process.hrtime.bigint();
  const budgetNs = BigInt(budgetMs) * 1_000_000n;
  let elapsed = 0n;
  while (elapsed < budgetNs) {
    for (let i = 0; i < lines.length; i++) {
      if (parseMessage(lines[i]!, now, tracker, sources?.[i]).ok) parsed++;
    }
    count += lines.length;
    elapsed = process.hrtime.bigint() - started;
  }
  return {
    linesPerS: Math.round(count / (Number(elapsed) / 1e9)),
    parsedPct: Math.round((parsed / count) * 1000) / 10,
  };
}

export default async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { ms: { type: 'string', default: '1000' } } });
  const budgetMs = Number(values.ms);
  const fixtureDir = join(projectRoot(), 'appliance', 'parse', 'fixtures');
  const perFamily: Record<string, { lines: number; linesPerS: number; parsedPct: number }> = {};
  const mix: string[] = [];
  const mixSources: string[] = [];
  for (const file of readdirSync(fixtureDir).sort()) {
    if (!file.endsWith('.jsonl') || file === 'header.jsonl') continue;
    const lines = readFixtures(join(fixtureDir, file))
      .filter((c) => !c.error)
      .map((c) => c.raw);
    if (lines.length === 0) continue;
    mix.push(...lines);
    for (const _ of lines) mixSources.push(file);
    const r = measure(lines, Math.max(100, budgetMs / 4));
    perFamily[file.slice(0, -6)] = { lines: lines.length, ...r };
    process.stderr.write(`${file.slice(0, -6).padEnd(20)} ${String(r.linesPerS).padStart(10)} lines/s\n`);
  }
  const fixtureMix = measure(mix, budgetMs);
  process.stderr.write(`${'fixture mix'.padEnd(20)} ${String(fixtureMix.linesPerS).padStart(10)} lines/s\n`);
  const corpusPath = resolve(projectRoot(), '..', 'shared', 'corpus', 'firewall-dev.jsonl');
  let corpusMix: { lines: number; linesPerS: number; parsedPct: number } | undefined;
  let corpusMixTracked: { linesPerS: number; parsedPct: number } | undefined;
  if (existsSync(corpusPath)) {
    const lines = readFileSync(corpusPath, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => (JSON.parse(l) as { raw: string }).raw);
    corpusMix = { lines: lines.length, ...measure(lines, budgetMs) };
    process.stderr.write(`${'corpus mix'.padEnd(20)} ${String(corpusMix.linesPerS).padStart(10)} lines/s\n`);
    // As on the appliance, where each firewall is one source: source key = the record's vendor.
    const sources = readFileSync(corpusPath, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => String((JSON.parse(l) as { vendor?: unknown }).vendor));
    corpusMixTracked = measure(lines, budgetMs, sources);
    process.stderr.write(
      `${'corpus mix, tracked'.padEnd(20)} ${String(corpusMixTracked.linesPerS).padStart(10)} lines/s\n`,
    );
  }
  // One source per family, as on the appliance: after 20 lines each source takes the fast path.
  const tracked = measure(mix, budgetMs, mixSources);
  process.stderr.write(
    `${'fixture mix, tracked'.padEnd(20)} ${String(tracked.linesPerS).padStart(10)} lines/s\n`,
  );
  process.stdout.write(
    `${JSON.stringify({
      bench: 'parse',
      linesPerS: corpusMix?.linesPerS ?? fixtureMix.linesPerS,
      fixtureMix: { lines: mix.length, ...fixtureMix },
      corpusMix,
      corpusMixTracked,
      fixtureMixTracked: tracked,
      perFamily,
    })}\n`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await run(process.argv.slice(2));
}
