/**
 * `npm run bench -- parse-accuracy [--misses N]`: field accuracy of auto-detected parsing on the shared
 * held-out corpus (`../../shared/corpus/firewall-dev.jsonl`), scored by `../../shared/tools/score-parse.mjs`.
 * Prints the scorer's per-vendor tables on stderr and ends with one JSON line. Skips (with a JSON line
 * saying so) when `../../shared` is absent.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseMessage } from '../../appliance/parse/registry.js';
import { projectRoot } from '../../common/version.js';

interface CorpusRecord {
  readonly vendor?: string;
  readonly raw?: unknown;
}

export default async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { misses: { type: 'string', default: '0' } } });
  const shared = resolve(projectRoot(), '..', 'shared');
  const corpus = join(shared, 'corpus', 'firewall-dev.jsonl');
  const scorer = join(shared, 'tools', 'score-parse.mjs');
  if (!existsSync(corpus) || !existsSync(scorer)) {
    process.stdout.write(`${JSON.stringify({ bench: 'parse-accuracy', skipped: `no ${corpus}` })}\n`);
    return;
  }
  const records = readFileSync(corpus, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CorpusRecord);
  // Year-less corpus dates resolve against "now", like on the appliance.
  const now = new Date();
  const byFamily: Record<string, number> = {};
  let parsed = 0;
  const predictions: string[] = [];
  for (const record of records) {
    const result =
      typeof record.raw === 'string'
        ? parseMessage(record.raw, now)
        : { ok: false as const, reason: 'no raw' };
    if (result.ok) {
      parsed++;
      byFamily[result.family] = (byFamily[result.family] ?? 0) + 1;
      predictions.push(JSON.stringify(result.event));
    } else {
      predictions.push(JSON.stringify({ error: result.reason }));
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'ca-parse-accuracy-'));
  try {
    const predictionFile = join(dir, 'predictions.jsonl');
    writeFileSync(predictionFile, `${predictions.join('\n')}\n`);
    const scorerArgs = [scorer, corpus, predictionFile];
    if (values.misses !== '0') scorerArgs.push('--misses', values.misses ?? '0');
    const report = execFileSync(process.execPath, scorerArgs, { encoding: 'utf8', maxBuffer: 64 << 20 });
    process.stderr.write(report);
    const accuracy = Number(/^accuracy (\S+)$/m.exec(report)?.[1] ?? Number.NaN);
    const perVendor: Record<string, number> = {};
    const vendorTable = /\nper vendor\n[^\n]*\n([\s\S]*?)\n\n/.exec(report)?.[1] ?? '';
    for (const row of vendorTable.split('\n')) {
      const cols = row.trim().split(/\s+/);
      // name lines errors expected emitted correct precision recall lines_ok unverif
      if (cols.length >= 8 && cols[0] !== undefined && cols[7] !== undefined)
        perVendor[cols[0]] = Number(cols[7]);
    }
    process.stdout.write(
      `${JSON.stringify({ bench: 'parse-accuracy', accuracy, lines: records.length, parsed, perVendor, byFamily })}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await run(process.argv.slice(2));
}
