/**
 * What central keeps on disk for the intel lists, under `<dataDir>/intel/` (files, not tables: an
 * operator imports a list with `cyberalarm-central intel import` while central runs on PGlite, which
 * admits one process; and the signing key already lives here):
 *
 *   intel-signing.key / .pub      central's Ed25519 key (signing-key.ts)
 *   lists/<name>.json             an imported list: its entries and where they came from
 *   published/<name>.json         the last publication of a list: `PublishedState` (so deltas go on
 *                                 after a restart), a fingerprint of its entries, and the retained
 *                                 messages themselves (the embedded broker keeps retained messages in
 *                                 memory only, so central publishes them again when it starts)
 *
 * Every file is written atomically (common/atomic-file.ts); a damaged file reads as absent, with
 * the reason, so one bad list never blocks the others.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-file.js';
import { type IntelEntry, isValidIntelListName } from '../../protocol/intel.js';
import { canonicalCidr, INTEL_TAGS, type IntelTag } from '../../protocol/intel-cidr.js';
import type { IntelPublication, PublishedState } from './publish-list.js';

/** Lists central builds itself from its findings; an import may not use these names. */
export const CENTRAL_LISTS = ['campaigns', 'scanners'] as const;

export function intelDir(dataDir: string): string {
  return join(dataDir, 'intel');
}

const listsDir = (dataDir: string) => join(intelDir(dataDir), 'lists');
const publishedDir = (dataDir: string) => join(intelDir(dataDir), 'published');

export interface ImportedList {
  readonly list: string;
  readonly format: string;
  /** The file name it was imported from (no directory). */
  readonly source: string;
  /** ISO 8601. */
  readonly importedAt: string;
  readonly entries: readonly IntelEntry[];
}

export function saveImportedList(dataDir: string, imported: ImportedList): string {
  if (!isValidIntelListName(imported.list)) throw new RangeError(`list name ${imported.list} is not valid`);
  mkdirSync(listsDir(dataDir), { recursive: true, mode: 0o700 });
  const file = join(listsDir(dataDir), `${imported.list}.json`);
  writeFileAtomic(file, `${JSON.stringify(imported)}\n`, 0o600);
  return file;
}

export type Loaded<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

/** Every imported list, by name order; a file that does not read is reported, not thrown. */
export function loadImportedLists(dataDir: string): { list: string; loaded: Loaded<ImportedList> }[] {
  const dir = listsDir(dataDir);
  if (!existsSync(dir)) return [];
  const out: { list: string; loaded: Loaded<ImportedList> }[] = [];
  for (const name of readdirSync(dir).sort()) {
    const list = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
    if (!isValidIntelListName(list)) continue;
    out.push({ list, loaded: readJson(join(dir, name), (v) => checkImported(v, list)) });
  }
  return out;
}

export interface PublishedRecord {
  readonly state: PublishedState;
  /** `entriesFingerprint` of the entries published: unchanged entries need no new version. */
  readonly fingerprint: string;
  /** The retained messages of the last publication, in order (payload base64; empty = clear). */
  readonly messages: readonly { readonly topic: string; readonly payload: string }[];
  /** ISO 8601: set once the broker took every message; absent while a publication is pending. */
  readonly publishedAt?: string;
}

export function loadPublished(dataDir: string, list: string): Loaded<PublishedRecord> | undefined {
  const file = join(publishedDir(dataDir), `${list}.json`);
  if (!existsSync(file)) return undefined;
  return readJson(file, (v) => checkPublished(v, list));
}

export function savePublished(dataDir: string, record: PublishedRecord): void {
  mkdirSync(publishedDir(dataDir), { recursive: true, mode: 0o700 });
  writeFileAtomic(
    join(publishedDir(dataDir), `${record.state.list}.json`),
    `${JSON.stringify(record)}\n`,
    0o644,
  );
}

