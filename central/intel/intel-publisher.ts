/**
 * Central's intel publisher: builds every list, turns each new version into signed retained
 * messages (publish-list.ts) and hands them to the broker (intel-sink.ts).
 *
 * Lists:
 * - `campaigns`: sources of recent campaign and new-scanner findings (central/correlate/) seen at
 *   fewer than `scannerMinMembers` members, tag `campaign` (appliances label a hit targeted);
 * - `scanners`: those seen at `scannerMinMembers` or more — mass scanners — tag `scanner`
 *   (appliances label a hit background). A source is on one of the two, never both: the appliance's
 *   lookup ranks campaign above scanner, so a mass scanner must not also be a campaign.
 *   "Recent" is `intelListDays`;
 * - every imported list (`cyberalarm-central intel import`), as imported.
 *
 * A list whose entries did not change since its last publication is left alone until its messages
 * are a day old (then a new version is published, so it never nears expiry on the appliances).
 * The publication is recorded before it is sent (intel-files.ts `publishedAt` marks it done), so a
 * crash between the two is finished by re-sending the recorded messages, never by a second version
 * under the same number.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-file.js';
import type { Logger } from '../../common/logger.js';
import type { IntelEntry } from '../../protocol/intel.js';
import { recentFindingSources } from '../correlate/findings-store.js';
import type { Queryable } from '../store/db.js';
import {
  decodeMessages,
  encodeMessages,
  entriesFingerprint,
  intelDir,
  loadImportedLists,
  loadPublished,
  type PublishedRecord,
  publishedLists,
  savePublished,
} from './intel-files.js';
import type { IntelSink } from './intel-sink.js';
import { publishList } from './publish-list.js';
import type { IntelSigningKey } from './signing-key.js';

/** Unchanged lists are published again (a new version) once their last publication is this old. */
export const REFRESH_AFTER_MS = 86_400_000;

export interface IntelPublisherOptions {
  readonly dataDir: string;
  /** Central's store: the findings the campaigns and scanners lists come from. */
  readonly db: Queryable;
  readonly signer: Pick<IntelSigningKey, 'privateKey' | 'keyId'>;
  readonly sink: IntelSink;
  readonly settings: { readonly scannerMinMembers: number; readonly intelListDays: number };
  readonly now?: () => number;
}

export interface ListOutcome {
  readonly list: string;
  /** `refused`: nothing sent, the previous publication stays (reason says why). */
  readonly action: 'published' | 'unchanged' | 'resent' | 'refused';
  readonly version: number;
  readonly entries: number;
  readonly kind?: 'full' | 'delta';
  readonly added?: number;
  readonly removed?: number;
  readonly bytes?: number;
  readonly reason?: string;
}

/** The lists central builds from its findings. */
export async function centralLists(
  db: Queryable,
  settings: IntelPublisherOptions['settings'],
  now: number,
): Promise<{ campaigns: IntelEntry[]; scanners: IntelEntry[] }> {
  const sources = await recentFindingSources(db, new Date(now - settings.intelListDays * 86_400_000));
  const campaigns: IntelEntry[] = [];
  const scanners: IntelEntry[] = [];
  for (const s of sources) {
    if (s.members >= settings.scannerMinMembers) scanners.push({ cidr: s.srcIp, tag: 'scanner' });
    else campaigns.push({ cidr: s.srcIp, tag: 'campaign' });
  }
  return { campaigns, scanners };
}

/** Builds and publishes every list once. Never throws for one list's trouble: see `action`. */
export async function publishIntelLists(options: IntelPublisherOptions): Promise<ListOutcome[]> {
  const now = (options.now ?? Date.now)();
  const wanted: { list: string; entries?: readonly IntelEntry[]; problem?: string }[] = [];
  const central = await centralLists(options.db, options.settings, now);
  wanted.push(
    { list: 'campaigns', entries: central.campaigns },
    { list: 'scanners', entries: central.scanners },
  );
  for (const { list, loaded } of loadImportedLists(options.dataDir)) {
    if (list === 'campaigns' || list === 'scanners') continue;
    wanted.push(loaded.ok ? { list, entries: loaded.value.entries } : { list, problem: loaded.reason });
  }
  const outcomes: ListOutcome[] = [];
  for (const w of wanted) {
    outcomes.push(
      w.entries === undefined
        ? { list: w.list, action: 'refused', version: 0, entries: 0, reason: w.problem ?? 'no entries' }
        : await publishOne(options, w.list, w.entries, now),
    );
  }
  return outcomes;
}

