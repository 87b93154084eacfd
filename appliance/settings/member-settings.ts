/**
 * What the member changes on the status page (privacy choices, pinned source formats), kept in
 * `<dataDir>/member-settings.json` (mode 0600, written atomically) and applied live.
 *
 * Precedence, per key, lowest first:
 *   1. the schema default and the config file: what the image (or the installer) ships;
 *   2. the member's choice on the status page: it is their data, so it beats the image's defaults;
 *   3. an explicit command-line flag: the operator pinned it on purpose (a support case, a site
 *      policy), so it beats both, and the page shows it as "set by the operator" and cannot change it.
 * A member value equal to the layer below is not stored, so "back to the default" forgets the key
 * and a later image default applies again. A member choice under a flag is kept, dormant, and comes
 * back if the flag goes. `formatOverrides` is one key: the member's page edits the whole list.
 *
 * Validation is the config's own (`minimisePolicyFromSettings`, `parseFormatOverrides`): a change is
 * compiled completely before anything is written or swapped in, so a refused change alters nothing.
 * A damaged or invalid file stops start-up with a message naming it, as a bad config file does:
 * silently falling back to the defaults could send more than the member chose to send.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { writeFileAtomic } from '../../common/atomic-file.js';
import { ConfigError, flagName } from '../../common/config.js';
import { type AgentConfig, AgentConfigSchema } from '../config.js';
import { canonicalSourceKey } from '../ingest/address.js';
import type { MinimisePolicy } from '../minimise/minimise.js';
import {
  minimisePolicyFromSettings,
  type PrivacyRecipe,
  pickPrivacySettings,
} from '../minimise/policy-config.js';
import { parseFormatOverrides } from '../parse/format-overrides.js';
import { type AuditChange, type AuditEntry, AuditTrail } from './audit.js';

export const MEMBER_SETTINGS_FILE = 'member-settings.json';

export const PRIVACY_KEYS = [
  'privacyInternalAddresses',
  'privacyAddressFields',
  'privacyNetworks',
  'privacyRuleNames',
  'privacyInterfaces',
  'privacyCategories',
] as const;
export const MEMBER_KEYS = [...PRIVACY_KEYS, 'formatOverrides'] as const;
export type MemberKey = (typeof MEMBER_KEYS)[number];
export type MemberValues = Pick<AgentConfig, MemberKey>;
/** Where a key's value comes from: the config file or its default, the member's page, or a flag. */
export type SettingOrigin = 'config' | 'member' | 'flag';

const KEY_SET: ReadonlySet<string> = new Set(MEMBER_KEYS);
const PROPERTY_SCHEMA = AgentConfigSchema.properties as Record<MemberKey, TSchema>;
const VALUES_SCHEMA = Type.Object(Object.fromEntries(MEMBER_KEYS.map((k) => [k, PROPERTY_SCHEMA[k]])), {
  additionalProperties: false,
});

export interface CompiledSettings {
  readonly privacy: MinimisePolicy;
  /** What `privacy` was compiled from, for the parse worker threads. */
  readonly privacyRecipe: PrivacyRecipe;
  /** Source key → family name. */
  readonly formatOverrides: ReadonlyMap<string, string>;
}

/** What changed after an accepted apply: only the parts that did (the pipeline swaps those). */
export interface AppliedChange {
  readonly privacy?: MinimisePolicy;
  /** Present with `privacy`. */
  readonly privacyRecipe?: PrivacyRecipe;
  readonly formatOverrides?: ReadonlyMap<string, string>;
  readonly changes: readonly AuditChange[];
}

export type ApplyResult =
  | {
      readonly ok: true;
      /** Empty: the submitted values were the current ones; nothing was written. */
      readonly changes: readonly AuditChange[];
      /** The change is saved and live, but the audit line could not be written (disk full…). */
      readonly auditError?: string;
    }
  | { readonly ok: false; readonly key?: MemberKey; readonly reason: string };

export interface SettingsView {
  readonly values: Readonly<MemberValues>;
  readonly origin: Readonly<Record<MemberKey, SettingOrigin>>;
  /** The effective pinned formats, source key → family. */
  readonly formatOverrides: Readonly<Record<string, string>>;
  readonly familyNames: readonly string[];
  /** Newest first. */
  readonly audit: readonly AuditEntry[];
}

export interface MemberSettingsOptions {
  readonly dataDir: string;
  /** The resolved configuration: defaults < config file < flags. */
  readonly config: MemberValues;
  /** Keys given explicitly as command-line flags (they win over the member's page). */
  readonly explicitKeys?: ReadonlySet<string>;
  readonly familyNames: readonly string[];
  /** The per-device pseudonym secret; called once, after the settings are validated. */
  readonly loadKey: () => Uint8Array;
  readonly now?: () => number;
}

type Values = Record<MemberKey, string>;

interface MemberSettingsFile {
  readonly v: 1;
  readonly updatedAt: string;
  readonly settings: Partial<Values>;
}

