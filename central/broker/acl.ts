/**
 * Who may publish and subscribe to what: the one statement of the topic rules. The embedded broker
 * calls these per packet; `mosquitto-config.ts` renders the same rules as a Mosquitto ACL file, and
 * the conformance suite checks that both brokers agree.
 */
import { INTEL_TOPIC_FILTER, isValidDeviceId, TOPIC_ROOT, UPLINK_KINDS } from '../../protocol/topics.js';

/** Who a TLS client is, taken from its certificate (never from anything the client says). */
export type BrokerIdentity =
  | { readonly kind: 'device'; readonly deviceId: string }
  | { readonly kind: 'ingest' };

const INTEL_PREFIX = INTEL_TOPIC_FILTER.slice(0, -1); // 'ca/v1/intel/'

function hasWildcard(topic: string): boolean {
  return topic.includes('+') || topic.includes('#');
}

/** A device publishes only its own uplink kinds; central's ingest publishes downlinks and intel. */
export function mayPublish(identity: BrokerIdentity, topic: string): boolean {
  if (hasWildcard(topic)) return false;
  if (identity.kind === 'device') {
    const prefix = `${TOPIC_ROOT}/dev/${identity.deviceId}/up/`;
    return (
      topic.startsWith(prefix) && (UPLINK_KINDS as readonly string[]).includes(topic.slice(prefix.length))
    );
  }
  const parts = topic.split('/');
  const isDownlink =
    parts.length >= 6 &&
    `${parts[0]}/${parts[1]}` === TOPIC_ROOT &&
    parts[2] === 'dev' &&
    isValidDeviceId(parts[3] ?? '') &&
    parts[4] === 'down';
  return isDownlink || topic.startsWith(INTEL_PREFIX);
}

/** Strips an MQTT v5 shared-subscription prefix (`$share/GROUP/filter`); undefined if malformed. */
export function sharedSubscriptionFilter(filter: string): string | undefined {
  if (!filter.startsWith('$share/')) return filter;
  const rest = filter.slice('$share/'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const group = rest.slice(0, slash);
  if (hasWildcard(group)) return undefined;
  return rest.slice(slash + 1);
}

/**
 * True when every topic `filter` can match lies under the literal `prefix` (which ends with '/'):
 * no wildcard may appear before the prefix ends, so `ca/v1/dev/+/down/#` is not "under" one device.
 */
function filterWithin(filter: string, prefix: string): boolean {
  return filter.startsWith(prefix) || filter === `${prefix}#`;
}

export function maySubscribe(identity: BrokerIdentity, rawFilter: string): boolean {
  const filter = sharedSubscriptionFilter(rawFilter);
  if (filter === undefined || filter.length === 0) return false;
  if (identity.kind === 'device') {
    // Devices do not share subscriptions; they read only their own downlink and the shared intel.
    if (filter !== rawFilter) return false;
    return (
      filterWithin(filter, `${TOPIC_ROOT}/dev/${identity.deviceId}/down/`) ||
      filterWithin(filter, INTEL_PREFIX)
    );
  }
  // Ingest reads every device's uplink: `ca/v1/dev/+/up/KIND` (or `#`) and single devices' uplinks.
  const parts = filter.split('/');
  return (
    parts.length >= 5 &&
    `${parts[0]}/${parts[1]}` === TOPIC_ROOT &&
    parts[2] === 'dev' &&
    (parts[3] === '+' || isValidDeviceId(parts[3] ?? '')) &&
    parts[4] === 'up' &&
    (parts.length === 5 ||
      parts[5] === '#' ||
      (parts.length === 6 && UPLINK_KINDS.includes(parts[5] as never)))
  );
}
