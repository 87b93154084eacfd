import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../common/atomic-file.js';
import {
  INTEL_VERIFY_REASONS,
  type IntelFull,
  type IntelHeld,
  type IntelKeyRing,
  type IntelKind,
  type IntelMessage,
  type IntelVerifyReason,
  intelLimits,
  readIntelEntries,
  verifyIntelMessage,
} from '../../../protocol/intel.js';
import { FAMILY_V4, FAMILY_V6, parseAddressInto } from '../../../protocol/intel-cidr.js';
import { INTEL_LIST_NAME_PATTERN } from '../../../protocol/topics.js';
import { CidrListBuilder, CidrSet, type IntelMatch, NOT_LISTED } from './cidr-set.js';

/**
 * The appliance's threat-intel lists: verifies what central sends (protocol/intel.ts) with
 * central's public keys, applies full snapshots and deltas, keeps the last good messages on disk so
 * a restart matches at once, and answers lookups for the detectors.
 *
 * No MQTT here: the uplink hands each message on `ca/v1/intel/<list>/<kind>` to `receive` (with the
 * list and kind from the topic). No clock either: `now` is passed in.
 *
 * On disk, per list, in `dataDir`: `<list>.full.cbor` (the snapshot's signed envelope, exactly as
 * received) and `<list>.delta.cbor` (the latest delta on top of it). Both are re-verified at load,
 * so a file edited on disk is refused like a forged message, and an expired list is not used.
 * Memory: a list held with a delta keeps two sets, the snapshot's (deltas apply to it) and the
 * current one; about 18 MB each for a million entries (docs/PERFORMANCE.md).
 */

export interface IntelStoreOptions {
  /** Directory for the persisted messages; created (0700) when missing. */
  readonly dataDir: string;
  /** Central's intel signing keys (`intelKeyRing`). */
  readonly keys: IntelKeyRing;
  /** Epoch ms. */
  readonly now: () => number;
  readonly maxAgeMs?: number;
}

/** One list on the status page. Times are ISO 8601; null when unknown. */
export interface IntelListStatus {
  readonly list: string;
  /** Version in use (the snapshot's, or the last delta's); 0 when nothing is held. */
  readonly version: number;
  /** The full snapshot the version builds on. */
  readonly baseVersion: number;
  readonly entries: number;
  readonly issued: string | null;
  readonly expires: string | null;
  /** When this device last changed the list. */
  readonly updatedAt: string | null;
  /** `<reason>: <detail>` of the last refused message for this list, kept until one is applied. */
  readonly lastError: string | null;
  readonly lastErrorAt: string | null;
}

export type IntelReceiveResult =
  | {
      readonly ok: true;
      readonly list: string;
      /** `cleared`: an empty payload, central clearing a retained delta after a new snapshot. */
      readonly action: 'full' | 'delta' | 'duplicate' | 'cleared';
      readonly version: number;
      /** False when applying worked but writing the file did not (lastError says why). */
      readonly persisted: boolean;
    }
  | {
      readonly ok: false;
      readonly list: string | undefined;
      readonly reason: IntelVerifyReason;
      readonly detail: string;
    };

/** Counters for /metrics: messages applied, duplicates, and refusals by reason. */
export interface IntelStoreCounters {
  applied: number;
  duplicates: number;
  persistFailures: number;
  refused: Record<IntelVerifyReason, number>;
}

interface ListState {
  base?: { readonly message: IntelFull; readonly set: CidrSet };
  current?: { readonly message: IntelMessage; readonly set: CidrSet; readonly updatedAt: number };
  lastError?: string;
  lastErrorAt?: number;
}

const FILE_MODE = 0o644; // signed public data, not secret
const fullFile = (list: string) => `${list}.full.cbor`;
const deltaFile = (list: string) => `${list}.delta.cbor`;
const FULL_FILE_PATTERN = new RegExp(`^(${INTEL_LIST_NAME_PATTERN.source.slice(1, -1)})\\.full\\.cbor$`);

/** Priority across lists: a campaign match says most, an untagged one least. */
const MATCH_RANK: Readonly<Record<IntelMatch, number>> = { campaign: 4, scanner: 3, imported: 2, listed: 1 };
const MATCH_BY_CODE: readonly IntelMatch[] = ['listed', 'campaign', 'scanner', 'imported'];
const scratch = new Uint32Array(4);

