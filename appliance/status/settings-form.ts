/**
 * Reading the status page's settings forms (urlencoded bodies: hostile until checked) into the
 * member-settings keys. Only the shape is checked here; the values go through the config's own
 * validation in `MemberSettings.apply`.
 */
import { ADDRESS_FIELDS, FIELD_POLICIES, type FieldPolicy } from '../minimise/minimise.js';
import type { MemberKey } from '../settings/member-settings.js';

export type FormBody = Readonly<Record<string, unknown>> | undefined;

/** A form's outcome to show back on the page: the error beside its field, the values as submitted. */
export interface SettingsFormState {
  readonly form: 'privacy' | 'sources';
  readonly error: string;
  readonly key?: MemberKey;
  readonly submitted: Readonly<Record<string, string>>;
}

export type FormResult =
  | {
      readonly ok: true;
      readonly changes: Partial<Record<MemberKey, string>>;
      readonly submitted: Record<string, string>;
    }
  | {
      readonly ok: false;
      readonly key: MemberKey;
      readonly reason: string;
      readonly submitted: Record<string, string>;
    };

/** The privacy form's single-choice keys (radio groups named after the config key). */
export const PRIVACY_CHOICE_KEYS = [
  'privacyInternalAddresses',
  'privacyRuleNames',
  'privacyInterfaces',
  'privacyCategories',
] as const;
/** The per-address-field selects are named `field_<FIELD>`; '' means "as for internal addresses". */
export const FIELD_INPUT_PREFIX = 'field_';
const MAX_TEXT = 4096;

/**
 * Absent inputs are "no change" (a key set by a flag is rendered disabled, so it is not submitted).
 * The per-field selects are composed into `privacyAddressFields` only after each is checked against
 * the policy names, so no select can smuggle extra `FIELD=POLICY` pairs into the text.
 */
export function readPrivacyForm(body: FormBody): FormResult {
  const submitted: Record<string, string> = {};
  const changes: Partial<Record<MemberKey, string>> = {};
  const fail = (key: MemberKey, reason: string): FormResult => ({ ok: false, key, reason, submitted });
  for (const key of [...PRIVACY_CHOICE_KEYS, 'privacyNetworks'] as const) {
    const value = body?.[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length > MAX_TEXT) return fail(key, 'give one value');
    submitted[key] = value;
    changes[key] = key === 'privacyNetworks' ? value.trim() : value;
  }
  const pairs: string[] = [];
  let anyField = false;
  for (const field of ADDRESS_FIELDS) {
    const name = `${FIELD_INPUT_PREFIX}${field}`;
    const value = body?.[name];
    if (value === undefined) continue;
    anyField = true;
    if (typeof value !== 'string') return fail('privacyAddressFields', `${field}: give one value`);
    submitted[name] = value;
    if (value === '') continue;
    if (!FIELD_POLICIES.includes(value as FieldPolicy)) {
      return fail(
        'privacyAddressFields',
        `${field}: ${JSON.stringify(value)} is not one of ${FIELD_POLICIES.join(', ')}`,
      );
    }
    pairs.push(`${field}=${value}`);
  }
  if (anyField) changes.privacyAddressFields = pairs.join(',');
  return { ok: true, changes, submitted };
}

export type SourceFormResult =
  | {
      readonly ok: true;
      readonly source: string;
      readonly format: string;
      readonly submitted: Record<string, string>;
    }
  | { readonly ok: false; readonly reason: string; readonly submitted: Record<string, string> };

/** `source` (an address) and `format` (a family name, or '' to detect automatically). */
export function readSourceForm(body: FormBody): SourceFormResult {
  const source = body?.source;
  const format = body?.format ?? '';
  const submitted: Record<string, string> = {};
  if (typeof source === 'string') submitted.source = source;
  if (typeof format === 'string') submitted.format = format;
  if (typeof source !== 'string' || source.trim() === '' || source.length > 100) {
    return { ok: false, reason: 'give the address of one log source', submitted };
  }
  if (typeof format !== 'string' || format.length > 100) {
    return { ok: false, reason: 'choose one format', submitted };
  }
  return { ok: true, source: source.trim(), format, submitted };
}
