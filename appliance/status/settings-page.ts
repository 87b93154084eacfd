/**
 * The settings sections of the status page: privacy choices (with what each one sends to the
 * police, in plain words), pinned source formats, and the audit trail of changes. Forms are live
 * only for a signed-in admin; anyone else who may read the page sees them disabled. Everything not
 * written here (source addresses, audit addresses, values typed into a form) is escaped.
 */
import { flagName } from '../../common/config.js';
import { escapeHtml as e } from '../../common/html.js';
import {
  ADDRESS_FIELDS,
  type AddressField,
  FIELD_POLICIES,
  parseAddressOverrides,
} from '../minimise/minimise.js';
import type { SourceStats } from '../pipeline/sources.js';
import type { AuditEntry } from '../settings/audit.js';
import type { MemberKey, SettingsView } from '../settings/member-settings.js';
import { FIELD_INPUT_PREFIX, type SettingsFormState } from './settings-form.js';

type Policy = (typeof FIELD_POLICIES)[number];

interface ChoiceText {
  readonly title: string;
  readonly intro: string;
  readonly choices: Readonly<Record<Policy, string>>;
}

/** What each choice sends to the police. */
const CHOICES: Readonly<
  Record<
    'privacyInternalAddresses' | 'privacyRuleNames' | 'privacyInterfaces' | 'privacyCategories',
    ChoiceText
  >
> = {
  privacyInternalAddresses: {
    title: 'Addresses inside your network',
    intro:
      'The addresses of your own machines (192.168.x.x, 10.x.x.x and the like, plus the networks listed below). Addresses on the internet are always sent as they are: they are what the police look for.',
    choices: {
      pseudonymise:
        'Send a code instead, such as p:k3v9qd2mxa7b. Each machine always gets the same code, so police can tell that one machine made many connections, but not which machine it is. Recommended.',
      keep: 'Send them as they are, e.g. 192.168.1.50. Police can tell you exactly which machine to look at; they also learn how your network is numbered.',
      drop: 'Send nothing in their place. Police see that something inside your network made a connection, but not whether it was one machine or fifty.',
    },
  },
  privacyRuleNames: {
    title: 'Firewall rule names',
    intro: 'The names your staff gave the firewall rules, e.g. “Allow CEO laptop”.',
    choices: {
      pseudonymise:
        'Send a code instead: police can see that the same rule matched again, not what it is called. Recommended.',
      keep: 'Send the names as written.',
      drop: 'Send no rule names.',
    },
  },
  privacyInterfaces: {
    title: 'Interface names',
    intro: 'The names of the firewall’s network ports, e.g. “port3” or “guest-wifi”.',
    choices: {
      pseudonymise:
        'Send a code instead: police can tell interfaces apart, not what they are called. Recommended.',
      keep: 'Send the names as written.',
      drop: 'Send no interface names.',
    },
  },
  privacyCategories: {
    title: 'Threat and signature names',
    intro:
      'The name the firewall gave a detected threat, e.g. “Apache Log4j RCE”. This is the vendor’s text, not yours.',
    choices: {
      keep: 'Send the name (cut short where it would carry addresses, URLs or other detail). Lets police see the same attack across many members. Recommended.',
      pseudonymise: 'Send a code instead: police can group events by it but not read it.',
      drop: 'Send no threat names.',
    },
  },
};

const FIELD_LABELS: Readonly<Record<AddressField, string>> = {
  src_ip: 'Source address (who started the connection)',
  dst_ip: 'Destination address (who was connected to)',
  src_nat_ip: 'Source address after translation (NAT)',
  dst_nat_ip: 'Destination address after translation (NAT)',
};

const POLICY_LABELS: Readonly<Record<Policy, string>> = {
  pseudonymise: 'Send a code',
  keep: 'Send as is',
  drop: 'Do not send',
};

export const SETTINGS_CSS = `form.settings{display:block}fieldset{border:1px solid #d8dee4;border-radius:6px;margin:.6rem 0;padding:.5rem .9rem}
legend{font-weight:600}label.choice{display:block;margin:.3rem 0}.error{color:#842029;font-weight:600}
.origin{color:#57606a;font-size:.85rem;font-weight:400}input[type=text]{padding:.4rem;min-width:18rem}
select{padding:.3rem}td form{flex-wrap:nowrap}`;

export interface SettingsSectionsModel {
  readonly view: SettingsView;
  /** Forms are live only for the admin. */
  readonly canChange: boolean;
  readonly sources: readonly SourceStats[];
  readonly formState?: SettingsFormState;
}

export function renderSettingsSections(model: SettingsSectionsModel): string {
  return [privacySection(model), sourceFormatsSection(model), auditSection(model.view.audit)].join('\n');
}