async function publishOne(
  options: IntelPublisherOptions,
  list: string,
  entries: readonly IntelEntry[],
  now: number,
): Promise<ListOutcome> {
  const loaded = loadPublished(options.dataDir, list);
  if (loaded !== undefined && !loaded.ok) {
    // Starting again at version 1 would look stale to every appliance holding a later version.
    return { list, action: 'refused', version: 0, entries: entries.length, reason: loaded.reason };
  }
  const previous = loaded?.value;
  const fingerprint = entriesFingerprint(entries);
  if (previous !== undefined && previous.fingerprint === fingerprint) {
    if (previous.publishedAt === undefined) return resend(options, previous, entries.length);
    if (now - Date.parse(previous.publishedAt) < REFRESH_AFTER_MS) {
      return { list, action: 'unchanged', version: previous.state.version, entries: entries.length };
    }
  }
  const result = publishList({
    list,
    entries,
    ...(previous === undefined ? {} : { previous: previous.state }),
    signer: options.signer,
    now,
  });
  if (!result.ok)
    return {
      list,
      action: 'refused',
      version: previous?.state.version ?? 0,
      entries: entries.length,
      reason: result.reason,
    };
  const record: PublishedRecord = {
    state: result.state,
    fingerprint,
    messages: encodeMessages(result.messages),
  };
  savePublished(options.dataDir, record);
  try {
    for (const m of result.messages) await options.sink.publish(m.topic, m.payload, true);
  } catch (err) {
    return {
      list,
      action: 'refused',
      version: result.version,
      entries: entries.length,
      reason: `recorded, not yet sent (sent at the next run): ${(err as Error).message}`,
    };
  }
  savePublished(options.dataDir, { ...record, publishedAt: new Date(now).toISOString() });
  return {
    list,
    action: 'published',
    version: result.version,
    entries: entries.length,
    kind: result.kind,
    added: result.added,
    removed: result.removed,
    bytes: result.messages.reduce((sum, m) => sum + m.payload.length, 0),
  };
}

async function resend(
  options: IntelPublisherOptions,
  record: PublishedRecord,
  entries: number,
): Promise<ListOutcome> {
  const { list, version } = record.state;
  try {
    for (const m of decodeMessages(record)) await options.sink.publish(m.topic, m.payload, true);
  } catch (err) {
    return { list, action: 'refused', version, entries, reason: `not sent: ${(err as Error).message}` };
  }
  savePublished(options.dataDir, {
    ...record,
    publishedAt: new Date((options.now ?? Date.now)()).toISOString(),
  });
  return { list, action: 'resent', version, entries };
}

/**
 * Sends every recorded publication again, as it is (same versions, same signatures): the embedded
 * broker keeps retained messages in memory, so after central restarts the broker holds none until
 * this runs. Appliances that already hold them see duplicates and ignore them.
 */
export async function resendPublished(
  options: Pick<IntelPublisherOptions, 'dataDir' | 'sink'>,
): Promise<ListOutcome[]> {
  const outcomes: ListOutcome[] = [];
  for (const list of publishedLists(options.dataDir)) {
    const loaded = loadPublished(options.dataDir, list);
    if (loaded === undefined) continue;
    if (!loaded.ok) {
      outcomes.push({ list, action: 'refused', version: 0, entries: 0, reason: loaded.reason });
      continue;
    }
    const { state } = loaded.value;
    try {
      for (const m of decodeMessages(loaded.value)) await options.sink.publish(m.topic, m.payload, true);
      outcomes.push({ list, action: 'resent', version: state.version, entries: state.baseEntries.length });
    } catch (err) {
      outcomes.push({
        list,
        action: 'refused',
        version: state.version,
        entries: 0,
        reason: (err as Error).message,
      });
    }
  }
  return outcomes;
}

