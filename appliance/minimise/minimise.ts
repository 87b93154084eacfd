/**
 * The privacy boundary: every parsed event passes through `minimise` before anything is stored or
 * sent. What leaves is only the allow-listed metadata of `ConnectionEventSchema` (its field names
 * and limits come from `protocol/event-fields.ts`, which the schema is built from), with
 *
 * - internal addresses (RFC 1918, CGNAT, link-local, ULA, loopback and the member's own listed
 *   networks) pseudonymised by default, kept or dropped if the member chooses, per field; external
 *   addresses kept as they are, since they are what police need; anything in an address field that
 *   is not an address (a host name, a parser slip) dropped and counted;
 * - the member-authored free text among the allowed fields (rule and interface names) pseudonymised
 *   by default, kept or dropped by choice;
 * - labels kept to their shape: a severity is one token, a category (a threat or signature name,
 *   vendor text kept by default for the cross-member picture, `privacyCategories`) is cut where a
 *   parser ran on into key=value pairs, URLs or quotes, and dropped if it holds an address;
 * - every text value stripped of control characters and cut to its schema length and the wire's
 *   UTF-8 byte limit; numbers range-checked; unknown keys dropped and counted.
 *
 * User names, URLs, host names and message text are not fields of the event at all, so no parser can
 * pass them on: `test/security/privacy-canaries.test.ts` proves it for every family.
 */
import type { Action, ConnectionEvent } from '../../protocol/event.js';
import { ACTIONS, EVENT_FIELD_NAMES, TEXT_MAX_LENGTH } from '../../protocol/event-fields.js';
import { limits } from '../../protocol/limits.js';
import { AddressKind, INTERNAL_NETWORKS, NetworkSet, parseAddress, parseDottedQuad } from './address.js';
import { Pseudonymiser } from './pseudonym.js';
import { cleanText } from './text.js';

export const FIELD_POLICIES = ['pseudonymise', 'keep', 'drop'] as const;
export type FieldPolicy = (typeof FIELD_POLICIES)[number];

export const ADDRESS_FIELDS = ['src_ip', 'dst_ip', 'src_nat_ip', 'dst_nat_ip'] as const;
export type AddressField = (typeof ADDRESS_FIELDS)[number];

/** A compiled policy: build it once with `createMinimisePolicy`, pass it with every event. */
export interface MinimisePolicy {
  /** What happens to an internal address, per address field. External addresses are always kept. */
  readonly internalAddresses: Readonly<Record<AddressField, FieldPolicy>>;
  /** Built-in internal ranges plus the member's networks. */
  readonly internalNetworks: NetworkSet;
  readonly rule: FieldPolicy;
  readonly interface: FieldPolicy;
  /** Threat/signature names (vendor text, but some parsers take them from a message field). */
  readonly category: FieldPolicy;
  readonly pseudonyms: Pseudonymiser;
}

export interface MinimisePolicyOptions {
  /** The per-device secret (see `loadPrivacyKey`). */
  readonly key: Uint8Array;
  /** One policy for every address field, or per field (unlisted fields: pseudonymise). */
  readonly internalAddresses?: FieldPolicy | Partial<Record<AddressField, FieldPolicy>>;
  /** The member's own networks, counted as internal besides the built-in ranges. */
  readonly networks?: NetworkSet;
  readonly rule?: FieldPolicy;
  readonly interface?: FieldPolicy;
  readonly category?: FieldPolicy;
}

export function createMinimisePolicy(options: MinimisePolicyOptions): MinimisePolicy {
  const given = options.internalAddresses ?? 'pseudonymise';
  const perField = {} as Record<AddressField, FieldPolicy>;
  for (const field of ADDRESS_FIELDS)
    perField[field] = typeof given === 'string' ? given : (given[field] ?? 'pseudonymise');
  return {
    internalAddresses: perField,
    internalNetworks: options.networks
      ? NetworkSet.union(INTERNAL_NETWORKS, options.networks)
      : INTERNAL_NETWORKS,
    rule: options.rule ?? 'pseudonymise',
    interface: options.interface ?? 'pseudonymise',
    category: options.category ?? 'keep',
    pseudonyms: new Pseudonymiser(options.key),
  };
}

export type OverridesResult =
  | { readonly ok: true; readonly overrides: Partial<Record<AddressField, FieldPolicy>> }
  | { readonly ok: false; readonly reason: string };

