/**
 * The `formatOverrides` setting: `ADDRESS=FAMILY` pairs separated by commas (or spaces) that pin a
 * source's format, for a sender detection gets wrong. Checked once at start-up against the registry.
 */
import { ConfigError } from '../../common/config.js';
import { canonicalSourceKey } from '../ingest/address.js';

const KEY = 'config key "formatOverrides" (--format-overrides)';

/** Source key → family name. Throws ConfigError naming the key, the bad entry and the valid names. */
export function parseFormatOverrides(text: string, familyNames: readonly string[]): Map<string, string> {
  const overrides = new Map<string, string>();
  const known = new Set(familyNames);
  for (const entry of text.split(/[\s,]+/)) {
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    if (eq < 0) throw new ConfigError(`${KEY}: expected ADDRESS=FORMAT, got ${JSON.stringify(entry)}`);
    const address = entry.slice(0, eq);
    const family = entry.slice(eq + 1);
    const source = canonicalSourceKey(address);
    if (source === undefined) {
      throw new ConfigError(`${KEY}: ${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
    }
    if (!known.has(family)) {
      throw new ConfigError(
        `${KEY}: unknown format ${JSON.stringify(family)} for ${address}; accepted: ${familyNames.join(', ')}`,
      );
    }
    const previous = overrides.get(source);
    if (previous !== undefined && previous !== family) {
      throw new ConfigError(`${KEY}: ${address} is given two formats (${previous} and ${family})`);
    }
    overrides.set(source, family);
  }
  return overrides;
}