export class IntelStore {
  private readonly lists = new Map<string, ListState>();
  /** Sets in list-name order, rebuilt when a list changes: the lookup loop touches nothing else. */
  private sets: { readonly list: string; readonly set: CidrSet }[] = [];
  readonly counters: IntelStoreCounters = {
    applied: 0,
    duplicates: 0,
    persistFailures: 0,
    refused: Object.fromEntries(INTEL_VERIFY_REASONS.map((r) => [r, 0])) as Record<IntelVerifyReason, number>,
  };
  /** The last refusal that named no list (a broken envelope on a topic the caller did not name). */
  lastUnattributedError: string | null = null;

  constructor(private readonly options: IntelStoreOptions) {}

  /**
   * Loads the persisted lists (call once at start-up). Returns what happened per file; a refused
   * file is left in place and reported on the list's status.
   */
  load(): IntelReceiveResult[] {
    mkdirSync(this.options.dataDir, { recursive: true, mode: 0o700 });
    const results: IntelReceiveResult[] = [];
    for (const name of readdirSync(this.options.dataDir).sort()) {
      const list = FULL_FILE_PATTERN.exec(name)?.[1];
      if (list === undefined) continue;
      results.push(this.loadFile(list, 'full'));
      if (this.lists.get(list)?.base !== undefined && this.exists(deltaFile(list))) {
        results.push(this.loadFile(list, 'delta'));
      }
    }
    return results;
  }

  /** Verifies and applies one message; `expect` is the list and kind its topic named. Never throws. */
  receive(
    bytes: Uint8Array,
    expect?: { readonly list?: string; readonly kind?: IntelKind },
  ): IntelReceiveResult {
    if (bytes instanceof Uint8Array && bytes.length === 0) {
      // A zero-length retained message deletes the retained one (MQTT 5 §3.3.1.3): central sends it
      // on the delta topic with each new snapshot. Nothing to apply; what is held stays.
      const list = expect?.list ?? '';
      const version = this.lists.get(list)?.current?.message.version ?? 0;
      return { ok: true, list, action: 'cleared', version, persisted: true };
    }
    return this.accept(bytes, expect, true);
  }

  /** The strongest match for an address across all lists (campaign > scanner > imported > listed). */
  readonly lookup = (address: string): IntelMatch | undefined => {
    const family = parseAddressInto(address, scratch);
    if (family !== FAMILY_V4 && family !== FAMILY_V6) return undefined;
    let best: IntelMatch | undefined;
    for (const { set } of this.sets) {
      const code = family === FAMILY_V4 ? set.lookupV4(scratch[0]!) : set.lookupV6(scratch);
      if (code === NOT_LISTED) continue;
      const match = MATCH_BY_CODE[code]!;
      if (best === undefined || MATCH_RANK[match] > MATCH_RANK[best]) best = match;
    }
    return best;
  };

  /** The set of one list, or undefined when it is not held (callers keep it for their hot path). */
  listSet(list: string): CidrSet | undefined {
    return this.sets.find((s) => s.list === list)?.set;
  }

  /** The first list (by name) holding the address, and how it is listed there. */
  lookupList(address: string): { readonly list: string; readonly match: IntelMatch } | undefined {
    for (const { list, set } of this.sets) {
      const match = set.lookup(address);
      if (match !== undefined) return { list, match };
    }
    return undefined;
  }

  status(): IntelListStatus[] {
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    return [...this.lists.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([list, state]) => ({
        list,
        version: state.current?.message.version ?? 0,
        baseVersion: state.base?.message.version ?? 0,
        entries: state.current?.set.size ?? 0,
        issued: state.current?.message.issued ?? null,
        expires: state.current?.message.expires ?? null,
        updatedAt: iso(state.current?.updatedAt),
        lastError: state.lastError ?? null,
        lastErrorAt: iso(state.lastErrorAt),
      }));
  }