/** Parses `dst_ip=keep,src_nat_ip=drop` (the `privacyAddressFields` setting). */
export function parseAddressOverrides(text: string): OverridesResult {
  const overrides: Partial<Record<AddressField, FieldPolicy>> = {};
  for (const item of text.split(/[\s,]+/)) {
    if (item === '') continue;
    const [field, policy, extra] = item.split('=');
    if (
      extra !== undefined ||
      !ADDRESS_FIELDS.includes(field as AddressField) ||
      !FIELD_POLICIES.includes(policy as FieldPolicy)
    ) {
      return {
        ok: false,
        reason: `"${item}": expected FIELD=POLICY with FIELD one of ${ADDRESS_FIELDS.join(', ')} and POLICY one of ${FIELD_POLICIES.join(', ')}`,
      };
    }
    overrides[field as AddressField] = policy as FieldPolicy;
  }
  return { ok: true, overrides };
}

/** Why values were changed or removed; the status page and /metrics show these. */
export interface MinimiseCounters {
  events: number;
  /** Values replaced by a pseudonym. */
  pseudonymised: number;
  /** Values removed because the member's policy says drop. */
  droppedByPolicy: number;
  /** Values removed as malformed: a non-address in an address field, a port out of range, a wrong type. */
  invalidValues: number;
  /** Keys outside the allow-list, removed (a parser bug if ever non-zero). */
  unknownFields: number;
  /** Labels (category, severity) cut where key=value pairs, URLs, quotes or addresses began. */
  scrubbedLabels: number;
  /** Text values cut to their length limit. */
  clampedText: number;
  /** Control characters and lone surrogates removed from text. */
  strippedChars: number;
}

export function newMinimiseCounters(): MinimiseCounters {
  return {
    events: 0,
    pseudonymised: 0,
    droppedByPolicy: 0,
    invalidValues: 0,
    unknownFields: 0,
    scrubbedLabels: 0,
    clampedText: 0,
    strippedChars: 0,
  };
}

/** A text field's schema maxLength (UTF-16 units), from the limits the wire schema is built from. */
function maxUnits(field: keyof typeof TEXT_MAX_LENGTH): number {
  return Math.min(TEXT_MAX_LENGTH[field], limits.maxStringBytes);
}
// Per field, as constants: a look-up by field name on every call cost more than the check it sized.
const TS_UNITS = maxUnits('ts');
const VENDOR_UNITS = maxUnits('vendor');
const PROTO_UNITS = maxUnits('proto');
const RULE_UNITS = maxUnits('rule');
const INTERFACE_UNITS = maxUnits('interface');
const DIRECTION_UNITS = maxUnits('direction');
const CATEGORY_UNITS = maxUnits('category');
const SEVERITY_UNITS = maxUnits('severity');
const LAST_SEEN_UNITS = maxUnits('last_seen');
const ALLOWED: ReadonlySet<string> = new Set(EVENT_FIELD_NAMES);
const ACTION_SET: ReadonlySet<string> = new Set(ACTIONS);
const words = new Uint32Array(4); // scratch: minimise is synchronous and never re-entered

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function text(value: unknown, maxUnits: number, c: MinimiseCounters): string | undefined {
  if (typeof value !== 'string') {
    if (value !== undefined) c.invalidValues++;
    return undefined;
  }
  const cleaned = cleanText(value, maxUnits, limits.maxStringBytes);
  if (typeof cleaned === 'string') return cleaned;
  c.strippedChars += cleaned.stripped;
  if (cleaned.clamped) c.clampedText++;
  return cleaned.text;
}

/** A severity is one token (`high`, `5`, `very-high`); whatever follows the first one is not. */
function severityLabel(value: unknown, c: MinimiseCounters): string | undefined {
  const cleaned = text(value, SEVERITY_UNITS, c);
  if (cleaned === undefined) return undefined;
  let end = 0;
  while (end < cleaned.length && isTokenChar(cleaned.charCodeAt(end))) end++;
  if (end === cleaned.length) return cleaned;
  c.scrubbedLabels++;
  return end === 0 ? undefined : cleaned.slice(0, end);
}

function isTokenChar(ch: number): boolean {
  return (
    (ch >= 48 && ch <= 57) ||
    (ch >= 65 && ch <= 90) ||
    (ch >= 97 && ch <= 122) ||
    ch === 45 ||
    ch === 46 ||
    ch === 95
  );
}

