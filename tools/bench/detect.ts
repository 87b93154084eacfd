/**
 * `npm run bench -- detect [--lines N] [--seed S] [--write DIR]`: detection precision and recall on a
 * labelled replay (`lib/detect-replay.ts`: four firewall families, every attack kind, benign traffic
 * and labelled background noise). Runs the real command line, `cyberalarm-agent detect FILE --year Y
 * --privacy-key-file K`, on the file's own timestamps, and scores its alerts against the labels.
 * `--write DIR` only writes the replay (replay.log, netfilter.log, labels.json, privacy.key) and exits.
 *
 * Scoring:
 * - a finding is one (detector, source) pair, however many alert lines (new, update, final) it took;
 * - a finding is right when the source is a label's address (or one of its aliases: a flood's
 *   victim, an amplification's reflectors, an exposed server's clients) and the detector covers the
 *   label's kind (`DETECTOR_LABEL_KINDS`); internal addresses are compared as the pseudonyms the
 *   bench's known key gives them;
 * - an alert labelled `background` on a background-noise source is neither right nor wrong; any
 *   other alert on a noise source, on benign traffic or of a kind its source is not labelled with is
 *   a false positive;
 * - recall counts the labels that are not optional (an optional label, e.g. "a worm is also a sweep",
 *   makes such an alert right but is not required) and not background.
 * Prints tables on stderr and ends with one JSON line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { AddressKind, INTERNAL_NETWORKS, parseAddress } from '../../appliance/minimise/address.js';
import { Pseudonymiser } from '../../appliance/minimise/pseudonym.js';
import { projectRoot } from '../../common/version.js';
import {
  DEFAULT_REPLAY_LINES,
  familyLines,
  generateDetectReplay,
  type LabelKind,
  type ReplayLabel,
} from './lib/detect-replay.js';

/** Which label kinds each detector's alerts can confirm: the one table the scoring uses. */
export const DETECTOR_LABEL_KINDS: Readonly<Record<string, readonly LabelKind[]>> = {
  'horizontal-scan': ['horizontal-scan'],
  // One detector, two variants (`kind: fast | slow`): either finding a slow scan counts.
  'vertical-scan': ['vertical-scan', 'slow-scan'],
  'protocol-scan': ['protocol-scan'],
  // Brute force and password spraying (`kind: spray`).
  'brute-force': ['brute-force'],
  // SYN flood, inbound UDP amplification and an internal reflector are variants of one detector.
  flood: ['flood', 'amplification', 'reflector'],
  'worm-fanout': ['worm-fanout'],
  'denied-outbound': ['denied-outbound'],
  beaconing: ['beaconing'],
  'exposed-service': ['exposed-service'],
  // The replay holds no intelligence-listed address: every intel hit is a false positive.
  'intel-hit': [],
};

/** The bench's own pseudonym key, so it can name internal label sources as the alerts do. */
export const BENCH_PRIVACY_KEY = createHash('sha256').update('cyberalarm detect bench key').digest();

export interface ReplayFiles {
  readonly dir: string;
  readonly log: string;
  readonly netfilterLog: string;
  readonly keyFile: string;
  readonly year: number;
  readonly lines: number;
  readonly netfilterLines: number;
  readonly labels: readonly ReplayLabel[];
}

interface LabelsFile {
  readonly seed: number;
  readonly year: number;
  readonly lines: number;
  readonly netfilterLines: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly labels: readonly ReplayLabel[];
}

function generatorDigest(): string {
  const hash = createHash('sha256');
  for (const name of ['detect-replay.js', 'detect-replay.ts']) {
    const path = fileURLToPath(new URL(`./lib/${name}`, import.meta.url));
    if (existsSync(path)) hash.update(readFileSync(path));
  }
  return hash.digest('hex').slice(0, 12);
}