function originNote(view: SettingsView, key: MemberKey): string {
  const origin = view.origin[key];
  if (origin === 'flag') {
    return ` <span class="origin">set by the operator (--${e(flagName(key))}); this page cannot change it</span>`;
  }
  return origin === 'member'
    ? ' <span class="origin">your choice</span>'
    : ' <span class="origin">the appliance’s default</span>';
}

function fieldError(
  state: SettingsFormState | undefined,
  form: SettingsFormState['form'],
  key: MemberKey,
): string {
  return state?.form === form && state.key === key
    ? `<p class="error" role="alert" data-testid="settings-error">${e(state.error)}</p>`
    : '';
}

function disabledIf(flag: boolean): string {
  return flag ? ' disabled' : '';
}

function privacySection(model: SettingsSectionsModel): string {
  const { view, canChange } = model;
  const state = model.formState?.form === 'privacy' ? model.formState : undefined;
  const submitted = state?.submitted ?? {};
  const value = (key: MemberKey): string => submitted[key] ?? view.values[key];

  const choiceGroup = (key: keyof typeof CHOICES): string => {
    const text = CHOICES[key];
    const current = value(key);
    const locked = view.origin[key] === 'flag';
    const order: readonly Policy[] =
      key === 'privacyCategories' ? ['keep', 'pseudonymise', 'drop'] : ['pseudonymise', 'keep', 'drop'];
    const radios = order
      .map(
        (policy) =>
          `<label class="choice"><input type="radio" name="${key}" value="${policy}"${
            current === policy ? ' checked' : ''
          }${disabledIf(locked)}> <b>${POLICY_LABELS[policy]}.</b> ${text.choices[policy]}</label>`,
      )
      .join('\n');
    return `<fieldset><legend>${text.title}${originNote(view, key)}</legend><p class="muted">${text.intro}</p>
${fieldError(state, 'privacy', key)}${radios}</fieldset>`;
  };

  const perField = fieldChoices(value('privacyAddressFields'), submitted);
  const fieldsLocked = view.origin.privacyAddressFields === 'flag';
  const fieldRows = ADDRESS_FIELDS.map((field) => {
    const chosen = perField[field] ?? '';
    const options = [
      `<option value=""${chosen === '' ? ' selected' : ''}>as above</option>`,
      ...FIELD_POLICIES.map(
        (p) => `<option value="${p}"${chosen === p ? ' selected' : ''}>${POLICY_LABELS[p]}</option>`,
      ),
    ].join('');
    return `<tr><td>${FIELD_LABELS[field]}</td><td><select name="${FIELD_INPUT_PREFIX}${field}" aria-label="${e(
      FIELD_LABELS[field],
    )}"${disabledIf(fieldsLocked)}>${options}</select></td></tr>`;
  }).join('');

  const networksLocked = view.origin.privacyNetworks === 'flag';
  return `<section id="privacy"><h2>Privacy: what this box sends to the police</h2>
<p>Every connection your firewall logs is cut down here, before it is stored or sent, to the time,
the addresses and ports, the protocol, what the firewall did, and the labels below. Message text,
user names, web addresses and payloads are never sent. These choices decide how much of your own
network the police can see. A change applies from the next connection logged; what was already
sent stays as it was.</p>
${state && state.key === undefined ? `<p class="error" role="alert" data-testid="settings-error">${e(state.error)}</p>` : ''}
<form method="post" action="/settings/privacy" class="settings" data-testid="privacy-form">
<fieldset${disabledIf(!canChange)} style="border:0;padding:0;margin:0">
${choiceGroup('privacyInternalAddresses')}
<fieldset><legend>Exceptions for one kind of address${originNote(view, 'privacyAddressFields')}</legend>
<p class="muted">Optional: treat one address field differently from the choice above, e.g. send
destination addresses as they are but codes for sources.</p>
${fieldError(state, 'privacy', 'privacyAddressFields')}
<table><tbody>${fieldRows}</tbody></table></fieldset>
<fieldset><legend>Your own public networks${originNote(view, 'privacyNetworks')}</legend>
<p class="muted">Address ranges that are yours but on the internet (the block your provider gave you).
Listed here, they are treated like inside addresses, so the choice above applies to them too;
otherwise they are sent as they are, like every internet address. Ranges separated by commas,
e.g. 203.0.113.0/28, 2001:db8:1::/48.</p>
${fieldError(state, 'privacy', 'privacyNetworks')}
<input type="text" name="privacyNetworks" value="${e(value('privacyNetworks'))}" aria-label="your own public networks"${disabledIf(
    networksLocked,
  )}></fieldset>
${choiceGroup('privacyRuleNames')}
${choiceGroup('privacyInterfaces')}
${choiceGroup('privacyCategories')}
${canChange ? '<button type="submit">Save privacy choices</button>' : '<p class="muted">Sign in with the admin password to change these.</p>'}
</fieldset></form></section>`;
}