  private loadFile(list: string, kind: IntelKind): IntelReceiveResult {
    const path = join(this.options.dataDir, kind === 'full' ? fullFile(list) : deltaFile(list));
    let bytes: Uint8Array;
    try {
      // Never read more than a message may be: the verifier would refuse it anyway.
      if (statSync(path).size > intelLimits.maxMessageBytes) {
        return this.refuse(list, 'too large', `${path} on disk`);
      }
      bytes = readFileSync(path);
    } catch (err) {
      return this.refuse(
        list,
        'malformed',
        `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    return this.accept(bytes, { list, kind }, false);
  }

  private accept(
    bytes: Uint8Array,
    expect: { readonly list?: string; readonly kind?: IntelKind } | undefined,
    persist: boolean,
  ): IntelReceiveResult {
    const now = this.options.now();
    const verified = verifyIntelMessage(bytes, {
      keys: this.options.keys,
      now,
      heldFor: (list) => this.held(list),
      ...(expect === undefined ? {} : { expect }),
      ...(this.options.maxAgeMs === undefined ? {} : { maxAgeMs: this.options.maxAgeMs }),
    });
    const named =
      expect?.list !== undefined && INTEL_LIST_NAME_PATTERN.test(expect.list) ? expect.list : undefined;
    if (!verified.ok) {
      return this.refuse(
        verified.list ?? named,
        verified.reason,
        persist ? verified.detail : `${verified.detail} (from disk)`,
      );
    }
    const message = verified.message;
    if (verified.action === 'duplicate') {
      this.counters.duplicates++;
      return { ok: true, list: message.list, action: 'duplicate', version: message.version, persisted: true };
    }

    const state = this.stateOf(message.list);
    let set: CidrSet;
    if (message.kind === 'full') {
      const builder = new CidrListBuilder();
      readIntelEntries(message, { add: builder });
      set = CidrSet.build(builder);
      state.base = { message, set };
    } else {
      const add = new CidrListBuilder();
      const remove = new CidrListBuilder();
      readIntelEntries(message, { add, remove });
      set = state.base!.set.withChanges(add, remove); // verify checked the base is held
    }
    state.current = { message, set, updatedAt: now };
    delete state.lastError;
    delete state.lastErrorAt;
    this.counters.applied++;
    this.rebuildLookupOrder();

    let persisted = true;
    if (persist) {
      try {
        mkdirSync(this.options.dataDir, { recursive: true, mode: 0o700 });
        const dir = this.options.dataDir;
        if (message.kind === 'full') {
          writeFileAtomic(join(dir, fullFile(message.list)), bytes, FILE_MODE);
          // The old delta built on the old snapshot; a restart must not try it on this one.
          rmSync(join(dir, deltaFile(message.list)), { force: true });
        } else {
          writeFileAtomic(join(dir, deltaFile(message.list)), bytes, FILE_MODE);
        }
      } catch (err) {
        persisted = false;
        this.counters.persistFailures++;
        state.lastError = `persist failed: ${(err as NodeJS.ErrnoException).code ?? 'error'}`;
        state.lastErrorAt = now;
      }
    }
    return { ok: true, list: message.list, action: message.kind, version: message.version, persisted };
  }

  private refuse(list: string | undefined, reason: IntelVerifyReason, detail: string): IntelReceiveResult {
    this.counters.refused[reason]++;
    const text = `${reason}: ${detail}`;
    if (list === undefined) {
      this.lastUnattributedError = text;
    } else {
      const state = this.stateOf(list);
      state.lastError = text;
      state.lastErrorAt = this.options.now();
    }
    return { ok: false, list, reason, detail };
  }

  private held(list: string): IntelHeld | undefined {
    const state = this.lists.get(list);
    if (state?.base === undefined || state.current === undefined) return undefined;
    return { baseVersion: state.base.message.version, version: state.current.message.version };
  }

  private stateOf(list: string): ListState {
    let state = this.lists.get(list);
    if (state === undefined) {
      state = {};
      this.lists.set(list, state);
    }
    return state;
  }

  private rebuildLookupOrder(): void {
    this.sets = [...this.lists.entries()]
      .filter(([, state]) => state.current !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([list, state]) => ({ list, set: state.current!.set }));
  }

  private exists(name: string): boolean {
    try {
      statSync(join(this.options.dataDir, name));
      return true;
    } catch {
      return false;
    }
  }
}
