/**
 * What `cyberalarm-central intel import` and `intel publish` do (cli.ts only wires them).
 *
 * - import: parses an operator's list file (import-list.ts) and stores it in the data dir
 *   (intel-files.ts). No database, so it works while central runs; the list goes out at the next
 *   publication (scheduled, or `intel publish`).
 * - publish: while central runs, asks it (the running process owns the embedded broker, and on
 *   PGlite the database); otherwise publishes straight to an external broker (`--broker-url`) with
 *   central's ingest certificate. With the embedded broker and central stopped there is no broker to
 *   publish to: central publishes when it starts.
 */
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UserError } from '../../common/cli.js';
import { isValidIntelListName } from '../../protocol/intel.js';
import type { IntelPublishConfig } from '../config.js';
import { runningCentral } from '../runtime.js';
import { openDatabase } from '../store/db.js';
import { migrate } from '../store/migrate.js';
import { IMPORT_FORMATS, type ImportFormat, importList } from './import-list.js';
import { CENTRAL_LISTS, intelDir, saveImportedList } from './intel-files.js';
import { type ListOutcome, publishIntelLists, requestPublish } from './intel-publisher.js';
import { mqttIntelSink } from './intel-sink.js';
import { loadOrCreateIntelSigningKey } from './signing-key.js';

export interface ImportSummary {
  readonly list: string;
  readonly format: string;
  readonly entries: number;
  readonly lines: number;
  readonly invalid: number;
  readonly duplicates: number;
  readonly normalised: number;
  /** The first few bad lines: `line N: reason`. */
  readonly problems: readonly string[];
  readonly file: string;
}

export function importListFile(options: {
  readonly dataDir: string;
  readonly list: string;
  readonly file: string;
  readonly format: string;
}): ImportSummary {
  const { list } = options;
  if (!isValidIntelListName(list))
    throw new UserError(
      `--list ${JSON.stringify(list)}: use 1-32 of a-z 0-9 - _, starting with a letter or digit`,
    );
  if ((CENTRAL_LISTS as readonly string[]).includes(list))
    throw new UserError(`--list ${list}: central builds that list from its findings; choose another name`);
  if (!(IMPORT_FORMATS as readonly string[]).includes(options.format))
    throw new UserError(
      `--format ${JSON.stringify(options.format)}: use one of ${IMPORT_FORMATS.join(', ')}`,
    );
  let text: string;
  try {
    text = readFileSync(options.file, 'utf8');
  } catch (err) {
    throw new UserError(
      `cannot read ${options.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const result = importList(text, { format: options.format as ImportFormat, tag: 'imported' });
  if (result.entries.length === 0)
    throw new UserError(`${options.file}: no entries (${result.invalid} invalid lines); nothing stored`);
  const file = saveImportedList(resolve(options.dataDir), {
    list,
    format: result.format,
    source: basename(options.file),
    importedAt: new Date().toISOString(),
    entries: result.entries,
  });
  return {
    list,
    format: result.format,
    entries: result.entries.length,
    lines: result.lines,
    invalid: result.invalid,
    duplicates: result.duplicates,
    normalised: result.normalised,
    problems: result.problems.slice(0, 10).map((p) => `line ${p.line}: ${p.reason}`),
    file,
  };
}

export async function publishOnDemand(
  config: IntelPublishConfig,
  timeoutMs = 120_000,
): Promise<ListOutcome[]> {
  const dataDir = resolve(config.dataDir);
  if (runningCentral(dataDir)) {
    const outcomes = await requestPublish(dataDir, timeoutMs);
    if (outcomes === undefined)
      throw new UserError(`central is running but did not answer within ${timeoutMs / 1000} s; see its log`);
    return outcomes;
  }
  if (!config.brokerUrl) {
    throw new UserError(
      'central is not running: with the embedded broker the lists are published by central itself (at start and every intelPublishIntervalS); ' +
        'for an external broker give --broker-url',
    );
  }
  const signer = loadOrCreateIntelSigningKey(intelDir(dataDir));
  const read = (...parts: string[]) => readFileSync(join(dataDir, ...parts), 'utf8');
  const sink = mqttIntelSink({
    url: config.brokerUrl,
    clientId: 'central-intel-cli',
    tls: {
      certPem: read('tls', 'ingest.crt'),
      keyPem: read('tls', 'ingest.key'),
      caPem: read('ca', 'ca.crt'),
    },
  });
  const db = await openDatabase(config.db || undefined, dataDir);
  try {
    await migrate(db);
    return await publishIntelLists({ dataDir, db, signer, sink, settings: config });
  } finally {
    await db.close();
    await sink.close();
  }
}