export function publishedLists(dataDir: string): string[] {
  const dir = publishedDir(dataDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .map((n) => n.slice(0, -'.json'.length))
    .filter(isValidIntelListName)
    .sort();
}

export function encodeMessages(messages: readonly IntelPublication[]): PublishedRecord['messages'] {
  return messages.map((m) => ({ topic: m.topic, payload: Buffer.from(m.payload).toString('base64') }));
}

export function decodeMessages(record: PublishedRecord): { topic: string; payload: Uint8Array }[] {
  return record.messages.map((m) => ({
    topic: m.topic,
    payload: new Uint8Array(Buffer.from(m.payload, 'base64')),
  }));
}

/** A digest of a list's entries independent of order and spelling (canonical CIDR + tag, sorted). */
export function entriesFingerprint(entries: readonly IntelEntry[]): string {
  const lines = new Set<string>();
  for (const e of entries) lines.add(`${canonicalCidr(e.cidr) ?? e.cidr} ${e.tag ?? ''}`);
  return createHash('sha256')
    .update([...lines].sort().join('\n'))
    .digest('hex');
}

// ---- reading back, checked (the files are ours, but a disk or a hand edit can damage them) ----

function readJson<T>(file: string, check: (value: unknown) => T | string): Loaded<T> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return { ok: false, reason: `${file}: ${(err as Error).message.slice(0, 120)}` };
  }
  const checked = check(value);
  return typeof checked === 'string'
    ? { ok: false, reason: `${file}: ${checked}` }
    : { ok: true, value: checked };
}

function checkEntries(value: unknown): IntelEntry[] | string {
  if (!Array.isArray(value)) return 'entries is not a list';
  const entries: IntelEntry[] = [];
  for (const e of value as unknown[]) {
    const { cidr, tag } = (e ?? {}) as { cidr?: unknown; tag?: unknown };
    if (typeof cidr !== 'string' || canonicalCidr(cidr) === undefined) return 'an entry is not a CIDR';
    if (tag !== undefined && !INTEL_TAGS.includes(tag as IntelTag)) return 'an entry has an unknown tag';
    entries.push(tag === undefined ? { cidr } : { cidr, tag: tag as IntelTag });
  }
  return entries;
}

function checkImported(value: unknown, list: string): ImportedList | string {
  const v = (value ?? {}) as Record<string, unknown>;
  if (v.list !== list) return 'names another list';
  const entries = checkEntries(v.entries);
  if (typeof entries === 'string') return entries;
  return {
    list,
    format: String(v.format ?? ''),
    source: String(v.source ?? ''),
    importedAt: String(v.importedAt ?? ''),
    entries,
  };
}

function checkPublished(value: unknown, list: string): PublishedRecord | string {
  const v = (value ?? {}) as Record<string, unknown>;
  const s = (v.state ?? {}) as Record<string, unknown>;
  if (s.list !== list) return 'names another list';
  const positive = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 1;
  if (!positive(s.version) || !positive(s.baseVersion) || (s.baseVersion as number) > (s.version as number))
    return 'versions are not valid';
  if (typeof s.baseIssued !== 'string' || Number.isNaN(Date.parse(s.baseIssued)))
    return 'baseIssued is not a time';
  const baseEntries = checkEntries(s.baseEntries);
  if (typeof baseEntries === 'string') return baseEntries;
  if (typeof v.fingerprint !== 'string') return 'no fingerprint';
  const messages = Array.isArray(v.messages) ? (v.messages as { topic?: unknown; payload?: unknown }[]) : [];
  if (messages.some((m) => typeof m?.topic !== 'string' || typeof m?.payload !== 'string'))
    return 'messages are not valid';
  return {
    state: {
      list,
      version: s.version as number,
      baseVersion: s.baseVersion as number,
      baseIssued: s.baseIssued,
      baseEntries,
    },
    fingerprint: v.fingerprint,
    messages: messages as PublishedRecord['messages'],
    ...(typeof v.publishedAt === 'string' ? { publishedAt: v.publishedAt } : {}),
  };
}