const IPV4_IN_TEXT = /(?:^|[^\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?:$|[^\d])/;

/**
 * A category is a threat or signature name (`Apache Log4j Remote Code Execution`, `TCP port scan`).
 * A parser that reads it from a message may run on into the rest of the line: cut it where a
 * `key=value` pair, a URL, a quote, a pipe or an e-mail-like `@` begins; drop it if an address is left.
 */
function categoryLabel(value: unknown, policy: MinimisePolicy, c: MinimiseCounters): string | undefined {
  if (value === undefined) return undefined;
  if (policy.category === 'drop') {
    c.droppedByPolicy++;
    return undefined;
  }
  const cleaned = text(value, CATEGORY_UNITS, c);
  if (cleaned === undefined) return undefined;
  let cut = cleaned.length;
  for (let i = 0; i < cleaned.length; i++) {
    const ch = cleaned.charCodeAt(i);
    if (ch === 34 || ch === 124 || ch === 60 || ch === 92 || ch === 64) {
      cut = i; // " | < \ @
      break;
    }
    if (
      ch === 61 /* = */ ||
      (ch === 58 && cleaned.charCodeAt(i + 1) === 47 && cleaned.charCodeAt(i + 2) === 47)
    ) {
      let start = i;
      while (start > 0 && cleaned.charCodeAt(start - 1) !== 32) start--;
      cut = start;
      break;
    }
  }
  let label = cleaned;
  if (cut < cleaned.length) {
    c.scrubbedLabels++;
    label = cleaned.slice(0, cut).trimEnd();
  }
  if (IPV4_IN_TEXT.test(label)) {
    c.scrubbedLabels++;
    return undefined;
  }
  if (label === '') return undefined;
  if (policy.category === 'keep') return label;
  c.pseudonymised++;
  return policy.pseudonyms.text('category', label);
}

function freeText(
  value: unknown,
  field: 'rule' | 'interface',
  mode: FieldPolicy,
  maxUnits: number,
  policy: MinimisePolicy,
  c: MinimiseCounters,
): string | undefined {
  if (value === undefined) return undefined;
  if (mode === 'drop') {
    c.droppedByPolicy++;
    return undefined;
  }
  const cleaned = text(value, maxUnits, c);
  if (cleaned === undefined || mode === 'keep') return cleaned;
  c.pseudonymised++;
  return policy.pseudonyms.text(field, cleaned);
}

/** `mode`: the member's choice for this field's internal addresses. */
function address(
  value: unknown,
  mode: FieldPolicy,
  policy: MinimisePolicy,
  c: MinimiseCounters,
): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    c.invalidValues++;
    return undefined;
  }
  // Parsers write nearly every address as a plain dotted quad: that text is its own canonical form.
  const quad = parseDottedQuad(value);
  let kind: AddressKind;
  if (quad >= 0) {
    words[0] = quad;
    kind = AddressKind.V4;
  } else {
    kind = parseAddress(value, words);
    if (kind === AddressKind.Invalid) {
      c.invalidValues++;
      return undefined;
    }
  }
  if (policy.internalNetworks.contains(kind, words)) {
    if (mode === 'drop') {
      c.droppedByPolicy++;
      return undefined;
    }
    if (mode === 'pseudonymise') {
      c.pseudonymised++;
      return policy.pseudonyms.address(kind, words, value);
    }
  }
  return quad >= 0 ? value : canonicalAddress(value);
}

/** The address without brackets or an RFC 4007 zone id (an interface name: member text), lower-case. */
function canonicalAddress(value: string): string {
  let v = value;
  if (v.charCodeAt(0) === 91 /* [ */) v = v.slice(1, -1);
  const zone = v.indexOf('%');
  if (zone >= 0) v = v.slice(0, zone);
  for (let i = 0; i < v.length; i++) {
    const ch = v.charCodeAt(i);
    if (ch >= 65 && ch <= 90) return v.toLowerCase();
  }
  return v;
}

function port(value: unknown, c: MinimiseCounters): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535) return value;
  c.invalidValues++;
  return undefined;
}

/** A count of distinct source ports: 0 to 65,536 (every port, 0 included). */
function distinctPorts(value: unknown, c: MinimiseCounters): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65536) return value;
  c.invalidValues++;
  return undefined;
}

function counter(value: unknown, minimum: number, c: MinimiseCounters): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= minimum) return value;
  c.invalidValues++;
  return undefined;
}

/** 1 when a field holds a value, else 0. */
function has(value: unknown): number {
  return value === undefined ? 0 : 1;
}

/** Keys of `e` (own or inherited, enumerable: what `for...in` visits) outside the allow-list. */
function countUnknownFields(e: Readonly<Record<string, unknown>>, c: MinimiseCounters): void {
  for (const key in e) if (!ALLOWED.has(key)) c.unknownFields++;
}

/**
 * Returns a new event holding only what may leave the appliance. Pure but for the counters and the
 * pseudonym cache (which only memoises). Written field by field in wire order rather than as a loop
 * over EVENT_KEYS: this runs for every event, and `minimise.test.ts` checks every key is handled.
 */
