/**
 * The event's field names, actions and text limits as plain data. `event.ts` builds the TypeBox
 * schema from these; code that needs only them (minimise, in each parse worker thread) imports
 * this file and so does not load TypeBox (~5 MB per thread).
 */
export const ACTIONS = ['allow', 'deny', 'drop', 'reject', 'other'] as const;

/** Longest value of each text field, in characters (the wire also caps UTF-8 bytes). */
export const TEXT_MAX_LENGTH = {
  ts: 40,
  vendor: 32,
  src_ip: 64,
  dst_ip: 64,
  proto: 16,
  src_nat_ip: 64,
  dst_nat_ip: 64,
  rule: 128,
  interface: 64,
  direction: 64,
  category: 64,
  severity: 32,
  last_seen: 40,
} as const;

/** Every key an event may carry, in wire order (`event.test.ts` checks it against the schema). */
export const EVENT_FIELD_NAMES = [
  'ts',
  'vendor',
  'src_ip',
  'src_port',
  'dst_ip',
  'dst_port',
  'proto',
  'action',
  'src_nat_ip',
  'src_nat_port',
  'dst_nat_ip',
  'dst_nat_port',
  'bytes',
  'packets',
  'rule',
  'interface',
  'direction',
  'category',
  'severity',
  'count',
  'last_seen',
  'src_ports',
] as const;
