/**
 * The agent's `detect*` settings (appliance/config.ts) as engine options, checked once at start-up:
 * a bad ignore list or an unknown detector name is a message naming the key, not a silent no-op.
 */

import { DETECTOR_NAMES } from './detectors/index.js';
import type { EngineOptions } from './engine.js';
import { parseIgnoreList } from './ignore-list.js';

export interface DetectSettings {
  readonly detectEnabled: boolean;
  readonly detectDisabled: string;
  readonly detectIgnore: string;
  readonly detectMaxTrackedSources: number;
}

export type DetectOptionsResult =
  | { readonly ok: true; readonly enabled: boolean; readonly options: EngineOptions }
  | { readonly ok: false; readonly key: keyof DetectSettings; readonly reason: string };

/**
 * `pseudonymise` turns an internal address on the ignore list into the pseudonym detection will see
 * (the minimise policy's `pseudonyms`), so a member can list their scanner by its real address.
 */
export function detectOptions(
  settings: DetectSettings,
  pseudonymise?: (address: string) => string | undefined,
): DetectOptionsResult {
  const disabled = settings.detectDisabled.split(/[\s,]+/).filter((n) => n !== '');
  for (const name of disabled) {
    if (!DETECTOR_NAMES.includes(name))
      return {
        ok: false,
        key: 'detectDisabled',
        reason: `"${name}" is not a detector (${DETECTOR_NAMES.join(', ')})`,
      };
  }
  const ignore = parseIgnoreList(settings.detectIgnore, pseudonymise);
  if (!ignore.ok) return { ok: false, key: 'detectIgnore', reason: ignore.reason };
  return {
    ok: true,
    enabled: settings.detectEnabled,
    options: {
      enabled: DETECTOR_NAMES.filter((n) => !disabled.includes(n)),
      ignore: ignore.list,
      maxTrackedSources: settings.detectMaxTrackedSources,
    },
  };
}
