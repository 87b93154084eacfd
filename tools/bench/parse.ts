/**
 * `npm run bench -- parse [--ms N]`: single-core throughput of `parseMessage` (header + detection +
 * family parse), per family on its fixture lines (auto-detected, and tracked as one source, the
 * agent's fast path), overall on the mix of every fixture line, on the corpus mix when `../../shared`
 * is present, and with the per-source tracker. Also the cost of each family's `detect` per line on
 * the mix (every line pays every family's detect when its source is not yet confident).
 * Ends with one JSON line.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseSyslogHeader } from '../../appliance/parse/header.js';
import { FAMILIES, parseMessage, SourceFormatTracker } from '../../appliance/parse/registry.js';
import type { SyslogMessage } from '../../appliance/parse/types.js';
import { projectRoot } from '../../common/version.js';
import { fixtureLines } from './lib/fixture-lines.js';

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

/** Nanoseconds per line of each family's `detect` over `msgs`, most expensive first. */
function detectCost(msgs: readonly SyslogMessage[], budgetMs: number): Record<string, number> {
  const out: [string, number][] = [];
  let sink = 0;
  for (const family of FAMILIES) {
    for (const m of msgs) sink += family.detect(m);
    let count = 0;
    const started = process.hrtime.bigint();
    const budgetNs = BigInt(Math.round(budgetMs * 1e6));
    let elapsed = 0n;
    while (elapsed < budgetNs) {
      for (const m of msgs) sink += family.detect(m);
      count += msgs.length;
      elapsed = process.hrtime.bigint() - started;
    }
    out.push([family.name, Math.round(Number(elapsed) / count)]);
  }
  if (Number.isNaN(sink)) process.stderr.write('\n');
  out.sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(out);
}

function row(label: string, linesPerS: number, tracked?: number): void {
  const t = tracked === undefined ? '' : `${String(tracked).padStart(12)} tracked`;
  process.stderr.write(`${label.padEnd(22)} ${String(linesPerS).padStart(10)} lines/s${t}\n`);
}

export default async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { ms: { type: 'string', default: '1000' } } });
  const budgetMs = Number(values.ms);
  const fixtureDir = join(projectRoot(), 'appliance', 'parse', 'families');
  const perFamily: Record<
    string,
    { lines: number; linesPerS: number; parsedPct: number; trackedLinesPerS: number }
  > = {};
  const mix: string[] = [];
  const mixSources: string[] = [];
  for (const file of readdirSync(fixtureDir).sort()) {
    if (!file.endsWith('.jsonl') || file === 'header.jsonl') continue;
    const lines = fixtureLines(join(fixtureDir, file));
    if (lines.length === 0) continue;
    mix.push(...lines);
    for (const _ of lines) mixSources.push(file);
    const r = measure(lines, Math.max(100, budgetMs / 4));
    // One source sending this family, past the tracker's warm-up: the agent's steady state.
    const t = measure(
      lines,
      Math.max(100, budgetMs / 4),
      lines.map(() => file),
    );
    perFamily[file.slice(0, -6)] = { lines: lines.length, ...r, trackedLinesPerS: t.linesPerS };
    row(file.slice(0, -6), r.linesPerS, t.linesPerS);
  }
  const fixtureMix = measure(mix, budgetMs);
  row('fixture mix', fixtureMix.linesPerS);
  const corpusPath = resolve(projectRoot(), '..', 'shared', 'corpus', 'firewall-dev.jsonl');
  let corpusMix: { lines: number; linesPerS: number; parsedPct: number } | undefined;
  let corpusMixTracked: { linesPerS: number; parsedPct: number } | undefined;
  let detectLines: readonly string[] = mix;
  if (existsSync(corpusPath)) {
    const lines = readFileSync(corpusPath, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => (JSON.parse(l) as { raw: string }).raw);
    detectLines = lines;
    corpusMix = { lines: lines.length, ...measure(lines, budgetMs) };
    row('corpus mix', corpusMix.linesPerS);
    // As on the appliance, where each firewall is one source: source key = the record's vendor.
    const sources = readFileSync(corpusPath, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => String((JSON.parse(l) as { vendor?: unknown }).vendor));
    corpusMixTracked = measure(lines, budgetMs, sources);
    row('corpus mix, tracked', corpusMixTracked.linesPerS);
  }
  // One source per family, as on the appliance: after 20 lines each source takes the fast path.
  const tracked = measure(mix, budgetMs, mixSources);
  row('fixture mix, tracked', tracked.linesPerS);
  const detectMsgs = detectLines.map((l) => parseSyslogHeader(l, now));
  const detectNsPerLine = detectCost(detectMsgs, Math.max(20, budgetMs / 20));
  let detectTotal = 0;
  for (const ns of Object.values(detectNsPerLine)) detectTotal += ns;
  process.stderr.write(
    `detect ns/line (${detectLines === mix ? 'fixture' : 'corpus'} mix): total ${detectTotal}; ${Object.entries(
      detectNsPerLine,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}\n`,
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
      detectNsPerLine: { total: detectTotal, ...detectNsPerLine },
    })}\n`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await run(process.argv.slice(2));
}
