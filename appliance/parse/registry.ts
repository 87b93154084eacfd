/**
 * Format auto-detection. Nobody tells the appliance which firewall sends to it, so every family's
 * cheap `detect` scores the message and the families are tried from the most to the least confident.
 * A source that has sent one format many times in a row skips detection (the tracker's fast path);
 * a per-source override from config skips it altogether.
 */
import type { ConnectionEvent } from '../../protocol/event.js';
import { FAMILY_NAMES } from './family-names.js';
import { parseSyslogHeader } from './header.js';
import type { ParserFamily, SyslogMessage } from './types.js';

/**
 * Every parser family, in `FAMILY_NAMES` order: `families/<name>.ts` exports `family`, whose `name`
 * must be the file's. Loaded once when this module is (a top-level await, in parallel); a missing
 * file or a wrong name is a programmer error and stops the import.
 */
export const FAMILIES: readonly ParserFamily[] = await Promise.all(
  FAMILY_NAMES.map(async (name) => {
    const { family } = (await import(`./families/${name}.js`)) as { family?: ParserFamily };
    if (family?.name !== name) throw new Error(`families/${name}.ts must export the family named ${name}`);
    return family;
  }),
);

export type MessageResult =
  | {
      readonly ok: true;
      readonly event: ConnectionEvent;
      readonly family: string;
      readonly confidence: number;
    }
  | { readonly ok: false; readonly reason: string };

const FAMILY_BY_NAME: ReadonlyMap<string, ParserFamily> = new Map(FAMILIES.map((f) => [f.name, f]));

export function familyByName(name: string): ParserFamily | undefined {
  return FAMILY_BY_NAME.get(name);
}

const NO_MATCH_REASON = 'no parser matched';
const NO_MATCH: MessageResult = Object.freeze({ ok: false, reason: NO_MATCH_REASON });

// Per-call scratch for detection, reused across lines (parsing is synchronous, never re-entered).
const scores = new Float64Array(FAMILIES.length);
const tried = new Uint8Array(FAMILIES.length);

/**
 * Runs every family's detect, then parses with the most confident first (ties: list order) until
 * one succeeds. The failure reason is the best-scoring family's.
 */
function detectAndParse(msg: SyslogMessage): MessageResult {
  const count = FAMILIES.length;
  let any = false;
  for (let i = 0; i < count; i++) {
    const s = FAMILIES[i]!.detect(msg);
    // biome-ignore lint/complexity/useMathMinMax: a NaN from a buggy detect must become 0, not stay NaN
    scores[i] = s > 0 ? s : 0;
    tried[i] = 0;
    if (s > 0) any = true;
  }
  if (!any) return NO_MATCH;
  let firstReason: string | undefined;
  for (;;) {
    let best = -1;
    let bestScore = 0;
    for (let i = 0; i < count; i++) {
      if (tried[i] === 0 && scores[i]! > bestScore) {
        best = i;
        bestScore = scores[i]!;
      }
    }
    if (best < 0) break;
    tried[best] = 1;
    const family = FAMILIES[best]!;
    const result = family.parse(msg);
    if (result.ok) return { ok: true, event: result.event, family: family.name, confidence: bestScore };
    if (firstReason === undefined) firstReason = result.reason;
  }
  return { ok: false, reason: firstReason ?? NO_MATCH_REASON };
}

function parseWith(family: ParserFamily, msg: SyslogMessage, confidence: number): MessageResult {
  const result = family.parse(msg);
  return result.ok ? { ok: true, event: result.event, family: family.name, confidence } : result;
}

interface SourceFormat {
  family: string;
  /** The detection confidence when the family was last chosen by detection. */
  confidence: number;
  /** Consecutive messages this family parsed. */
  streak: number;
}

const MAX_STREAK = 1_000_000_000;

/**
 * What each source sends, learned from the messages it parsed. Memory is bounded: beyond
 * `maxSources` the least recently seen source is forgotten (a spoofed-address UDP flood cannot grow
 * it). `overrides` (source → family name, from config) pin a source's format: no detection, no
 * fallback, so a misconfigured override shows up as unparsed lines rather than silently working.
 */
export class SourceFormatTracker {
  private readonly sources = new Map<string, SourceFormat>();

  constructor(
    private overrides: ReadonlyMap<string, string> = new Map(),
    readonly maxSources = 4096,
    /** Consecutive successes of one family after which a source skips detection. */
    readonly confidentAfter = 20,
  ) {}

  /**
   * Replaces the pinned formats at run time (the member changed them on the status page); the next
   * message of each source uses them. A source whose pin changed forgets what detection had learned,
   * so it is detected afresh instead of resuming a streak from before the pin.
   */
  setOverrides(overrides: ReadonlyMap<string, string>): void {
    for (const key of new Set([...this.overrides.keys(), ...overrides.keys()])) {
      if (this.overrides.get(key) !== overrides.get(key)) this.sources.delete(key);
    }
    this.lastKey = undefined; // its entry may have been deleted above
    this.lastEntry = undefined;
    this.overrides = overrides;
  }

  /** The configured family name for a source, if any. */
  override(sourceKey: string): string | undefined {
    return this.overrides.size === 0 ? undefined : this.overrides.get(sourceKey);
  }

  /** The source touched last: a firewall sends in bursts, so most lines repeat it. */
  private lastKey: string | undefined;
  private lastEntry: SourceFormat | undefined;

