/**
 * One schema per binary gives the defaults, the `--help` text, the command-line flags and the sample
 * config file; configuration is validated once, at start-up, with a message that names the bad key.
 * Keys are flat camelCase in the file (YAML or JSON) and kebab-case as flags: `dataDir` ⇔ `--data-dir`.
 */
import { readFileSync } from 'node:fs';
import { type Static, type TObject, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Command } from 'commander';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

import { ConfigError, flagName } from './config-error.js';

export { ConfigError, flagName };

/** Schema helpers that always carry a description and a default. */
export const Setting = {
  port: (defaultValue: number, description: string) =>
    Type.Integer({ minimum: 0, maximum: 65535, default: defaultValue, description }),
  int: (defaultValue: number, description: string, minimum = 0, maximum = Number.MAX_SAFE_INTEGER) =>
    Type.Integer({ minimum, maximum, default: defaultValue, description }),
  text: (defaultValue: string, description: string, extra: Record<string, unknown> = {}) =>
    Type.String({ default: defaultValue, description, ...extra }),
  optionalText: (description: string, extra: Record<string, unknown> = {}) =>
    Type.Optional(Type.String({ description, ...extra })),
  bool: (defaultValue: boolean, description: string) => Type.Boolean({ default: defaultValue, description }),
  choice: <T extends string>(values: readonly T[], defaultValue: T, description: string) =>
    Type.Union(
      values.map((v) => Type.Literal(v)),
      { default: defaultValue, description: `${description} (${values.join(' | ')})` },
    ),
};

function describe(schema: TSchema): string {
  return String((schema as { description?: string }).description ?? '');
}

function kindOf(schema: TSchema): 'integer' | 'number' | 'boolean' | 'string' {
  const type = (schema as { type?: string }).type;
  if (type === 'integer' || type === 'number' || type === 'boolean') return type;
  return 'string';
}

/** Adds one `--flag <value>` per schema key to a commander command (no commander defaults: the file
 * must be able to set what a flag does not). */
export function addConfigFlags(command: Command, schema: TObject): Command {
  command.option('-c, --config <file>', 'read settings from a YAML or JSON file (flags win over the file)');
  for (const [key, prop] of Object.entries(schema.properties)) {
    const def = (prop as { default?: unknown }).default;
    const suffix = def === undefined || def === '' ? '' : ` [default: ${JSON.stringify(def)}]`;
    if (kindOf(prop) === 'boolean') {
      command.option(`--${flagName(key)} [bool]`, `${describe(prop)}${suffix}`);
    } else {
      command.option(`--${flagName(key)} <value>`, `${describe(prop)}${suffix}`);
    }
  }
  return command;
}

function coerceFlag(key: string, prop: TSchema, raw: unknown): unknown {
  const kind = kindOf(prop);
  if (typeof raw !== 'string' && typeof raw !== 'boolean') return raw;
  if (kind === 'boolean') {
    if (raw === true || raw === 'true' || raw === '1' || raw === 'yes') return true;
    if (raw === 'false' || raw === '0' || raw === 'no') return false;
    throw new ConfigError(`--${flagName(key)}: expected true or false, got ${JSON.stringify(raw)}`);
  }
  if ((kind === 'integer' || kind === 'number') && typeof raw === 'string') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) {
      throw new ConfigError(`--${flagName(key)}: expected a number, got ${JSON.stringify(raw)}`);
    }
    return n;
  }
  return raw;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(
      `config file ${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path}: expected a mapping of settings at the top level`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Merges defaults < config file < flags, then validates. Throws ConfigError naming the key, its flag,
 * what is accepted and what was given.
 */
export function resolveConfig<S extends TObject>(schema: S, flags: Record<string, unknown>): Static<S> {
  const fromFile = typeof flags.config === 'string' ? readConfigFile(flags.config) : {};
  const merged: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fromFile)) {
    if (!(key in schema.properties)) {
      const known = Object.keys(schema.properties).join(', ');
      throw new ConfigError(`config key "${key}" is not a setting; known settings: ${known}`);
    }
    merged[key] = value;
  }
  for (const [key, prop] of Object.entries(schema.properties)) {
    if (flags[key] !== undefined) merged[key] = coerceFlag(key, prop, flags[key]);
  }
  const withDefaults = Value.Default(schema, merged) as Record<string, unknown>;
  const first = Value.Errors(schema, withDefaults).First();
  if (first) {
    const key = first.path.replace(/^\//, '').split('/')[0] ?? '';
    const prop = schema.properties[key];
    const accepted = prop ? acceptedValues(prop) : '';
    throw new ConfigError(
      `config key "${key}" (--${flagName(key)}): ${first.message}${accepted}; got ${JSON.stringify(first.value)}`,
    );
  }
  return withDefaults as Static<S>;
}

/** The settings given on the command line (not from the file or a default): they win over everything. */
export function explicitKeys(schema: TObject, flags: Record<string, unknown>): Set<string> {
  return new Set(Object.keys(schema.properties).filter((key) => flags[key] !== undefined));
}

function acceptedValues(prop: TSchema): string {
  const p = prop as { anyOf?: { const?: unknown }[]; minimum?: number; maximum?: number };
  if (p.anyOf) return ` (accepted: ${p.anyOf.map((o) => JSON.stringify(o.const)).join(', ')})`;
  if (p.minimum !== undefined || p.maximum !== undefined)
    return ` (accepted: ${p.minimum ?? '…'} to ${p.maximum ?? '…'})`;
  return '';
}

/** A commented YAML file with every setting at its default: `… config sample > agent.yaml`. */
export function sampleConfig(schema: TObject, title: string): string {
  const lines = [
    `# ${title}`,
    '# Every key can also be given as a flag: dataDir ⇔ --data-dir. Flags win.',
    '',
  ];
  for (const [key, prop] of Object.entries(schema.properties)) {
    lines.push(`# ${describe(prop)}`);
    const def = (prop as { default?: unknown }).default;
    if (def === undefined) lines.push(`# ${key}:`);
    else lines.push(stringifyYaml({ [key]: def }).trimEnd());
    lines.push('');
  }
  return lines.join('\n');
}