// ---- on demand from the CLI, through the running central ----------------------------------------
//
// While central runs, its process owns the embedded broker (and, on PGlite, the database), so
// `cyberalarm-central intel publish` asks it: it writes a request file, the running publisher picks
// it up within `REQUEST_POLL_MS`, publishes, and answers in a result file named by the request's id.

const REQUEST_FILE = 'publish.request';
const REQUEST_POLL_MS = 1000;
const resultFile = (dataDir: string, id: string) => join(intelDir(dataDir), `publish-${id}.result.json`);

export async function requestPublish(dataDir: string, timeoutMs: number): Promise<ListOutcome[] | undefined> {
  const id = randomBytes(8).toString('hex');
  mkdirSync(intelDir(dataDir), { recursive: true, mode: 0o700 });
  writeFileAtomic(join(intelDir(dataDir), REQUEST_FILE), `${JSON.stringify({ id })}\n`, 0o600);
  const file = resultFile(dataDir, id);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(file)) {
      const outcomes = JSON.parse(readFileSync(file, 'utf8')) as ListOutcome[];
      rmSync(file, { force: true });
      return outcomes;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return undefined;
}

export interface IntelPublisherJob {
  /** Runs one publication now (also what a CLI request triggers). */
  publishNow(): Promise<ListOutcome[]>;
  stop(): Promise<void>;
}

/**
 * In `run`: first sends what was recorded (the embedded broker starts empty), then publishes every
 * `intervalMs` (0: only on request) and answers CLI requests. Runs never overlap.
 */
export function startIntelPublisher(
  options: IntelPublisherOptions & { readonly intervalMs: number; readonly resendAtStart: boolean },
  logger: Pick<Logger, 'info' | 'warn' | 'error'>,
): IntelPublisherJob {
  let stopped = false;
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => {});
    return next;
  };
  const report = (outcomes: readonly ListOutcome[]) => {
    for (const o of outcomes) {
      if (o.action === 'refused') logger.warn({ ...o }, 'intel list not published');
      else if (o.action !== 'unchanged') logger.info({ ...o }, 'intel list published');
    }
  };
  const publishNow = () =>
    serial(async () => {
      const outcomes = await publishIntelLists(options);
      report(outcomes);
      return outcomes;
    });
  const scheduled = () => {
    if (stopped) return;
    publishNow().catch((err: unknown) =>
      logger.error({ err }, 'intel publication failed; retrying at the next interval'),
    );
  };
  if (options.resendAtStart) {
    void serial(async () => report(await resendPublished(options))).catch((err: unknown) =>
      logger.error({ err }, 'resending the intel lists failed'),
    );
  }
  const timers: NodeJS.Timeout[] = [];
  if (options.intervalMs > 0) {
    scheduled();
    timers.push(setInterval(scheduled, options.intervalMs));
  }
  const requestPath = join(intelDir(options.dataDir), REQUEST_FILE);
  timers.push(
    setInterval(() => {
      if (stopped || !existsSync(requestPath)) return;
      let id = '';
      try {
        id = String((JSON.parse(readFileSync(requestPath, 'utf8')) as { id?: unknown }).id ?? '');
      } catch {}
      rmSync(requestPath, { force: true });
      if (!/^[0-9a-f]{16}$/.test(id)) return;
      publishNow().then(
        (outcomes) => writeFileAtomic(resultFile(options.dataDir, id), JSON.stringify(outcomes), 0o600),
        (err: unknown) => {
          logger.error({ err }, 'intel publication on request failed');
          writeFileAtomic(
            resultFile(options.dataDir, id),
            JSON.stringify([
              { list: '*', action: 'refused', version: 0, entries: 0, reason: (err as Error).message },
            ]),
            0o600,
          );
        },
      );
    }, REQUEST_POLL_MS),
  );
  for (const timer of timers) timer.unref();
  return {
    publishNow,
    stop: async () => {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      await chain;
    },
  };
}
