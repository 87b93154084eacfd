/** Vendors' action words, folded into the event's five actions. */
import type { Action } from '../../../protocol/event.js';

const ACTION_WORDS: Readonly<Record<string, Action>> = {
  allow: 'allow',
  allowed: 'allow',
  accept: 'allow',
  accepted: 'allow',
  permit: 'allow',
  permitted: 'allow',
  pass: 'allow',
  passed: 'allow',
  built: 'allow',
  teardown: 'allow',
  close: 'allow',
  start: 'allow',
  deny: 'deny',
  denied: 'deny',
  block: 'deny',
  blocked: 'deny',
  drop: 'drop',
  dropped: 'drop',
  discard: 'drop',
  discarded: 'drop',
  reject: 'reject',
  rejected: 'reject',
  'reset-both': 'reject',
  'reset-client': 'reject',
  'reset-server': 'reject',
};

/** Folds a vendor's action word into our five actions; `other` for anything unknown. */
export function normaliseAction(value: string | undefined): Action {
  if (value === undefined) return 'other';
  return ACTION_WORDS[value.trim().toLowerCase()] ?? 'other';
}

/**
 * Action words that vendors use beyond the common ones `normaliseAction` knows. Each maps by the
 * vendor's meaning: a threat log that only observed (`alert`, `detect`, `monitor`) is `other`; one
 * that stopped the traffic is `deny`/`drop`/`reject`.
 */
const EXTRA_ACTIONS: Readonly<Record<string, Action>> = {
  // FortiOS: a finished session that the policy accepted.
  timeout: 'allow',
  'server-rst': 'allow',
  'client-rst': 'allow',
  passthrough: 'allow',
  // Palo Alto / Check Point / FTD.
  'drop icmp': 'drop',
  'drop-icmp': 'drop',
  'drop-all-packets': 'drop',
  'drop-all': 'drop',
  'random-drop': 'drop',
  'reset both': 'reject',
  'reset client': 'reject',
  'reset server': 'reject',
  reset: 'reject',
  'block-ip': 'deny',
  'block-url': 'deny',
  'block-override': 'deny',
  'block with reset': 'reject',
  'interactive block': 'deny',
  'interactive block with reset': 'reject',
  prevent: 'deny',
  prevented: 'deny',
  trust: 'allow',
  trusted: 'allow',
  fastpath: 'allow',
  continue: 'allow',
  'block-continue': 'deny',
  override: 'allow',
  encrypt: 'allow',
  decrypt: 'allow',
  'would block': 'other',
  'would drop': 'other',
  sinkhole: 'deny',
  'est-allowed': 'allow',
};

/** `normaliseAction` extended with the vendor words above; `other` for anything else. */
export function vendorAction(word: string | undefined): Action {
  if (word === undefined) return 'other';
  const common = normaliseAction(word);
  if (common !== 'other') return common;
  return EXTRA_ACTIONS[word.trim().toLowerCase()] ?? 'other';
}