/** Generates the replay into `dir` (default: a cache directory keyed by seed, size and generator). */
export function ensureReplay(seed: number, lines: number, dir?: string): ReplayFiles {
  const target = dir ?? join(tmpdir(), 'cyberalarm-bench-detect', `${seed}-${lines}-${generatorDigest()}`);
  const files = {
    log: join(target, 'replay.log'),
    netfilterLog: join(target, 'netfilter.log'),
    keyFile: join(target, 'privacy.key'),
    labels: join(target, 'labels.json'),
  };
  if (dir !== undefined || !existsSync(files.labels)) {
    mkdirSync(target, { recursive: true });
    const started = performance.now();
    const replay = generateDetectReplay({ seed, lines });
    const netfilter = familyLines(replay, 'netfilter');
    writeFileSync(files.log, `${replay.lines.join('\n')}\n`);
    writeFileSync(files.netfilterLog, `${netfilter.join('\n')}\n`);
    writeFileSync(files.keyFile, BENCH_PRIVACY_KEY, { mode: 0o600 });
    const meta: LabelsFile = {
      seed,
      year: replay.year,
      lines: replay.lines.length,
      netfilterLines: netfilter.length,
      startMs: replay.startMs,
      endMs: replay.endMs,
      labels: replay.labels,
    };
    // labels.json last, through a rename: its presence means the directory is complete.
    writeFileSync(`${files.labels}.tmp`, `${JSON.stringify(meta, null, 1)}\n`);
    renameSync(`${files.labels}.tmp`, files.labels);
    process.stderr.write(
      `detect: generated ${replay.lines.length} lines, ${replay.labels.length} labels in ${((performance.now() - started) / 1000).toFixed(1)} s -> ${target}\n`,
    );
  }
  const meta = JSON.parse(readFileSync(files.labels, 'utf8')) as LabelsFile;
  return {
    dir: target,
    log: files.log,
    netfilterLog: files.netfilterLog,
    keyFile: files.keyFile,
    year: meta.year,
    lines: meta.lines,
    netfilterLines: meta.netfilterLines,
    labels: meta.labels,
  };
}

/** One alert line of `cyberalarm-agent detect` (the fields the scoring reads). */
export interface AlertLine {
  readonly id?: string;
  readonly detector: string;
  readonly kind?: string;
  readonly status?: string;
  readonly source: string;
  readonly label?: string;
  readonly severity?: string;
  readonly [key: string]: unknown;
}

export interface DetectRun {
  readonly alerts: readonly AlertLine[];
  readonly summary: Record<string, unknown> | undefined;
  readonly seconds: number;
  readonly exitCode: number | null;
  readonly stderr: string;
}

export const AGENT_CLI = (): string => join(projectRoot(), 'dist', 'appliance', 'cli.js');

/** True when the built agent has the `detect` subcommand. */
export function detectAvailable(cli = AGENT_CLI()): boolean {
  if (!existsSync(cli)) return false;
  const help = spawnSync(process.execPath, [cli, 'detect', '--help'], { encoding: 'utf8', timeout: 30_000 });
  return help.status === 0 && /detect/.test(help.stdout);
}

/** Runs `cyberalarm-agent detect FILE` and collects its alert lines and the summary line. */
export async function runDetect(
  file: string,
  year: number,
  keyFile: string,
  cli = AGENT_CLI(),
): Promise<DetectRun> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [cli, 'detect', file, '--year', String(year), '--privacy-key-file', keyFile],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    if (stderr.length < 65_536) stderr += chunk;
  });
  const alerts: AlertLine[] = [];
  let summary: Record<string, unknown> | undefined;
  for await (const line of createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const record = value as Record<string, unknown>;
    if (record['summary'] === true) summary = record;
    else if (typeof record['detector'] === 'string' && typeof record['source'] === 'string')
      alerts.push(record as AlertLine);
  }
  const exitCode = await new Promise<number | null>((done) => {
    if (child.exitCode !== null) done(child.exitCode);
    else child.on('close', (code) => done(code));
  });
  return { alerts, summary, seconds: (performance.now() - started) / 1000, exitCode, stderr };
}

