/** The privacy settings of `cyberalarm-agent run` compiled into a policy, or a ConfigError naming the key. */
import { ConfigError, flagName } from '../../common/config-error.js';
import type { AgentConfig } from '../config.js';
import { NetworkSet } from './address.js';
import { createMinimisePolicy, type MinimisePolicy, parseAddressOverrides } from './minimise.js';

export type PrivacySettings = Pick<
  AgentConfig,
  | 'privacyInternalAddresses'
  | 'privacyAddressFields'
  | 'privacyNetworks'
  | 'privacyRuleNames'
  | 'privacyInterfaces'
  | 'privacyCategories'
>;

/**
 * What a policy is compiled from, in a form that crosses to a worker thread (`postMessage` cannot
 * carry the compiled policy's classes): the settings and the per-device key.
 */
export interface PrivacyRecipe {
  readonly settings: PrivacySettings;
  readonly key: Uint8Array;
}

/** The privacy keys of a larger settings object, copied (so the recipe holds nothing else). */
export function pickPrivacySettings(values: PrivacySettings): PrivacySettings {
  return {
    privacyInternalAddresses: values.privacyInternalAddresses,
    privacyAddressFields: values.privacyAddressFields,
    privacyNetworks: values.privacyNetworks,
    privacyRuleNames: values.privacyRuleNames,
    privacyInterfaces: values.privacyInterfaces,
    privacyCategories: values.privacyCategories,
  };
}

function bad(key: keyof PrivacySettings, reason: string): ConfigError {
  return new ConfigError(`config key "${key}" (--${flagName(key)}): ${reason}`);
}

/**
 * Checks what the schema cannot (the CIDR list, the field=policy pairs) before `loadKey` runs, so a
 * bad setting stops start-up before anything is created on disk.
 */
export function minimisePolicyFromSettings(
  settings: PrivacySettings,
  loadKey: () => Uint8Array,
): MinimisePolicy {
  const networks = NetworkSet.parse(settings.privacyNetworks);
  if (!networks.ok) throw bad('privacyNetworks', networks.reason);
  const overrides = parseAddressOverrides(settings.privacyAddressFields);
  if (!overrides.ok) throw bad('privacyAddressFields', overrides.reason);
  const all = settings.privacyInternalAddresses;
  return createMinimisePolicy({
    key: loadKey(),
    internalAddresses: { src_ip: all, dst_ip: all, src_nat_ip: all, dst_nat_ip: all, ...overrides.overrides },
    networks: networks.networks,
    rule: settings.privacyRuleNames,
    interface: settings.privacyInterfaces,
    category: settings.privacyCategories,
  });
}