export function minimise(
  event: ConnectionEvent,
  policy: MinimisePolicy,
  c: MinimiseCounters,
): ConnectionEvent {
  c.events++;
  const e = event as Readonly<Record<string, unknown>>;
  // Each allow-listed field is read once, here.
  const ts = e.ts;
  const vendorIn = e.vendor;
  const srcIp = e.src_ip;
  const srcPort = e.src_port;
  const dstIp = e.dst_ip;
  const dstPort = e.dst_port;
  const proto = e.proto;
  const actionIn = e.action;
  const srcNatIp = e.src_nat_ip;
  const srcNatPort = e.src_nat_port;
  const dstNatIp = e.dst_nat_ip;
  const dstNatPort = e.dst_nat_port;
  const bytes = e.bytes;
  const packets = e.packets;
  const rule = e.rule;
  const iface = e.interface;
  const direction = e.direction;
  const category = e.category;
  const severity = e.severity;
  const count = e.count;
  const lastSeen = e.last_seen;
  const srcPorts = e.src_ports;
  // Unknown keys are counted, never copied. Every key of a parser's event holds an allow-listed value,
  // so it has as many keys (counted by `for...in`, which costs far less than a Set look-up per key)
  // as values were read above; only when the two differ (an unknown key, or a key holding undefined)
  // are the keys looked up one by one. Equal counts could hide an unknown key only if an allow-listed
  // value were a non-enumerable property, which no data object (literal, spread, JSON) has.
  let keys = 0;
  for (const _ in e) keys++;
  const values =
    has(ts) +
    has(vendorIn) +
    has(srcIp) +
    has(srcPort) +
    has(dstIp) +
    has(dstPort) +
    has(proto) +
    has(actionIn) +
    has(srcNatIp) +
    has(srcNatPort) +
    has(dstNatIp) +
    has(dstNatPort) +
    has(bytes) +
    has(packets) +
    has(rule) +
    has(iface) +
    has(direction) +
    has(category) +
    has(severity) +
    has(count) +
    has(lastSeen) +
    has(srcPorts);
  if (keys !== values) countUnknownFields(e, c);

  const vendor = text(vendorIn, VENDOR_UNITS, c) ?? 'unknown';
  let action = actionIn as Action;
  if (!ACTION_SET.has(action)) {
    c.invalidValues++;
    action = 'other';
  }
  const fields = policy.internalAddresses;
  const out = {} as Mutable<ConnectionEvent>;
  // Plain stores with the key written out: a generic put(out, key, value) became a keyed store.
  const tsOut = text(ts, TS_UNITS, c);
  if (tsOut !== undefined) out.ts = tsOut;
  out.vendor = vendor;
  const srcIpOut = address(srcIp, fields.src_ip, policy, c);
  if (srcIpOut !== undefined) out.src_ip = srcIpOut;
  const srcPortOut = port(srcPort, c);
  if (srcPortOut !== undefined) out.src_port = srcPortOut;
  const dstIpOut = address(dstIp, fields.dst_ip, policy, c);
  if (dstIpOut !== undefined) out.dst_ip = dstIpOut;
  const dstPortOut = port(dstPort, c);
  if (dstPortOut !== undefined) out.dst_port = dstPortOut;
  const protoOut = text(proto, PROTO_UNITS, c);
  if (protoOut !== undefined) out.proto = protoOut;
  out.action = action;
  const srcNatIpOut = address(srcNatIp, fields.src_nat_ip, policy, c);
  if (srcNatIpOut !== undefined) out.src_nat_ip = srcNatIpOut;
  const srcNatPortOut = port(srcNatPort, c);
  if (srcNatPortOut !== undefined) out.src_nat_port = srcNatPortOut;
  const dstNatIpOut = address(dstNatIp, fields.dst_nat_ip, policy, c);
  if (dstNatIpOut !== undefined) out.dst_nat_ip = dstNatIpOut;
  const dstNatPortOut = port(dstNatPort, c);
  if (dstNatPortOut !== undefined) out.dst_nat_port = dstNatPortOut;
  const bytesOut = counter(bytes, 0, c);
  if (bytesOut !== undefined) out.bytes = bytesOut;
  const packetsOut = counter(packets, 0, c);
  if (packetsOut !== undefined) out.packets = packetsOut;
  const ruleOut = freeText(rule, 'rule', policy.rule, RULE_UNITS, policy, c);
  if (ruleOut !== undefined) out.rule = ruleOut;
  const ifaceOut = freeText(iface, 'interface', policy.interface, INTERFACE_UNITS, policy, c);
  if (ifaceOut !== undefined) out.interface = ifaceOut;
  const directionOut = text(direction, DIRECTION_UNITS, c);
  if (directionOut !== undefined) out.direction = directionOut;
  const categoryOut = categoryLabel(category, policy, c);
  if (categoryOut !== undefined) out.category = categoryOut;
  const severityOut = severityLabel(severity, c);
  if (severityOut !== undefined) out.severity = severityOut;
  const countOut = counter(count, 1, c);
  if (countOut !== undefined) out.count = countOut;
  const lastSeenOut = text(lastSeen, LAST_SEEN_UNITS, c);
  if (lastSeenOut !== undefined) out.last_seen = lastSeenOut;
  const srcPortsOut = distinctPorts(srcPorts, c);
  if (srcPortsOut !== undefined) out.src_ports = srcPortsOut;
  return out;
}
