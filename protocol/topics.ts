/**
 * MQTT topic names: one versioned root, uplink and downlink per device, shared intel.
 * Brokers' ACLs (embedded and Mosquitto) are generated from these same functions.
 */
export const TOPIC_ROOT = 'ca/v1';

/** Device ids are topic segments and certificate subjects: no MQTT wildcards, no slashes. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function isValidDeviceId(id: string): boolean {
  return DEVICE_ID_PATTERN.test(id);
}

/** `loss`: loss records (protocol/loss.ts), what the appliance could not deliver and why. */
export type UplinkKind = 'events' | 'alerts' | 'health' | 'loss';
export type DownlinkKind = 'config' | 'report';

export const UPLINK_KINDS: readonly UplinkKind[] = ['events', 'alerts', 'health', 'loss'];

export function deviceTopicPrefix(deviceId: string): string {
  return `${TOPIC_ROOT}/dev/${deviceId}/`;
}

export function uplinkTopic(deviceId: string, kind: UplinkKind): string {
  return `${TOPIC_ROOT}/dev/${deviceId}/up/${kind}`;
}

export function downlinkTopic(deviceId: string, kind: DownlinkKind): string {
  return `${TOPIC_ROOT}/dev/${deviceId}/down/${kind}`;
}

/** Everything a device may read on its downlink. */
export function downlinkFilter(deviceId: string): string {
  return `${TOPIC_ROOT}/dev/${deviceId}/down/#`;
}

/** Intel list names: lower case, digits, `-`, `_`; a topic segment and a file name, never a wildcard. */
export const INTEL_LIST_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** Shared threat intel, readable by every device. */
export const INTEL_TOPIC_FILTER = `${TOPIC_ROOT}/intel/#`;

/**
 * One blocklist's retained messages (protocol/intel.ts): `ca/v1/intel/<list>/full` holds the last
 * full snapshot, `.../delta` the changes since it. `list` must pass isValidIntelListName.
 */
export function intelTopic(list: string, kind: 'full' | 'delta'): string {
  return `${TOPIC_ROOT}/intel/${list}/${kind}`;
}

/** Splits an intel topic into its list name and kind; undefined for anything else. */
export function parseIntelTopic(topic: string): { list: string; kind: 'full' | 'delta' } | undefined {
  const parts = topic.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT || parts[2] !== 'intel')
    return undefined;
  const list = parts[3] ?? '';
  const kind = parts[4];
  if (!INTEL_LIST_NAME_PATTERN.test(list) || (kind !== 'full' && kind !== 'delta')) return undefined;
  return { list, kind };
}

/** What central's ingest subscribes to (all devices' uplinks of one kind). */
export function uplinkFilterAllDevices(kind: UplinkKind): string {
  return `${TOPIC_ROOT}/dev/+/up/${kind}`;
}

/** Splits an uplink topic into its device id and kind; undefined for anything else. */
export function parseUplinkTopic(topic: string): { deviceId: string; kind: UplinkKind } | undefined {
  const parts = topic.split('/');
  if (
    parts.length !== 6 ||
    `${parts[0]}/${parts[1]}` !== TOPIC_ROOT ||
    parts[2] !== 'dev' ||
    parts[4] !== 'up'
  ) {
    return undefined;
  }
  const deviceId = parts[3] ?? '';
  const kind = parts[5] as UplinkKind;
  if (!isValidDeviceId(deviceId) || !UPLINK_KINDS.includes(kind)) return undefined;
  return { deviceId, kind };
}
