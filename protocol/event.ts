import { type Static, Type } from '@sinclair/typebox';
import { limits } from './limits.js';

/**
 * The normalised connection event: what every firewall parser produces and, after the privacy
 * boundary (minimise), what travels to central. One definition gives both the TypeScript type and
 * the validator central runs on untrusted batches.
 */
// No NUL: PostgreSQL text cannot store U+0000, so the wire refuses it (protocol/cbor-scan.ts).
const Text = (maxLength: number) =>
  Type.String({ maxLength: Math.min(maxLength, limits.maxStringBytes), pattern: '^[^\\u0000]*$' });
const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

export const ACTIONS = ['allow', 'deny', 'drop', 'reject', 'other'] as const;
export const Action = Type.Union(ACTIONS.map((a) => Type.Literal(a)));
export type Action = (typeof ACTIONS)[number];

export const ConnectionEventSchema = Type.Object(
  {
    /** ISO-8601 with offset; absent when the line carries no date. */
    ts: Type.Optional(Text(40)),
    /** Parser family that produced the event, e.g. `netfilter`. */
    vendor: Text(32),
    src_ip: Type.Optional(Text(64)),
    src_port: Type.Optional(Port),
    dst_ip: Type.Optional(Text(64)),
    dst_port: Type.Optional(Port),
    /** Lower-case IANA keyword: tcp, udp, icmp, ipv6-icmp, gre, esp, ... or the number as text. */
    proto: Type.Optional(Text(16)),
    action: Action,
    src_nat_ip: Type.Optional(Text(64)),
    src_nat_port: Type.Optional(Port),
    dst_nat_ip: Type.Optional(Text(64)),
    dst_nat_port: Type.Optional(Port),
    bytes: Type.Optional(Count),
    packets: Type.Optional(Count),
    rule: Type.Optional(Text(128)),
    interface: Type.Optional(Text(64)),
    /** `in`, `out` or the vendor's zone pair as text. */
    direction: Type.Optional(Text(64)),
    category: Type.Optional(Text(64)),
    severity: Type.Optional(Text(32)),
    /** How many raw events this record stands for (1 unless summarised). */
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    /** Summaries: ISO-8601 time of the last event the record stands for (`ts` is the first). */
    last_seen: Type.Optional(Text(40)),
    /** Summaries: distinct source ports among its events (exact up to 64, an estimate, ±3 %, above). */
    src_ports: Type.Optional(Type.Integer({ minimum: 0, maximum: 65536 })),
  },
  { additionalProperties: false },
);

export type ConnectionEvent = Static<typeof ConnectionEventSchema>;

/** Keys an event may carry, in wire order; the privacy boundary allows nothing else. */
export const EVENT_KEYS = Object.keys(ConnectionEventSchema.properties) as readonly (keyof ConnectionEvent)[];
