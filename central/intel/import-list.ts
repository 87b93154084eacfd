import { type IntelEntry, intelLimits } from '../../protocol/intel.js';
import { formatCidr, type IntelTag, parseCidr } from '../../protocol/intel-cidr.js';

/**
 * Parses a blocklist an operator imports, in any of the formats below, into canonical entries.
 * Pure (text in, entries out). Bad lines are counted and reported with their line numbers, never
 * thrown: one broken line in a 50,000-line feed must not block the other 49,999.
 *
 * - `plain`: one IP or CIDR per line; `#` or `;` starts a comment (whole line or after the entry).
 * - `firehol`: FireHOL `.netset` / `.ipset` files (https://iplists.firehol.org/, format described
 *   in the header of every file and at https://github.com/firehol/blocklist-ipsets): `#` comment
 *   lines, then one IP (`.ipset`) or CIDR (`.netset`) per line. Parsed as `plain`.
 * - `spamhaus-drop`: the DROP / EDROP text lists (Spamhaus DROP FAQ,
 *   https://www.spamhaus.org/blocklists/do-not-route-or-peer/): `; ` comment lines and entries
 *   `1.10.16.0/20 ; SBL256894`. Parsed as `plain` (the SBL reference is a comment).
 * - `spamhaus-drop-json`: the JSON-lines DROP v4/v6 files (`drop_v4.json`, `drop_v6.json`, same
 *   FAQ): one `{"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}` object per line and a
 *   final `{"type":"metadata","timestamp":…,"size":…,"records":N,…}` line, whose `records` count is
 *   checked against the entries read.
 *
 * Host bits below the prefix (`10.1.2.3/8`) are cleared and counted as `normalised`; an address
 * repeated or a CIDR listed twice counts once (`duplicates`).
 */

export const IMPORT_FORMATS = ['auto', 'plain', 'firehol', 'spamhaus-drop', 'spamhaus-drop-json'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export interface ImportProblem {
  /** 1-based line number. */
  readonly line: number;
  readonly reason: string;
  /** The line, cut to 80 characters. */
  readonly text: string;
}

export interface ImportResult {
  /** The format used (`auto` resolved). */
  readonly format: Exclude<ImportFormat, 'auto'>;
  /** Canonical entries, first occurrence order, no duplicates. */
  readonly entries: IntelEntry[];
  readonly lines: number;
  /** Lines that were neither an entry, a comment nor blank. */
  readonly invalid: number;
  /** The first `MAX_PROBLEMS` invalid lines (and a metadata mismatch, if any). */
  readonly problems: ImportProblem[];
  readonly duplicates: number;
  readonly normalised: number;
  /** Spamhaus JSON: the metadata line's fields, when present. */
  readonly metadata?: { readonly records?: number; readonly timestamp?: number };
}

export const MAX_PROBLEMS = 100;
const MAX_LINE_CHARS = 1000;

export interface ImportOptions {
  readonly format?: ImportFormat;
  /** A tag for every entry of this list (e.g. `imported`). */
  readonly tag?: IntelTag;
  /** Most entries to keep; the rest are reported (defaults to what one message can carry). */
  readonly maxEntries?: number;
}

export function importList(text: string, options: ImportOptions = {}): ImportResult {
  const format = resolveFormat(text, options.format ?? 'auto');
  const maxEntries = options.maxEntries ?? intelLimits.maxEntries;
  const seen = new Set<string>();
  const entries: IntelEntry[] = [];
  const problems: ImportProblem[] = [];
  let invalid = 0;
  let duplicates = 0;
  let normalised = 0;
  let metadata: { records?: number; timestamp?: number } | undefined;
  let overflow = 0;
  let jsonRecords = 0;

  const problem = (line: number, reason: string, raw: string) => {
    invalid++;
    if (problems.length < MAX_PROBLEMS) problems.push({ line, reason, text: raw.slice(0, 80) });
  };
  const addCidr = (line: number, cidrText: string, raw: string) => {
    const cidr = parseCidr(cidrText);
    if (cidr === undefined) return problem(line, 'not an IP address or CIDR', raw);
    if (cidr.hostBitsCleared) normalised++;
    const canonical = formatCidr(cidr.family, cidr.words, cidr.prefix);
    if (seen.has(canonical)) {
      duplicates++;
      return;
    }
    if (entries.length >= maxEntries) {
      overflow++;
      return;
    }
    seen.add(canonical);
    entries.push(options.tag === undefined ? { cidr: canonical } : { cidr: canonical, tag: options.tag });
  };

  const lines = text.split(/\r?\n/);
  // A final newline does not make a last, empty line.
  const lineCount = lines.length > 0 && lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
  for (let i = 0; i < lineCount; i++) {
    const raw = lines[i]!;
    const number = i + 1;
    if (raw.length > MAX_LINE_CHARS) {
      problem(number, 'line too long', raw);
      continue;
    }
    if (format === 'spamhaus-drop-json') {
      const trimmed = raw.trim();
      if (trimmed === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(trimmed);
      } catch {
        problem(number, 'not JSON', raw);
        continue;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        problem(number, 'not a JSON object', raw);
        continue;
      }
      const record = value as Record<string, unknown>;
      if (record.type === 'metadata') {
        metadata = {
          ...(typeof record.records === 'number' ? { records: record.records } : {}),
          ...(typeof record.timestamp === 'number' ? { timestamp: record.timestamp } : {}),
        };
        continue;
      }
      jsonRecords++;
      if (typeof record.cidr !== 'string') {
        problem(number, 'no "cidr" string', raw);
        continue;
      }
      addCidr(number, record.cidr, raw);
      continue;
    }
    // Text formats: strip a comment (# or ;) and surrounding blanks.
    let end = raw.length;
    const hash = raw.indexOf('#');
    if (hash >= 0) end = hash;
    const semicolon = raw.indexOf(';');
    if (semicolon >= 0 && semicolon < end) end = semicolon;
    const body = raw.slice(0, end).trim();
    if (body === '') continue;
    addCidr(number, body, raw);
  }

  if (overflow > 0) {
    problems.push({
      line: 0,
      reason: `${overflow} entries beyond the limit of ${maxEntries} were dropped`,
      text: '',
    });
  }
  if (metadata?.records !== undefined && metadata.records !== jsonRecords) {
    problems.push({
      line: 0,
      reason: `metadata says ${metadata.records} records, ${jsonRecords} read (truncated download?)`,
      text: '',
    });
  }
  return {
    format,
    entries,
    lines: lineCount,
    invalid,
    problems,
    duplicates,
    normalised,
    ...(metadata === undefined ? {} : { metadata }),
  };
}

/** `auto`: JSON lines when the first non-blank, non-comment line is an object; otherwise plain. */
function resolveFormat(text: string, format: ImportFormat): Exclude<ImportFormat, 'auto'> {
  if (format !== 'auto') return format;
  for (const line of text.split(/\r?\n/, 50)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
    return trimmed.startsWith('{') ? 'spamhaus-drop-json' : 'plain';
  }
  return 'plain';
}