  /** The entry for a source, created if new and marked most recently seen (Map order is LRU order). */
  touch(sourceKey: string): SourceFormat {
    // Already the most recent: moving it to the end of the Map (a delete and a set, which also
    // leaves a hole the Map must compact later) would change nothing.
    if (sourceKey === this.lastKey) return this.lastEntry!;
    const sources = this.sources;
    let entry = sources.get(sourceKey);
    if (entry === undefined) {
      entry = { family: '', confidence: 0, streak: 0 };
      if (sources.size >= this.maxSources) {
        const oldest = sources.keys().next();
        if (!oldest.done) sources.delete(oldest.value);
      }
    } else {
      sources.delete(sourceKey);
    }
    sources.set(sourceKey, entry);
    this.lastKey = sourceKey;
    this.lastEntry = entry;
    return entry;
  }

  /** The family a source is known to send and how sure we are, for the status page. */
  format(sourceKey: string): { family: string; confidence: number } | undefined {
    const forced = this.override(sourceKey);
    if (forced !== undefined) return { family: forced, confidence: 1 };
    const entry = this.sources.get(sourceKey);
    if (entry === undefined || entry.family === '') return undefined;
    return { family: entry.family, confidence: entry.confidence };
  }

  /** True when the source skips detection (its format is confident). */
  isConfident(sourceKey: string): boolean {
    const entry = this.sources.get(sourceKey);
    return entry !== undefined && entry.streak >= this.confidentAfter;
  }

  get size(): number {
    return this.sources.size;
  }
}

function parseTracked(msg: SyslogMessage, tracker: SourceFormatTracker, sourceKey: string): MessageResult {
  const forced = tracker.override(sourceKey);
  if (forced !== undefined) {
    const family = FAMILY_BY_NAME.get(forced);
    return family === undefined
      ? { ok: false, reason: `unknown format ${forced}` }
      : parseWith(family, msg, 1);
  }
  const entry = tracker.touch(sourceKey);
  if (entry.streak >= tracker.confidentAfter) {
    const family = FAMILY_BY_NAME.get(entry.family);
    if (family !== undefined) {
      const result = family.parse(msg);
      if (result.ok) {
        if (entry.streak < MAX_STREAK) entry.streak++;
        return { ok: true, event: result.event, family: family.name, confidence: entry.confidence };
      }
    }
    // The known family refused this line (another message type, or the source changed): detect.
  }
  const result = detectAndParse(msg);
  if (result.ok) {
    if (entry.family === result.family) {
      if (entry.streak < MAX_STREAK) entry.streak++;
    } else {
      entry.family = result.family;
      entry.streak = 1;
    }
    entry.confidence = result.confidence;
  }
  // An unparsed line (sshd chatter between firewall lines) says nothing about the format: the
  // streak stands.
  return result;
}

/**
 * Parses one syslog message: header once, then the source's known family (fast path) or detection.
 * Never throws: a family that throws (a bug) yields `{ ok: false }` with a reason naming the parser.
 */
export function parseMessage(
  raw: string,
  now: Date,
  tracker?: SourceFormatTracker,
  sourceKey?: string,
): MessageResult {
  try {
    const msg = parseSyslogHeader(raw, now);
    if (tracker !== undefined && sourceKey !== undefined) return parseTracked(msg, tracker, sourceKey);
    return detectAndParse(msg);
  } catch {
    return { ok: false, reason: 'parser error' };
  }
}

/** Parses with one named family (`--format NAME`): no detection; confidence is its detect score. */
export function parseWithFamily(raw: string, now: Date, name: string): MessageResult {
  const family = FAMILY_BY_NAME.get(name);
  if (family === undefined) return { ok: false, reason: `unknown format ${name}` };
  try {
    const msg = parseSyslogHeader(raw, now);
    return parseWith(family, msg, family.detect(msg));
  } catch {
    return { ok: false, reason: `parser error: ${name}` };
  }
}

export interface Candidate {
  readonly family: string;
  readonly confidence: number;
  /** `parsed`, the family's refusal reason, or `not tried` (a more confident family parsed first). */
  readonly outcome: string;
}

export interface Explanation {
  readonly header: SyslogMessage;
  /** Every family, most confident first. */
  readonly candidates: readonly Candidate[];
  readonly result: MessageResult;
  readonly why: string;
}

/** What detection saw and decided for one message, for `parse --explain`. Not for the hot path. */
export function explainMessage(raw: string, now: Date): Explanation {
  const header = parseSyslogHeader(raw, now);
  const ranked = FAMILIES.map((family, order) => {
    let confidence = 0;
    try {
      confidence = Math.max(0, family.detect(header));
    } catch {
      confidence = 0;
    }
    return { family, order, confidence };
  }).sort((a, b) => b.confidence - a.confidence || a.order - b.order);
  const candidates: Candidate[] = [];
  let result: MessageResult | undefined;
  const refused: string[] = [];
  for (const { family, confidence } of ranked) {
    if (confidence <= 0 || result !== undefined) {
      candidates.push({
        family: family.name,
        confidence,
        outcome: confidence <= 0 ? 'not detected' : 'not tried',
      });
      continue;
    }
    let outcome: string;
    try {
      const r = family.parse(header);
      if (r.ok) {
        result = { ok: true, event: r.event, family: family.name, confidence };
        outcome = 'parsed';
      } else {
        outcome = r.reason;
        refused.push(`${family.name} (${confidence}) refused: ${r.reason}`);
      }
    } catch {
      outcome = 'parser error';
      refused.push(`${family.name} (${confidence}) threw`);
    }
    candidates.push({ family: family.name, confidence, outcome });
  }
  let why: string;
  if (result?.ok) {
    why = `${result.family} detected the line with confidence ${result.confidence} and parsed it`;
    if (refused.length > 0) why = `${refused.join('; ')}; then ${why}`;
  } else if (refused.length > 0) {
    why = refused.join('; ');
    result = { ok: false, reason: candidates.find((c) => c.confidence > 0)?.outcome ?? NO_MATCH_REASON };
  } else {
    why = 'no family recognised the line';
    result = NO_MATCH;
  }
  return { header, candidates, result, why };
}