/** How an address appears in an alert: internal ones as their pseudonym, IPv6 in one spelling. */
export function identityOf(address: string, pseudonyms: Pseudonymiser): string {
  if (address.startsWith('p:')) return address;
  const words = new Uint32Array(4);
  const kind = parseAddress(address, words);
  if (kind === AddressKind.Invalid) return address.toLowerCase();
  if (INTERNAL_NETWORKS.contains(kind, words)) return pseudonyms.address(kind, words, address);
  if (kind === AddressKind.V4) return address;
  return Array.from(words, (w) => w.toString(16).padStart(8, '0')).join('');
}

export interface Finding {
  readonly detector: string;
  readonly kinds: readonly string[];
  readonly source: string;
  /** `background` only when every alert of the finding was labelled so. */
  readonly label: string;
  readonly alerts: number;
  verdict: 'right' | 'wrong' | 'ignored';
  reason: string;
}

export interface Score {
  readonly findings: readonly Finding[];
  /** Per detector: findings right and wrong; the label kinds it covers and how many it found. */
  readonly perDetector: Record<
    string,
    {
      right: number;
      wrong: number;
      precision: number | null;
      labels: number;
      found: number;
      recall: number | null;
    }
  >;
  readonly perKind: Record<
    string,
    { labels: number; found: number; recall: number | null; missed: string[] }
  >;
  readonly perFamily: Record<string, { labels: number; found: number; recall: number | null }>;
  readonly overall: {
    right: number;
    wrong: number;
    precision: number | null;
    labels: number;
    found: number;
    recall: number | null;
  };
  /** Labels found, by index into the labels given. */
  readonly found: ReadonlySet<number>;
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : Math.round((a / b) * 1000) / 1000);