/** Compiles settings with the config's own parsers; throws ConfigError naming the first bad key. */
export function compileSettings(
  values: MemberValues,
  familyNames: readonly string[],
  loadKey: () => Uint8Array,
): CompiledSettings {
  const formatOverrides = parseFormatOverrides(values.formatOverrides, familyNames);
  let key: Uint8Array | undefined;
  // The key is loaded only once the settings are valid (minimisePolicyFromSettings checks first).
  const privacy = minimisePolicyFromSettings(values, () => {
    key = loadKey();
    return key;
  });
  return { privacy, privacyRecipe: { settings: pickPrivacySettings(values), key: key! }, formatOverrides };
}

/** `ADDRESS=FAMILY,…` in the config's syntax, sorted so the same map always reads the same. */
export function formatOverridesText(overrides: ReadonlyMap<string, string>): string {
  return [...overrides]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([source, family]) => `${source}=${family}`)
    .join(',');
}

export class MemberSettings {
  private readonly path: string;
  private readonly base: Values;
  private readonly explicit: ReadonlySet<string>;
  private readonly familyNames: readonly string[];
  private readonly loadKey: () => Uint8Array;
  private readonly now: () => number;
  private readonly audit: AuditTrail;
  private key: Uint8Array | undefined;
  private member: Partial<Values>;
  private values: Values;
  private origin: Record<MemberKey, SettingOrigin>;
  private compiled: CompiledSettings;
  private readonly listeners: ((applied: AppliedChange) => void)[] = [];

  /** Reads, layers and compiles. Throws ConfigError naming the file and key when they are bad. */
  constructor(options: MemberSettingsOptions) {
    this.path = join(options.dataDir, MEMBER_SETTINGS_FILE);
    this.base = pickValues(options.config);
    this.explicit = options.explicitKeys ?? new Set();
    this.familyNames = options.familyNames;
    this.loadKey = () => {
      this.key ??= options.loadKey();
      return this.key;
    };
    this.now = options.now ?? Date.now;
    this.member = readMemberFile(this.path);
    const layered = this.layer(this.member);
    this.values = layered.values;
    this.origin = layered.origin;
    try {
      this.compiled = compileSettings(this.values as MemberValues, this.familyNames, this.loadKey);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const key = keyOf(err);
      if (key === undefined || this.origin[key] !== 'member') throw err;
      throw new ConfigError(
        `${this.path} (saved from the status page): ${err.message}; correct or remove the key to use the configured value`,
      );
    }
    this.audit = new AuditTrail(options.dataDir);
  }

  /** The policy and overrides in force now. */
  get current(): CompiledSettings {
    return this.compiled;
  }

  /** Called after every accepted change, with the parts that changed, before `apply` returns. */
  onApplied(listener: (applied: AppliedChange) => void): void {
    this.listeners.push(listener);
  }

  view(): SettingsView {
    return {
      values: { ...this.values } as MemberValues,
      origin: { ...this.origin },
      formatOverrides: Object.fromEntries(this.compiled.formatOverrides),
      familyNames: this.familyNames,
      audit: this.audit.recent(),
    };
  }