/** The per-field selects' values: as submitted after an error, else from the setting's text. */
function fieldChoices(
  text: string,
  submitted: Readonly<Record<string, string>>,
): Partial<Record<AddressField, string>> {
  const out: Partial<Record<AddressField, string>> = {};
  const parsed = parseAddressOverrides(text);
  if (parsed.ok) Object.assign(out, parsed.overrides);
  for (const field of ADDRESS_FIELDS) {
    const given = submitted[`${FIELD_INPUT_PREFIX}${field}`];
    if (given !== undefined) out[field] = given;
  }
  return out;
}

function sourceFormatsSection(model: SettingsSectionsModel): string {
  const { view, canChange } = model;
  const state = model.formState?.form === 'sources' ? model.formState : undefined;
  const locked = view.origin.formatOverrides === 'flag';
  const live = canChange && !locked;
  const pinned = new Map(Object.entries(view.formatOverrides));
  const seen = new Map(model.sources.map((s) => [s.source, s] as const));
  const rows: string[] = [];
  const select = (source: string, chosen: string): string => {
    const options = [
      `<option value=""${chosen === '' ? ' selected' : ''}>detect automatically</option>`,
      ...view.familyNames.map(
        (f) => `<option value="${e(f)}"${chosen === f ? ' selected' : ''}>${e(f)}</option>`,
      ),
    ].join('');
    return `<select name="format" aria-label="format for ${e(source)}"${disabledIf(!live)}>${options}</select>`;
  };
  const addresses = [...new Set([...seen.keys(), ...pinned.keys()])];
  for (const source of addresses) {
    const stats = seen.get(source);
    const pin = pinned.get(source) ?? '';
    let detected = 'not recognised yet';
    if (stats === undefined) detected = 'not seen yet';
    else if (pin !== '') detected = `pinned to ${e(pin)}`;
    else if (stats.format) detected = e(stats.format);
    // Only real addresses can be pinned (not the overflow bucket of a spoofed-address flood).
    const pinnable = /^[0-9a-fA-F:.]+$/.test(source);
    const form = pinnable
      ? `<form method="post" action="/settings/sources"><input type="hidden" name="source" value="${e(source)}">${select(
          source,
          pin,
        )}${live ? '<button type="submit">Save</button>' : ''}</form>`
      : '—';
    rows.push(`<tr><td>${e(source)}</td><td>${detected}</td><td>${form}</td></tr>`);
  }
  const addForm = live
    ? `<form method="post" action="/settings/sources"><input type="text" name="source" value="${e(
        state?.submitted.source ?? '',
      )}" aria-label="address of another source" placeholder="address, e.g. 192.0.2.1">${select(
        'another source',
        state?.submitted.format ?? '',
      )}<button type="submit">Pin</button></form>`
    : '';
  return `<section id="source-formats"><h2>Source formats${originNote(view, 'formatOverrides')}</h2>
<p>The appliance recognises each firewall's log format by itself. If it gets one wrong, pin the
right format here: that source is then read with that format only, from its next message (lines
it cannot read show as unparsed above, rather than being guessed).</p>
${state ? `<p class="error" role="alert" data-testid="settings-error">${e(state.error)}</p>` : ''}
${rows.length > 0 ? `<table><thead><tr><th>source</th><th>format now</th><th>pin the format</th></tr></thead><tbody>${rows.join('')}</tbody></table>` : '<p class="muted">No sources seen yet.</p>'}
${addForm}${canChange ? '' : '<p class="muted">Sign in with the admin password to change these.</p>'}</section>`;
}

function auditSection(audit: readonly AuditEntry[]): string {
  if (audit.length === 0) {
    return `<section id="audit"><h2>Changes made on this page</h2><p class="muted">None yet. Every
change to the privacy choices or source formats is recorded here and in audit.jsonl on the appliance.</p></section>`;
  }
  const shown = (setting: string, v: string) =>
    v === '' ? (setting.startsWith('formatOverrides[') ? 'detect automatically' : '(empty)') : v;
  const rows = audit
    .map(
      (a) =>
        `<tr><td>${e(a.ts)}</td><td>${e(a.who)} from ${e(a.address)}</td><td>${e(a.what)}</td><td>${a.changes
          .map((c) => `${e(c.setting)}: ${e(shown(c.setting, c.from))} → ${e(shown(c.setting, c.to))}`)
          .join('<br>')}</td></tr>`,
    )
    .join('');
  return `<section id="audit"><h2>Changes made on this page</h2>
<table data-testid="audit-trail"><thead><tr><th>when</th><th>who</th><th>what</th><th>change</th></tr></thead><tbody>${rows}</tbody></table>
<p class="muted">The latest ${audit.length}; all of them are in audit.jsonl on the appliance.</p></section>`;
}