/** Scores alerts against labels (see the file comment for the rules). */
export function scoreAlerts(
  alerts: readonly AlertLine[],
  labels: readonly ReplayLabel[],
  key: Uint8Array = BENCH_PRIVACY_KEY,
  detectorNames: readonly string[] = Object.keys(DETECTOR_LABEL_KINDS),
): Score {
  const pseudonyms = new Pseudonymiser(key);
  const byIdentity = new Map<string, number[]>();
  labels.forEach((label, index) => {
    for (const address of [label.source, ...label.aliases]) {
      const id = identityOf(address, pseudonyms);
      const list = byIdentity.get(id);
      if (list === undefined) byIdentity.set(id, [index]);
      else if (!list.includes(index)) list.push(index);
    }
  });
  const findingsByKey = new Map<string, Finding>();
  for (const alert of alerts) {
    const source = identityOf(alert.source, pseudonyms);
    const key = `${alert.detector} ${source}`;
    const existing = findingsByKey.get(key);
    const kind = alert.kind ?? '';
    if (existing === undefined) {
      findingsByKey.set(key, {
        detector: alert.detector,
        kinds: kind === '' ? [] : [kind],
        source,
        label: alert.label ?? 'targeted',
        alerts: 1,
        verdict: 'wrong',
        reason: '',
      });
    } else {
      findingsByKey.set(key, {
        ...existing,
        kinds: kind === '' || existing.kinds.includes(kind) ? existing.kinds : [...existing.kinds, kind],
        label: existing.label === 'background' && alert.label === 'background' ? 'background' : 'targeted',
        alerts: existing.alerts + 1,
      });
    }
  }
  const found = new Set<number>();
  const findings = [...findingsByKey.values()];
  for (const finding of findings) {
    const covers = DETECTOR_LABEL_KINDS[finding.detector] ?? [];
    const candidates = byIdentity.get(finding.source) ?? [];
    const matching = candidates.filter((i) => covers.includes(labels[i]!.kind));
    if (matching.length > 0) {
      finding.verdict = 'right';
      finding.reason = matching.map((i) => labels[i]!.scenario).join(',');
      for (const i of matching) found.add(i);
      continue;
    }
    const noise = candidates.length > 0 && candidates.every((i) => labels[i]!.kind === 'background');
    if (noise && finding.label === 'background') {
      finding.verdict = 'ignored';
      finding.reason = 'background alert on background noise';
      continue;
    }
    finding.verdict = 'wrong';
    finding.reason =
      candidates.length === 0
        ? 'benign or unlabelled source'
        : noise
          ? 'targeted alert on background noise'
          : `source labelled ${[...new Set(candidates.map((i) => labels[i]!.kind))].join('/')}`;
  }

  const counted = (l: ReplayLabel): boolean => !l.optional && l.kind !== 'background';
  const perKind: Score['perKind'] = {};
  const perFamily: Score['perFamily'] = {};
  labels.forEach((label, index) => {
    if (!counted(label)) return;
    perKind[label.kind] ??= { labels: 0, found: 0, recall: null, missed: [] };
    perFamily[label.family] ??= { labels: 0, found: 0, recall: null };
    const k = perKind[label.kind]!;
    const f = perFamily[label.family]!;
    k.labels++;
    f.labels++;
    if (found.has(index)) {
      k.found++;
      f.found++;
    } else k.missed.push(`${label.scenario}@${label.family}:${label.source}`);
  });
  for (const k of Object.values(perKind)) k.recall = ratio(k.found, k.labels);
  for (const f of Object.values(perFamily)) f.recall = ratio(f.found, f.labels);

  const perDetector: Score['perDetector'] = {};
  const names = [...new Set([...detectorNames, ...findings.map((f) => f.detector)])];
  for (const name of names) {
    const mine = findings.filter((f) => f.detector === name);
    const right = mine.filter((f) => f.verdict === 'right').length;
    const wrong = mine.filter((f) => f.verdict === 'wrong').length;
    let labelCount = 0;
    let foundCount = 0;
    for (const kind of DETECTOR_LABEL_KINDS[name] ?? []) {
      labelCount += perKind[kind]?.labels ?? 0;
      foundCount += perKind[kind]?.found ?? 0;
    }
    perDetector[name] = {
      right,
      wrong,
      precision: ratio(right, right + wrong),
      labels: labelCount,
      found: foundCount,
      recall: ratio(foundCount, labelCount),
    };
  }
  const right = findings.filter((f) => f.verdict === 'right').length;
  const wrong = findings.filter((f) => f.verdict === 'wrong').length;
  const labelTotal = labels.filter(counted).length;
  const foundTotal = labels.filter((l, i) => counted(l) && found.has(i)).length;
  return {
    findings,
    perDetector,
    perKind,
    perFamily,
    overall: {
      right,
      wrong,
      precision: ratio(right, right + wrong),
      labels: labelTotal,
      found: foundTotal,
      recall: ratio(foundTotal, labelTotal),
    },
    found,
  };
}

const cell = (value: number | null): string => (value === null ? '-' : value.toFixed(3));