  /**
   * Validates `changes` together with the unchanged keys, then saves, swaps and audits them, or
   * returns why not with nothing changed. `address` is the browser's, for the audit trail.
   */
  apply(what: AuditEntry['what'], changes: Partial<Values>, address: string): ApplyResult {
    const candidate: Values = { ...this.values };
    for (const [key, value] of Object.entries(changes) as [MemberKey, string | undefined][]) {
      if (!KEY_SET.has(key)) throw new TypeError(`not a member setting: ${key}`);
      if (value === undefined || value === this.values[key]) continue;
      if (this.origin[key] === 'flag') {
        return {
          ok: false,
          key,
          reason: `set by the operator with --${flagName(key)}; this page cannot change it`,
        };
      }
      candidate[key] = value;
    }
    const schemaError = Value.Errors(VALUES_SCHEMA, candidate).First();
    if (schemaError) {
      const key = schemaError.path.split('/')[1] as MemberKey;
      return { ok: false, key, reason: `${JSON.stringify(schemaError.value)} is not an accepted value` };
    }
    const changedKeys = MEMBER_KEYS.filter((k) => candidate[k] !== this.values[k]);
    if (changedKeys.length === 0) return { ok: true, changes: [] };
    let compiled: CompiledSettings;
    try {
      compiled = compileSettings(candidate as MemberValues, this.familyNames, this.loadKey);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const key = keyOf(err);
      return { ok: false, ...(key && { key }), reason: withoutKeyPrefix(err.message) };
    }

    const member: Partial<Values> = {};
    for (const k of MEMBER_KEYS) {
      if (this.origin[k] === 'flag') {
        if (this.member[k] !== undefined) member[k] = this.member[k];
      } else if (candidate[k] !== this.base[k]) {
        member[k] = candidate[k];
      }
    }
    const file: MemberSettingsFile = {
      v: 1,
      updatedAt: new Date(this.now()).toISOString(),
      settings: member,
    };
    try {
      writeFileAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`, 0o600);
    } catch (err) {
      return { ok: false, reason: `could not save the settings: ${(err as Error).message}` };
    }

    const auditChanges: AuditChange[] = [];
    for (const k of changedKeys) {
      if (k === 'formatOverrides') {
        const before = this.compiled.formatOverrides;
        const after = compiled.formatOverrides;
        for (const source of new Set([...before.keys(), ...after.keys()])) {
          const from = before.get(source) ?? '';
          const to = after.get(source) ?? '';
          if (from !== to) auditChanges.push({ setting: `formatOverrides[${source}]`, from, to });
        }
      } else {
        auditChanges.push({ setting: k, from: this.values[k], to: candidate[k] });
      }
    }
    const privacyChanged = changedKeys.some((k) => k !== 'formatOverrides');
    const overridesChanged = auditChanges.some((c) => c.setting.startsWith('formatOverrides['));
    const previous = this.compiled;
    this.member = member;
    this.values = candidate;
    this.origin = this.layer(member).origin;
    // The policy is swapped only when it changed: a new one starts with an empty pseudonym cache.
    this.compiled = {
      privacy: privacyChanged ? compiled.privacy : previous.privacy,
      privacyRecipe: privacyChanged ? compiled.privacyRecipe : previous.privacyRecipe,
      formatOverrides: compiled.formatOverrides,
    };
    const applied: AppliedChange = {
      ...(privacyChanged && { privacy: compiled.privacy, privacyRecipe: compiled.privacyRecipe }),
      ...(overridesChanged && { formatOverrides: compiled.formatOverrides }),
      changes: auditChanges,
    };
    for (const listener of this.listeners) listener(applied);

    try {
      this.audit.append({
        ts: new Date(this.now()).toISOString(),
        who: 'admin',
        address,
        what,
        changes: auditChanges,
      });
    } catch (err) {
      return { ok: true, changes: auditChanges, auditError: (err as Error).message };
    }
    return { ok: true, changes: auditChanges };
  }

  /** Pins one source's format (`family` a registry name) or, with `family` '', lets detection decide. */
  setSourceFormat(source: string, family: string, address: string): ApplyResult {
    let key: string | undefined;
    try {
      key = canonicalSourceKey(source);
    } catch {
      key = undefined;
    }
    if (key === undefined) {
      return {
        ok: false,
        key: 'formatOverrides',
        reason: `${JSON.stringify(source)} is not an IPv4 or IPv6 address`,
      };
    }
    if (family !== '' && !this.familyNames.includes(family)) {
      return { ok: false, key: 'formatOverrides', reason: `unknown format ${JSON.stringify(family)}` };
    }
    const next = new Map(this.compiled.formatOverrides);
    if (family === '') next.delete(key);
    else next.set(key, family);
    return this.apply('sources', { formatOverrides: formatOverridesText(next) }, address);
  }

  private layer(member: Partial<Values>): { values: Values; origin: Record<MemberKey, SettingOrigin> } {
    const values = { ...this.base };
    const origin = {} as Record<MemberKey, SettingOrigin>;
    for (const k of MEMBER_KEYS) {
      const mine = member[k];
      if (this.explicit.has(k)) origin[k] = 'flag';
      else if (mine !== undefined && mine !== this.base[k]) {
        values[k] = mine;
        origin[k] = 'member';
      } else origin[k] = 'config';
    }
    return { values, origin };
  }
}

function pickValues(config: MemberValues): Values {
  return Object.fromEntries(MEMBER_KEYS.map((k) => [k, config[k]])) as Values;
}

function keyOf(err: ConfigError): MemberKey | undefined {
  const key = /config key "(\w+)"/.exec(err.message)?.[1];
  return key !== undefined && KEY_SET.has(key) ? (key as MemberKey) : undefined;
}

/** `config key "x" (--x): reason` → `reason`: the form shows the reason beside its own field. */
function withoutKeyPrefix(message: string): string {
  return message.replace(/^config key "\w+" \([^)]*\):\s*/, '');
}

function readMemberFile(path: string): Partial<Values> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(`${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(
      `${path} (saved from the status page) is not valid JSON: ${(err as Error).message}; remove it to use the configured settings`,
    );
  }
  const file = parsed as Partial<MemberSettingsFile> | null;
  if (
    typeof file !== 'object' ||
    file === null ||
    file.v !== 1 ||
    typeof file.settings !== 'object' ||
    file.settings === null
  ) {
    throw new ConfigError(
      `${path} (saved from the status page) is not a member settings file (expected {"v":1,"settings":{…}}); remove it to use the configured settings`,
    );
  }
  const settings: Partial<Values> = {};
  for (const [key, value] of Object.entries(file.settings)) {
    if (!KEY_SET.has(key)) {
      throw new ConfigError(
        `${path}: "${key}" cannot be set from the status page (accepted: ${MEMBER_KEYS.join(', ')})`,
      );
    }
    if (!Value.Check(PROPERTY_SCHEMA[key as MemberKey], value)) {
      throw new ConfigError(
        `${path}: config key "${key}": ${JSON.stringify(value)} is not an accepted value`,
      );
    }
    settings[key as MemberKey] = value as string;
  }
  return settings;
}
