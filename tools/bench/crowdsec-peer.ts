/**
 * `npm run bench -- crowdsec-peer [--lines N] [--seed S]`: CrowdSec 1.4.6 (Debian, offline) and our
 * `cyberalarm-agent detect` side by side on the same iptables logs:
 *
 * - the netfilter part of the labelled detection replay (`lib/detect-replay.ts`, as `bench detect`);
 * - `../shared/corpus/detect-psad/scans-iptables.log` with its `truth.json`, when present (read where it
 *   is: evaluation data, never copied into the project).
 *
 * CrowdSec runs with its shipped iptables parser and `iptables-scan-multi_ports` scenario (linked from
 * its own hub copy by `scripts/setup.sh crowdsec`, which this bench calls when `crowdsec` is missing),
 * in a private config and data directory (a copy of /etc/crowdsec with paths rewritten and a fresh
 * database), so runs never touch each other or a system install: `crowdsec -no-capi -dsn file://LOG
 * -type syslog` replays the file on its own timestamps, then a local API (`crowdsec -no-cs -no-capi`)
 * is started just long enough for `cscli alerts list -o json` and stopped.
 *
 * Reports, per labelled source, which CrowdSec scenarios and which of our detectors alerted, alerts on
 * unlabelled sources, and lines per second (wall clock with start-up, and CrowdSec's with the time
 * it takes on a one-line file subtracted). Ends with one JSON line.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { Pseudonymiser } from '../../appliance/minimise/pseudonym.js';
import { projectRoot } from '../../common/version.js';
import {
  type AlertLine,
  BENCH_PRIVACY_KEY,
  detectAvailable,
  ensureReplay,
  identityOf,
  runDetect,
} from './detect.js';
import { DEFAULT_REPLAY_LINES, type ReplayLabel } from './lib/detect-replay.js';

const CROWDSEC_ETC = '/etc/crowdsec';
const CROWDSEC_DATA = '/var/lib/crowdsec/data';
const SCENARIO = 'crowdsecurity/iptables-scan-multi_ports';

interface CrowdsecAlert {
  readonly scenario?: string;
  readonly source?: { readonly ip?: string; readonly value?: string; readonly scope?: string };
}

interface CrowdsecRun {
  readonly alerts: readonly CrowdsecAlert[];
  readonly seconds: number;
}

function which(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** CrowdSec installed with the iptables parser and scenario enabled; installs it when it can. */
function ensureCrowdsec(): string | undefined {
  const ready = (): boolean =>
    which('crowdsec') &&
    which('cscli') &&
    existsSync(join(CROWDSEC_ETC, 'parsers/s01-parse/iptables-logs.yaml')) &&
    existsSync(join(CROWDSEC_ETC, 'scenarios/iptables-scan-multi_ports.yaml'));
  if (ready()) return undefined;
  const setup = spawnSync('bash', [join(projectRoot(), 'scripts', 'setup.sh'), 'crowdsec'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (setup.status === 0 && ready()) return undefined;
  return 'crowdsec is not installed and scripts/setup.sh crowdsec could not install it';
}

async function freePort(): Promise<number> {
  return await new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** A private copy of the system configuration: own database, logs, credentials and API port. */
async function privateConfig(): Promise<{ dir: string; config: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ca-crowdsec-'));
  const etc = join(dir, 'etc');
  const data = join(dir, 'data');
  cpSync(CROWDSEC_ETC, etc, { recursive: true, verbatimSymlinks: true });
  mkdirSync(data);
  mkdirSync(join(dir, 'log'));
  for (const name of readdirSync(CROWDSEC_DATA)) {
    if (!name.startsWith('crowdsec.db')) cpSync(join(CROWDSEC_DATA, name), join(data, name));
  }
  const config = YAML.parse(readFileSync(join(CROWDSEC_ETC, 'config.yaml'), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
  const section = (name: string): Record<string, unknown> => {
    config[name] ??= {};
    return config[name]!;
  };
  Object.assign(section('common'), { daemonize: false, log_media: 'file', log_dir: join(dir, 'log') });
  Object.assign(section('config_paths'), {
    config_dir: `${etc}/`,
    data_dir: `${data}/`,
    simulation_path: join(etc, 'simulation.yaml'),
    notification_dir: join(etc, 'notifications/'),
  });
  Object.assign(section('crowdsec_service'), {
    acquisition_path: join(etc, 'acquis.yaml'),
    acquisition_dir: join(etc, 'acquis.d'),
  });
  Object.assign(section('db_config'), { db_path: join(data, 'crowdsec.db') });
  Object.assign(section('prometheus'), { enabled: false });
  const api = section('api') as { client?: Record<string, unknown>; server?: Record<string, unknown> };
  api.client = { ...(api.client ?? {}), credentials_path: join(etc, 'local_api_credentials.yaml') };
  const server = { ...(api.server ?? {}) };
  delete server['online_client']; // no central API: nothing leaves the machine
  Object.assign(server, {
    listen_uri: `127.0.0.1:${await freePort()}`,
    profiles_path: join(etc, 'profiles.yaml'),
    console_path: join(etc, 'console.yaml'),
  });
  api.server = server;
  const path = join(dir, 'config.yaml');
  writeFileSync(path, YAML.stringify(config));
  const add = spawnSync(
    'cscli',
    [
      '-c',
      path,
      'machines',
      'add',
      'bench',
      '--auto',
      '--force',
      '-f',
      join(etc, 'local_api_credentials.yaml'),
    ],
    { encoding: 'utf8' },
  );
  if (add.status !== 0) throw new Error(`cscli machines add failed: ${add.stderr}`);
  return { dir, config: path };
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** Replays one file through CrowdSec, then reads its alerts from a short-lived local API. */
async function runCrowdsec(file: string): Promise<CrowdsecRun> {
  const { dir, config } = await privateConfig();
  try {
    const started = performance.now();
    const replay = spawnSync(
      'crowdsec',
      ['-c', config, '-no-capi', '-dsn', `file://${resolve(file)}`, '-type', 'syslog'],
      {
        stdio: 'ignore',
        timeout: 600_000,
      },
    );
    const seconds = (performance.now() - started) / 1000;
    if (replay.status !== 0) throw new Error(`crowdsec replay exited with ${replay.status}`);
    const lapi = spawn('crowdsec', ['-c', config, '-no-cs', '-no-capi'], { stdio: 'ignore' });
    try {
      for (let attempt = 0; attempt < 60; attempt++) {
        await sleep(250);
        const list = spawnSync('cscli', ['-c', config, 'alerts', 'list', '-o', 'json', '-l', '0'], {
          encoding: 'utf8',
          maxBuffer: 256 << 20,
        });
        if (list.status === 0) {
          const parsed = JSON.parse(list.stdout.trim() === '' ? '[]' : list.stdout) as CrowdsecAlert[] | null;
          return { alerts: parsed ?? [], seconds };
        }
      }
      throw new Error('the CrowdSec local API did not answer within 15 s');
    } finally {
      lapi.kill('SIGTERM');
      await new Promise<void>((done) => {
        if (lapi.exitCode !== null) done();
        else {
          const force = setTimeout(() => lapi.kill('SIGKILL'), 10_000);
          lapi.on('exit', () => {
            clearTimeout(force);
            done();
          });
        }
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Truth {
  readonly source: string;
  /** The label kind or the corpus's capture name. */
  readonly what: string;
  readonly internal: boolean;
  readonly aliases: readonly string[];
}

interface SideBySide {
  readonly name: string;
  readonly lines: number;
  readonly crowdsec: {
    seconds: number;
    linesPerS: number;
    netLinesPerS: number;
    alerts: number;
    labelledFound: number;
    otherSources: number;
  };
  readonly ours: {
    seconds: number;
    linesPerS: number;
    alerts: number;
    labelledFound: number;
    otherSources: number;
  } | null;
  readonly perSource: readonly { source: string; what: string; crowdsec: string[]; ours: string[] }[];
}

function countLines(file: string): number {
  let n = 0;
  const text = readFileSync(file, 'utf8');
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

async function compare(
  name: string,
  file: string,
  year: number,
  keyFile: string,
  truth: readonly Truth[],
  startupSeconds: number,
  withOurs: boolean,
  /** Sources whose alerts are right though not required (optional labels): not "other" sources. */
  alsoKnown: readonly string[] = [],
): Promise<SideBySide> {
  const lines = countLines(file);
  process.stderr.write(`crowdsec-peer: ${name}: ${lines} lines\n`);
  const cs = await runCrowdsec(file);
  const csBySource = new Map<string, Set<string>>();
  for (const alert of cs.alerts) {
    const source = alert.source?.ip ?? alert.source?.value ?? '';
    const set = csBySource.get(source) ?? new Set<string>();
    set.add((alert.scenario ?? '?').replace(/^crowdsecurity\//, ''));
    csBySource.set(source, set);
  }
  const pseudonyms = new Pseudonymiser(BENCH_PRIVACY_KEY);
  let oursAlerts: readonly AlertLine[] = [];
  let oursSeconds = 0;
  if (withOurs) {
    const run = await runDetect(file, year, keyFile);
    if (run.exitCode !== 0)
      throw new Error(`cyberalarm-agent detect exited with ${run.exitCode}: ${run.stderr}`);
    oursAlerts = run.alerts;
    oursSeconds = run.seconds;
  }
  const oursBySource = new Map<string, Set<string>>();
  for (const alert of oursAlerts) {
    const source = identityOf(alert.source, pseudonyms);
    const set = oursBySource.get(source) ?? new Set<string>();
    set.add(alert.kind ? `${alert.detector}/${alert.kind}` : alert.detector);
    oursBySource.set(source, set);
  }
  const labelledIds = new Set<string>();
  const perSource = truth.map((t) => {
    const ids = [t.source, ...t.aliases].map((a) => identityOf(a, pseudonyms));
    for (const id of ids) labelledIds.add(id);
    const collect = (bySource: Map<string, Set<string>>, keys: readonly string[]): string[] =>
      [...new Set(keys.flatMap((k) => [...(bySource.get(k) ?? [])]))].sort();
    return {
      source: t.source,
      what: t.what,
      // CrowdSec names sources in clear and whitelists private ones; ours pseudonymises internals.
      crowdsec: collect(csBySource, [t.source, ...t.aliases]),
      ours: collect(oursBySource, ids),
    };
  });
  for (const t of truth) labelledIds.add(t.source);
  for (const address of alsoKnown) labelledIds.add(identityOf(address, pseudonyms));
  const csOther = [...csBySource.keys()].filter(
    (s) => !labelledIds.has(s) && !labelledIds.has(identityOf(s, pseudonyms)),
  );
  const oursOther = [...oursBySource.keys()].filter((s) => !labelledIds.has(s));
  const round = (x: number): number => Math.round(x * 100) / 100;
  return {
    name,
    lines,
    crowdsec: {
      seconds: round(cs.seconds),
      linesPerS: Math.round(lines / cs.seconds),
      netLinesPerS: Math.round(lines / Math.max(0.01, cs.seconds - startupSeconds)),
      alerts: cs.alerts.length,
      labelledFound: perSource.filter((p) => p.crowdsec.length > 0).length,
      otherSources: csOther.length,
    },
    ours: withOurs
      ? {
          seconds: round(oursSeconds),
          linesPerS: Math.round(lines / oursSeconds),
          alerts: oursAlerts.length,
          labelledFound: perSource.filter((p) => p.ours.length > 0).length,
          otherSources: oursOther.length,
        }
      : null,
    perSource,
  };
}

function format(result: SideBySide): string {
  const rows = [
    `${result.name}: ${result.lines} lines`,
    `  ${'source'.padEnd(16)} ${'truth'.padEnd(34)} ${'CrowdSec'.padEnd(24)} ours`,
  ];
  for (const p of result.perSource) {
    rows.push(
      `  ${p.source.padEnd(16)} ${p.what.padEnd(34)} ${(p.crowdsec.join(',') || '-').padEnd(24)} ${p.ours.join(',') || (result.ours ? '-' : 'pending')}`,
    );
  }
  const cs = result.crowdsec;
  rows.push(
    `  CrowdSec: alerted on ${cs.labelledFound}/${result.perSource.length} labelled sources, ${cs.otherSources} other sources, ${cs.seconds} s (${cs.linesPerS} lines/s; ${cs.netLinesPerS} without start-up)`,
  );
  if (result.ours) {
    const o = result.ours;
    rows.push(
      `  ours:     alerted on ${o.labelledFound}/${result.perSource.length} labelled sources, ${o.otherSources} other sources, ${o.seconds} s (${o.linesPerS} lines/s, start-up included)`,
    );
  }
  return `${rows.join('\n')}\n\n`;
}

export default async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      lines: { type: 'string', default: String(DEFAULT_REPLAY_LINES) },
      seed: { type: 'string', default: '1' },
    },
  });
  const missing = ensureCrowdsec();
  if (missing !== undefined) {
    process.stdout.write(`${JSON.stringify({ bench: 'crowdsec-peer', skipped: missing })}\n`);
    return;
  }
  const withOurs = detectAvailable();
  if (!withOurs)
    process.stderr.write('crowdsec-peer: dist/appliance/cli.js has no detect yet: ours pending\n');
  const files = ensureReplay(Number(values.seed), Number(values.lines));

  // CrowdSec's fixed cost (start-up, hub load, shutdown) from a one-line file.
  const scratch = mkdtempSync(join(tmpdir(), 'ca-crowdsec-one-'));
  let startupSeconds = 0;
  try {
    const one = join(scratch, 'one.log');
    writeFileSync(one, `${readFileSync(files.netfilterLog, 'utf8').split('\n', 1)[0]}\n`);
    startupSeconds = (await runCrowdsec(one)).seconds;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const results: SideBySide[] = [];
  const replayTruth: Truth[] = files.labels
    .filter((l: ReplayLabel) => l.family === 'netfilter' && !l.optional && l.kind !== 'background')
    .map((l) => ({
      source: l.source,
      what: `${l.kind}${l.internal ? ' (internal)' : ''}`,
      internal: l.internal,
      aliases: l.aliases,
    }));
  const optional = files.labels
    .filter((l: ReplayLabel) => l.family === 'netfilter' && l.optional)
    .flatMap((l) => [l.source, ...l.aliases]);
  results.push(
    await compare(
      'replay (iptables part)',
      files.netfilterLog,
      files.year,
      files.keyFile,
      replayTruth,
      startupSeconds,
      withOurs,
      optional,
    ),
  );
  process.stderr.write(format(results[0]!));

  const corpus = resolve(projectRoot(), '..', 'shared', 'corpus', 'detect-psad');
  const psadLog = join(corpus, 'scans-iptables.log');
  const psadTruth = join(corpus, 'truth.json');
  if (existsSync(psadLog) && existsSync(psadTruth)) {
    const truth = Object.entries(JSON.parse(readFileSync(psadTruth, 'utf8')) as Record<string, string>).map(
      ([source, what]) => ({ source, what, internal: false, aliases: [] }),
    );
    // Year-less February stamps: any year will do, the replay is on the file's own clock.
    results.push(
      await compare(
        'psad scans (shared corpus)',
        psadLog,
        files.year,
        files.keyFile,
        truth,
        startupSeconds,
        withOurs,
      ),
    );
    process.stderr.write(format(results[1]!));
  }

  const summary = results.map((r) => ({
    name: r.name,
    lines: r.lines,
    labelled: r.perSource.length,
    crowdsec: r.crowdsec,
    ours: r.ours ?? 'pending',
    missedByCrowdsec: r.perSource.filter((p) => p.crowdsec.length === 0).map((p) => `${p.source} ${p.what}`),
    missedByOurs: r.ours
      ? r.perSource.filter((p) => p.ours.length === 0).map((p) => `${p.source} ${p.what}`)
      : [],
  }));
  process.stdout.write(
    `${JSON.stringify({ bench: 'crowdsec-peer', crowdsec: '1.4.6', scenario: SCENARIO, crowdsecStartupSeconds: Math.round(startupSeconds * 100) / 100, inputs: summary })}\n`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await run(process.argv.slice(2));
}