/** The per-detector and per-kind tables, for stderr (and the PERFORMANCE.md figures). */
export function formatScore(score: Score): string {
  const rows = ['detector          findings  right  wrong  precision  labels  found  recall'];
  for (const [name, d] of Object.entries(score.perDetector)) {
    rows.push(
      `${name.padEnd(17)} ${String(d.right + d.wrong).padStart(8)} ${String(d.right).padStart(6)} ${String(d.wrong).padStart(6)} ${cell(d.precision).padStart(10)} ${String(d.labels).padStart(7)} ${String(d.found).padStart(6)} ${cell(d.recall).padStart(7)}`,
    );
  }
  const o = score.overall;
  rows.push(
    `${'overall'.padEnd(17)} ${String(o.right + o.wrong).padStart(8)} ${String(o.right).padStart(6)} ${String(o.wrong).padStart(6)} ${cell(o.precision).padStart(10)} ${String(o.labels).padStart(7)} ${String(o.found).padStart(6)} ${cell(o.recall).padStart(7)}`,
  );
  rows.push('', 'label kind        labels  found  recall  missed');
  for (const [kind, k] of Object.entries(score.perKind)) {
    rows.push(
      `${kind.padEnd(17)} ${String(k.labels).padStart(6)} ${String(k.found).padStart(6)} ${cell(k.recall).padStart(7)}  ${k.missed.slice(0, 4).join(' ')}`,
    );
  }
  rows.push('', 'family              labels  found  recall');
  for (const [family, f] of Object.entries(score.perFamily)) {
    rows.push(
      `${family.padEnd(19)} ${String(f.labels).padStart(6)} ${String(f.found).padStart(6)} ${cell(f.recall).padStart(7)}`,
    );
  }
  const wrong = score.findings.filter((f) => f.verdict === 'wrong');
  if (wrong.length > 0) {
    const reasons = new Map<string, number>();
    for (const f of wrong) {
      const key = `${f.detector}: ${f.reason}`;
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    }
    rows.push('', 'false positives by detector and reason');
    for (const [reason, n] of [...reasons].sort((a, b) => b[1] - a[1]))
      rows.push(`  ${String(n).padStart(5)}  ${reason}`);
  }
  return `${rows.join('\n')}\n`;
}

export default async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      lines: { type: 'string', default: String(DEFAULT_REPLAY_LINES) },
      seed: { type: 'string', default: '1' },
      write: { type: 'string' },
    },
  });
  const lines = Number(values.lines);
  const seed = Number(values.seed);
  if (!Number.isInteger(lines) || lines < 1 || !Number.isInteger(seed)) {
    throw new Error('--lines and --seed take whole numbers');
  }
  const files = ensureReplay(seed, lines, values.write === undefined ? undefined : resolve(values.write));
  if (values.write !== undefined) {
    process.stdout.write(
      `${JSON.stringify({ bench: 'detect', wrote: files.dir, lines: files.lines, labels: files.labels.length, year: files.year })}\n`,
    );
    return;
  }
  if (!detectAvailable()) {
    process.stdout.write(
      `${JSON.stringify({ bench: 'detect', skipped: 'dist/appliance/cli.js has no detect subcommand yet', replay: files.dir })}\n`,
    );
    return;
  }
  const result = await runDetect(files.log, files.year, files.keyFile);
  if (result.exitCode !== 0) {
    process.stderr.write(result.stderr);
    throw new Error(`cyberalarm-agent detect exited with ${result.exitCode}`);
  }
  const score = scoreAlerts(result.alerts, files.labels);
  process.stderr.write(formatScore(score));
  const linesPerS = Math.round(files.lines / result.seconds);
  process.stderr.write(
    `\n${files.lines} lines in ${result.seconds.toFixed(2)} s (${linesPerS} lines/s, node start-up included), ${result.alerts.length} alert lines\n`,
  );
  const perDetector: Record<
    string,
    { precision: number | null; recall: number | null; right: number; wrong: number }
  > = {};
  for (const [name, d] of Object.entries(score.perDetector)) {
    perDetector[name] = { precision: d.precision, recall: d.recall, right: d.right, wrong: d.wrong };
  }
  const perKind: Record<string, number | null> = {};
  for (const [kind, k] of Object.entries(score.perKind)) perKind[kind] = k.recall;
  process.stdout.write(
    `${JSON.stringify({
      bench: 'detect',
      seed,
      lines: files.lines,
      alertLines: result.alerts.length,
      seconds: Math.round(result.seconds * 100) / 100,
      linesPerS,
      overall: score.overall,
      perDetector,
      recallPerKind: perKind,
    })}\n`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await run(process.argv.slice(2));
}
